"""Shared test set-up.

Heavy libraries are imported here, before any in-process pytester run, so pytester's sys.modules snapshot keeps
them and each run does not import them afresh.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import alembic.autogenerate  # noqa: F401
import alembic.runtime.environment  # noqa: F401
import alembic.script  # noqa: F401
import asgi_lifespan  # noqa: F401
import coverage  # noqa: F401
import coverage.control  # noqa: F401
import coverage.tracer  # noqa: F401
import fastapi  # noqa: F401
import httpcore  # noqa: F401
import httpx  # noqa: F401
import hypothesis  # noqa: F401
import jsonschema  # noqa: F401
import pytest
import schemathesis  # noqa: F401
import sqlalchemy  # noqa: F401
import sqlalchemy.dialects.postgresql  # noqa: F401
import sqlalchemy.orm  # noqa: F401

import pytest_backend_agent.checks.requests  # noqa: F401
import pytest_backend_agent.gate  # noqa: F401
import pytest_backend_agent.report.build  # noqa: F401
from pytest_backend_agent.checks.security.bandit_scan import run_bandit

run_bandit(Path(__file__).parent / "unit")  # imports bandit and its plugins once, quietly

pytest_plugins = [
    "tests.e2e.backends",
    "tests.e2e.data_backends",
    "tests.e2e.fuzz_backends",
    "tests.e2e.login_backends",
    "tests.e2e.node_backend",
    "tests.e2e.object_access_backends",
    "tests.e2e.security_backends",
    "tests.e2e.perf_backends",
    "tests.postgres",
]


@pytest.fixture(autouse=True, scope="session")
def _one_mypy_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Every gate run in the suite shares one mypy cache: the libraries a fixture backend imports (FastAPI,
    SQLAlchemy, pydantic) are analysed once instead of once per test (about 4 s each)."""
    patch = pytest.MonkeyPatch()
    patch.setenv("MYPY_CACHE_DIR", str(tmp_path_factory.mktemp("mypy-cache")))
    # The suite's own gate runs must not write into the CI job's step summary when it runs on GitHub Actions.
    patch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    yield
    patch.undo()
