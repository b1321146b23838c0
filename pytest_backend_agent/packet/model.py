"""The architecture handover packet, as written by the system architect.

The JSON Schema in ``contracts/architecture-handover-packet.schema.json`` is generated from these models.
Unknown fields are accepted (an architect may add notes) but the loader warns about them, so that a typo
such as ``authentification_required`` does not pass unnoticed.
"""

from __future__ import annotations

import functools
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, model_validator
from pydantic import Field as F

__all__ = [
    "Api",
    "Authentication",
    "DataModel",
    "Endpoint",
    "Field",
    "Integration",
    "NonFunctional",
    "PATH_PARAMETER",
    "Packet",
    "Project",
    "RateLimit",
    "TechStack",
]

HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
PATH_PARAMETER = re.compile(r"\{([^}/]+)\}")
"""A parameter in a packet path (``{book_id}``); its group is the name."""


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class Project(_Open):
    """What the backend is."""

    name: str = F(min_length=1, description="Project name")
    description: str = F(default="", description="One or two sentences on what it does")


class TechStack(_Open):
    """The stack the architect chose; informative, recorded in the report."""

    language: str | None = F(default=None, description="e.g. python, go, typescript")
    framework: str | None = F(default=None, description="e.g. fastapi, flask, django, express")
    database: str | None = F(default=None, description="e.g. postgresql, sqlite")
    orm: str | None = F(default=None, description="e.g. sqlalchemy, django")
    migrations: str | None = F(default=None, description="e.g. alembic, django")
    api_style: str | None = F(default=None, description="rest or graphql")


class Authentication(_Open):
    """How clients authenticate."""

    scheme: str = F(description="bearer-jwt, api-key, basic, session or none")
    token_endpoint: str | None = F(default=None, description="Path that issues tokens, if any")
    header: str | None = F(default=None, description="Header carrying an API key (scheme api-key)")


class Endpoint(_Open):
    """One operation the backend must implement."""

    method: HttpMethod = F(description="HTTP method, upper case")
    path: str = F(pattern=r"^/", description="Full path including api.base_path; parameters as {name}")
    description: str = F(default="", description="What the endpoint does")
    authentication_required: bool = F(description="Whether a request without credentials must be refused")
    roles: list[str] = F(default_factory=list, description="Roles allowed to call it (subset of api.roles)")
    success_status: int | None = F(
        default=None, ge=100, le=599, description="Status of a successful call; when absent any 2xx is accepted"
    )
    paginated: bool = F(default=False, description="Whether it returns a page of a collection")
    owner_scoped: bool = F(
        default=False,
        description="Each caller reaches only the resources it created: a single-resource operation answers "
        "403/404 to another caller of the same role; a collection GET lists only the caller's own",
    )

    @property
    def key(self) -> str:
        """``METHOD /path``, the endpoint's name everywhere in the gate."""
        return f"{self.method} {self.path}"

    def matches(self, path: str) -> bool:
        """Whether a concrete request path (``/books/12``, query ignored) is this endpoint's path."""
        return _path_pattern(self.path).match(path.split("?", 1)[0]) is not None

    @property
    def template(self) -> str:
        """The path with parameter names erased, for matching ``/books/{id}`` with ``/books/{book_id}``."""
        return normalize_path(self.path)


@functools.lru_cache(maxsize=4096)
def _path_pattern(path: str) -> re.Pattern[str]:
    """The pattern concrete paths of the template ``path`` match (each parameter one non-empty segment part)."""
    return re.compile("^" + template_regex(path) + "/?$")


def template_regex(template: str) -> str:
    """The regular expression (unanchored) for what fills ``template``: its text literally, each parameter as a
    non-empty run without ``/``."""
    return PATH_PARAMETER.sub("[^/]+", re.escape(template).replace(r"\{", "{").replace(r"\}", "}"))


def normalize_path(path: str) -> str:
    """Erase parameter names and a trailing slash: ``/a/{x}/`` -> ``/a/{}``."""
    normalized = PATH_PARAMETER.sub("{}", path)
    return normalized.rstrip("/") or "/"


class RateLimit(_Open):
    """A request budget per client."""

    requests: int = F(ge=1)
    window_seconds: float = F(gt=0)


class NonFunctional(_Open):
    """Budgets the backend must meet."""

    coverage_min_percent: float | None = F(default=None, ge=0, le=100)
    latency_p95_ms: float | None = F(default=None, gt=0)
    rate_limit: RateLimit | None = None
    cors_allowed_origins: list[str] = F(default_factory=list)
    security_headers: list[str] = F(
        default_factory=list,
        description="Response headers the gate must find (x-content-type-options, x-frame-options, "
        "strict-transport-security); absent ones are only reported when not listed",
    )
    max_page_size: int | None = F(default=None, ge=1)


class Api(_Open):
    """The HTTP API."""

    base_path: str = F(default="", description="Common prefix of every path, e.g. /api/v1")
    openapi: str | None = F(
        default=None, description="The architect's OpenAPI document: a path relative to the packet, or null"
    )
    authentication: Authentication | None = None
    roles: list[str] = F(default_factory=list, description="Every role of the system")
    error_format: str | None = F(default=None, description="Media type of error bodies, e.g. application/problem+json")
    endpoints: list[Endpoint] = F(default_factory=list)

    @model_validator(mode="after")
    def _roles_and_duplicates(self) -> Api:
        known = set(self.roles)
        seen: set[str] = set()
        for index, endpoint in enumerate(self.endpoints):
            unknown = [role for role in endpoint.roles if role not in known]
            if unknown:
                raise ValueError(
                    f"endpoints[{index}] ({endpoint.key}) names role(s) {unknown} that are not in api.roles "
                    f"{self.roles}"
                )
            name = f"{endpoint.method} {endpoint.template}"
            if name in seen:
                raise ValueError(f"endpoints[{index}] ({endpoint.key}) is listed twice")
            seen.add(name)
        return self


class Field(_Open):
    """A column of a data model."""

    name: str = F(min_length=1)
    type: str = F(description="integer, string, text, boolean, float, decimal, datetime, date, uuid, json")
    primary_key: bool = False
    unique: bool = False
    nullable: bool | None = F(default=None, description="null allowed; when absent the gate does not judge it")
    foreign_key: str | None = F(default=None, description="table.column it references")
    indexed: bool = False


class DataModel(_Open):
    """A persisted entity."""

    name: str = F(min_length=1)
    table: str | None = F(default=None, description="Table name; when absent the gate looks for common spellings")
    fields: list[Field] = F(default_factory=list)


class Integration(_Open):
    """An external system the backend talks to."""

    name: str = F(min_length=1)
    kind: str = F(default="", description="email, payment, storage, queue, http ...")
    required: bool = False


class Packet(_Open):
    """The architecture handover packet: the contract the backend is gated against."""

    packet_version: str = F(description="Packet format version, e.g. 1.0")
    project: Project
    tech_stack: TechStack = F(default_factory=TechStack)
    api: Api
    data_models: list[DataModel] = F(default_factory=list)
    integrations: list[Integration] = F(default_factory=list)
    non_functional: NonFunctional = F(default_factory=NonFunctional)
