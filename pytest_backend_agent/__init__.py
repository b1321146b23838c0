"""pytest-backend-agent: a pytest plugin that gates a backend against its architecture packet.

Importing this package is cheap: nothing heavy (Schemathesis, pydantic, httpx) is imported until the gate
is enabled with ``--backend-report``.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
