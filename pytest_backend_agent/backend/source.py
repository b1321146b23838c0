"""The backend's own modules among those the process has imported."""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType

__all__ = ["modules_under"]


def modules_under(src: Path) -> list[ModuleType]:
    """Imported modules whose file lies under ``src``, sorted by module name."""
    root = src.resolve()
    found: list[ModuleType] = []
    for name in sorted(sys.modules):
        module = sys.modules.get(name)
        filename = getattr(module, "__file__", None) or ""
        if module is not None and filename and Path(filename).resolve().is_relative_to(root):
            found.append(module)
    return found
