"""``python -m pytest_backend_agent``: the ``backend-agent`` console command."""

from __future__ import annotations

import sys

from pytest_backend_agent.cli import main

if __name__ == "__main__":
    sys.exit(main())
