"""Shared test set-up.

Heavy libraries are imported here, before any in-process pytester run, so pytester's sys.modules snapshot keeps
them and each run does not import them afresh.
"""

from __future__ import annotations

from pathlib import Path

import asgi_lifespan  # noqa: F401
import fastapi  # noqa: F401
import httpcore  # noqa: F401
import httpx  # noqa: F401
import hypothesis  # noqa: F401
import jsonschema  # noqa: F401
import schemathesis  # noqa: F401
import sqlalchemy  # noqa: F401
import sqlalchemy.orm  # noqa: F401

import pytest_backend_agent.checks.requests  # noqa: F401
import pytest_backend_agent.gate  # noqa: F401
import pytest_backend_agent.report.build  # noqa: F401
from pytest_backend_agent.checks.security.bandit_scan import run_bandit

run_bandit(Path(__file__).parent / "unit")  # imports bandit and its plugins once, quietly

pytest_plugins = ["tests.e2e.backends", "tests.e2e.security_backends"]
