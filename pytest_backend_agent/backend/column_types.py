"""Type families of ORM columns: what kind of value a SQLAlchemy or Django column holds, in the packet's words.

A family is one of ``integer``, ``string``, ``text``, ``boolean``, ``float``, ``decimal``, ``datetime``,
``date``, ``time``, ``uuid``, ``json``, ``binary``, ``interval``, or ``other``. It is read from the type's class
and its bases (a ``TypeDecorator`` by its ``impl``), so a project's own subclass keeps its family.
"""

from __future__ import annotations

from typing import Any

__all__ = ["DJANGO_FAMILIES", "django_family", "sqlalchemy_family", "sqlalchemy_length"]

# Most specific first: Text is a String, Enum is a String, Float is a Numeric, DateTime is not a Date.
_SQLALCHEMY_FAMILIES: tuple[tuple[str, str], ...] = (
    ("Boolean", "boolean"),
    ("Uuid", "uuid"),
    ("UUID", "uuid"),
    ("JSON", "json"),
    ("JSONB", "json"),
    ("Text", "text"),
    ("UnicodeText", "text"),
    ("Enum", "string"),
    ("String", "string"),
    ("Integer", "integer"),
    ("Float", "float"),
    ("Double", "float"),
    ("REAL", "float"),
    ("Numeric", "decimal"),
    ("DateTime", "datetime"),
    ("TIMESTAMP", "datetime"),
    ("Date", "date"),
    ("Time", "time"),
    ("Interval", "interval"),
    ("LargeBinary", "binary"),
    ("_Binary", "binary"),
)

DJANGO_FAMILIES: dict[str, str] = {
    "AutoField": "integer",
    "BigAutoField": "integer",
    "SmallAutoField": "integer",
    "IntegerField": "integer",
    "BigIntegerField": "integer",
    "SmallIntegerField": "integer",
    "PositiveIntegerField": "integer",
    "PositiveBigIntegerField": "integer",
    "PositiveSmallIntegerField": "integer",
    "CharField": "string",
    "SlugField": "string",
    "EmailField": "string",
    "URLField": "string",
    "GenericIPAddressField": "string",
    "IPAddressField": "string",
    "FilePathField": "string",
    "FileField": "string",
    "ImageField": "string",
    "TextField": "text",
    "BooleanField": "boolean",
    "NullBooleanField": "boolean",
    "FloatField": "float",
    "DecimalField": "decimal",
    "DateTimeField": "datetime",
    "DateField": "date",
    "TimeField": "time",
    "DurationField": "interval",
    "UUIDField": "uuid",
    "JSONField": "json",
    "BinaryField": "binary",
}


def sqlalchemy_family(column_type: Any) -> str:
    """The family of a SQLAlchemy type instance (``String(13)`` -> ``string``; a ``TypeDecorator`` by its impl)."""
    for _ in range(5):  # a TypeDecorator (Interval is one, over DateTime) by its own class first, then its impl
        names = [klass.__name__ for klass in type(column_type).__mro__]
        for name, family in _SQLALCHEMY_FAMILIES:
            if name in names:
                return family
        if not hasattr(column_type, "impl_instance"):
            break
        column_type = column_type.impl_instance
    return "other"


def sqlalchemy_length(column_type: Any) -> int | None:
    """The declared length of a string-like SQLAlchemy type (``String(13)`` -> 13), else None."""
    while hasattr(column_type, "impl_instance"):
        column_type = column_type.impl_instance
    length = getattr(column_type, "length", None)
    return length if isinstance(length, int) else None


def django_family(internal_type: str) -> str:
    """The family of a Django field's ``get_internal_type()`` (``CharField`` -> ``string``)."""
    return DJANGO_FAMILIES.get(internal_type, "other")
