"""The one error root and the one warning root of the gate.

Every error a user can cause (a bad packet, an app path that does not import, a server that dies) is a
:class:`GateUsageError`: pytest prints its message as ``ERROR: ...`` without a traceback and exits with
status 4, and no report is written.
"""

from __future__ import annotations

import pytest

__all__ = ["GateUsageError", "GateWarning"]


class GateUsageError(pytest.UsageError):  # type: ignore[misc]  # final in typing only; pytest catches subclasses
    """Bad input to the gate: the message names the file, JSON path or option, and what to do."""


class GateWarning(pytest.PytestWarning):
    """Something the gate noticed that does not stop it (an unknown packet field, a skipped source)."""
