"""pytest-backend-agent: a pytest plugin that gates a backend against its architecture packet.

Importing this package is cheap: nothing heavy (Schemathesis, pydantic, httpx) is imported until the gate
is enabled with ``--backend-report``.

PYTEST_DONT_REWRITE: the ``backend-agent gate`` command imports this package before it calls ``pytest.main``;
the marker tells pytest not to warn that it cannot rewrite asserts here (a warning ``filterwarnings = error``
would turn into a crash). The package's asserts are not test assertions.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
