"""Pydantic request and response bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

MAX_ID = 2**31 - 1
"""Largest accepted id or offset: the range of the id columns (INTEGER is 32-bit on PostgreSQL).

Anything larger is a 422: passed on to PostgreSQL it would overflow the column type and fail
the query (a 500), which the gate's fuzzing found when the example first ran on PostgreSQL.
"""

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20
# The specified ^(?:\d{9}[\dX]|\d{13})$ spelled with [0-9]: JSON Schema's \d is ASCII, but
# Python's (and so schema-driven test generators') also matches other Unicode digits.
ISBN_PATTERN = r"^(?:[0-9]{9}[0-9X]|[0-9]{13})$"
# No NUL characters: PostgreSQL text columns cannot store them.
NO_NUL_PATTERN = r"^[^\x00]*$"

Isbn = Annotated[
    str,
    Field(
        pattern=ISBN_PATTERN,
        description="ISBN-10 (last character may be X) or ISBN-13, ASCII digits only",
        examples=["9780134685991"],
    ),
]


def _json_integer(value: object) -> object:
    """Accept what JSON Schema calls an integer (``7`` or ``7.0``), never bools or strings."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("Input should be an integer")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError("Input should be an integer")
        return int(value)
    return value


EntityId = Annotated[int, Field(ge=1, le=MAX_ID), BeforeValidator(_json_integer)]
Year = Annotated[int, Field(ge=0, le=2100), BeforeValidator(_json_integer)]


class TokenRequest(BaseModel):
    """Credentials exchanged for an access token."""

    email: str = Field(min_length=1, max_length=320, pattern=NO_NUL_PATTERN)
    password: str = Field(min_length=1, max_length=1024, pattern=NO_NUL_PATTERN)


class Token(BaseModel):
    """An OAuth2-style bearer token response."""

    access_token: str
    token_type: Literal["bearer"]
    expires_in: int = Field(description="Lifetime of the token in seconds")


class BookCreate(BaseModel):
    """A new catalogue entry."""

    isbn: Isbn
    title: str = Field(min_length=1, max_length=300, pattern=NO_NUL_PATTERN)
    year: Year | None = None


class Book(BaseModel):
    """A catalogue entry."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    isbn: str
    title: str
    year: int | None
    created_at: datetime


class LoanCreate(BaseModel):
    """A request to borrow a book."""

    book_id: EntityId


class Loan(BaseModel):
    """A book lent to a member."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    book_id: int
    user_id: int
    due_at: datetime


class BookPage(BaseModel):
    """One page of books, newest first."""

    items: list[Book]
    total: int
    limit: int
    offset: int


class LoanPage(BaseModel):
    """One page of the caller's loans, newest first."""

    items: list[Loan]
    total: int
    limit: int
    offset: int
