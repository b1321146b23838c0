"""The type-compatibility table of data.models, the ORM type families it reads, and the migration-diff wording."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from pytest_backend_agent.backend.alembic_drift import describe_diff
from pytest_backend_agent.backend.column_types import django_family, sqlalchemy_family, sqlalchemy_length
from pytest_backend_agent.checks.data.types import PACKET_TYPES, canonical_type, type_compatible


class UTCDateTime(sa.TypeDecorator[Any]):
    impl = sa.DateTime(timezone=True)
    cache_ok = True


@pytest.mark.parametrize(
    ("column_type", "family"),
    [
        (sa.Integer(), "integer"),
        (sa.BigInteger(), "integer"),
        (sa.SmallInteger(), "integer"),
        (sa.String(13), "string"),
        (sa.Unicode(20), "string"),
        (sa.Enum("a", "b"), "string"),
        (sa.Text(), "text"),
        (sa.UnicodeText(), "text"),
        (sa.Boolean(), "boolean"),
        (sa.Float(), "float"),
        (sa.Double(), "float"),
        (sa.Numeric(8, 2), "decimal"),
        (sa.DateTime(), "datetime"),
        (UTCDateTime(), "datetime"),
        (sa.Date(), "date"),
        (sa.Time(), "time"),
        (sa.Uuid(), "uuid"),
        (postgresql.UUID(), "uuid"),
        (sa.JSON(), "json"),
        (postgresql.JSONB(), "json"),
        (sa.LargeBinary(), "binary"),
        (sa.Interval(), "interval"),
        (sa.ARRAY(sa.Integer()), "other"),
    ],
)
def test_sqlalchemy_types_fall_into_families(column_type: Any, family: str) -> None:
    assert sqlalchemy_family(column_type) == family


def test_string_lengths_are_read_through_decorators() -> None:
    assert sqlalchemy_length(sa.String(13)) == 13
    assert sqlalchemy_length(sa.Text()) is None
    assert sqlalchemy_length(sa.Integer()) is None


@pytest.mark.parametrize(
    ("internal", "family"),
    [
        ("BigAutoField", "integer"),
        ("CharField", "string"),
        ("TextField", "text"),
        ("DecimalField", "decimal"),
        ("FloatField", "float"),
        ("DateTimeField", "datetime"),
        ("UUIDField", "uuid"),
        ("JSONField", "json"),
        ("BooleanField", "boolean"),
        ("ArrayField", "other"),
    ],
)
def test_django_fields_fall_into_families(internal: str, family: str) -> None:
    assert django_family(internal) == family


@pytest.mark.parametrize(
    ("packet", "family", "length", "expected"),
    [
        ("integer", "integer", None, True),
        ("integer", "string", 10, False),
        ("string", "string", 200, True),
        ("string", "text", None, True),
        ("text", "text", None, True),
        ("text", "string", None, True),
        ("text", "string", 50, False),
        ("float", "float", None, True),
        ("float", "decimal", None, True),
        ("decimal", "decimal", None, True),
        ("decimal", "float", None, False),
        ("decimal", "integer", None, False),
        ("datetime", "datetime", None, True),
        ("datetime", "date", None, False),
        ("date", "datetime", None, False),
        ("uuid", "uuid", None, True),
        ("uuid", "string", 36, True),
        ("uuid", "string", 32, True),
        ("uuid", "string", 20, False),
        ("json", "json", None, True),
        ("json", "text", None, False),
        ("boolean", "integer", None, False),
        ("geometry", "other", None, None),
    ],
)
def test_type_compatibility(packet: str, family: str, length: int | None, expected: bool | None) -> None:
    assert type_compatible(packet, family, length) is expected


@pytest.mark.parametrize(
    ("spelling", "canonical"),
    [
        ("INT", "integer"),
        ("bigint", "integer"),
        ("varchar", "string"),
        ("bool", "boolean"),
        ("timestamp", "datetime"),
        ("numeric", "decimal"),
        ("jsonb", "json"),
        ("Float", "float"),
        ("blob", None),
    ],
)
def test_common_spellings_are_read_as_packet_types(spelling: str, canonical: str | None) -> None:
    assert canonical_type(spelling) == canonical


def test_every_packet_type_accepts_its_own_family() -> None:
    assert all(type_compatible(name, name) for name in PACKET_TYPES)


def test_migration_diffs_name_the_table_and_column() -> None:
    metadata = sa.MetaData()
    books = sa.Table("books", metadata, sa.Column("id", sa.Integer, primary_key=True), sa.Column("year", sa.Integer))
    index = sa.Index("ix_books_year", books.c.year)
    assert describe_diff(("add_column", None, "books", books.c.year)).place == "books.year"
    assert describe_diff(("add_table", books)).text == "table books: the models declare it but no migration creates it"
    nullable = describe_diff(("modify_nullable", None, "books", "year", {}, False, True))
    assert (nullable.place, nullable.text) == (
        "books.year",
        "books.year is NOT NULL after the migrations, nullable in the model",
    )
    assert describe_diff(("add_index", index)).text == (
        "index ix_books_year on books(year): in the model but no migration creates it"
    )
