"""Facts read from a backend's files: alembic and Django migrations, declared dependencies, integrations."""

from __future__ import annotations

import json
from pathlib import Path

from pytest_backend_agent.packet.model import Integration
from pytest_backend_agent.report.project_files import find_dependencies, find_migrations, observe_integrations


def test_alembic_migrations_through_alembic_ini(tmp_path: Path) -> None:
    versions = tmp_path / "app" / "db" / "versions"
    versions.mkdir(parents=True)
    (tmp_path / "alembic.ini").write_text("[alembic]\nscript_location = %(here)s/app/db\n")
    (versions / "a1_init.py").write_text('revision = "a1b2c3"\ndown_revision = None\n')
    (versions / "__init__.py").write_text("")
    migrations = find_migrations(tmp_path)
    assert [(m.path, m.tool, m.revision) for m in migrations] == [("app/db/versions/a1_init.py", "alembic", "a1b2c3")]


def test_django_migrations_and_skipped_folders(tmp_path: Path) -> None:
    (tmp_path / "shop" / "migrations").mkdir(parents=True)
    (tmp_path / "shop" / "migrations" / "0001_initial.py").write_text("")
    (tmp_path / "shop" / "migrations" / "__init__.py").write_text("")
    (tmp_path / ".venv" / "lib" / "migrations").mkdir(parents=True)
    (tmp_path / ".venv" / "lib" / "migrations" / "0001_x.py").write_text("")
    assert [(m.path, m.tool) for m in find_migrations(tmp_path)] == [("shop/migrations/0001_initial.py", "django")]


def test_no_migrations(tmp_path: Path) -> None:
    assert find_migrations(tmp_path) == []


def test_dependencies_from_pyproject_and_requirements(tmp_path: Path) -> None:
    pyproject = '[project]\nname = "x"\ndependencies = ["fastapi>=0.110", "uvicorn[standard]"]\n'
    (tmp_path / "pyproject.toml").write_text(pyproject)
    (tmp_path / "requirements.txt").write_text("# pinned\nsqlalchemy==2.0.30  # orm\n-e .\n")
    (tmp_path / "requirements-dev.txt").write_text("pytest\n")
    found = [(d.name, d.specifier, d.declared_in) for d in find_dependencies(tmp_path)]
    assert found == [
        ("fastapi", ">=0.110", "pyproject.toml"),
        ("uvicorn[standard]", "", "pyproject.toml"),
        ("sqlalchemy", "==2.0.30", "requirements.txt"),
    ]


def test_dependencies_of_a_node_project(tmp_path: Path) -> None:
    """A Node.js backend's runtime dependencies are its package.json ``dependencies``, not its devDependencies."""
    package = {
        "name": "items",
        "dependencies": {"pg": "^8.11.0", "@fastify/cors": "9.0.1"},
        "devDependencies": {"jest": "*"},
    }
    (tmp_path / "package.json").write_text(json.dumps(package))
    found = [(d.name, d.specifier, d.declared_in) for d in find_dependencies(tmp_path)]
    assert found == [("pg", "^8.11.0", "package.json"), ("@fastify/cors", "9.0.1", "package.json")]
    (tmp_path / "package.json").write_text("{not json")
    assert find_dependencies(tmp_path) == []


def test_integration_observed_only_from_an_import(tmp_path: Path) -> None:
    src = tmp_path / "app"
    src.mkdir()
    (src / "mail.py").write_text("import smtplib\n")
    result = observe_integrations(
        [Integration(name="mail", kind="email"), Integration(name="pay", kind="payment")], src
    )
    assert [(i.name, i.status) for i in result] == [("mail", "observed"), ("pay", "not verified")]
    assert result[0].evidence == "app/mail.py imports smtplib"
