"""Catalogue endpoints: list, add, fetch and remove books."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Response, status
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from bookshelf import models
from bookshelf.api.deps import AnyRole, Librarian, PaginationDep, SessionDep
from bookshelf.openapi import problem_responses
from bookshelf.schemas import MAX_ID, Book, BookCreate, BookPage

router = APIRouter(prefix="/books", tags=["books"])

BookId = Annotated[int, Path(ge=1, le=MAX_ID, description="Book id")]


def _conflict_isbn(isbn: str) -> HTTPException:
    return HTTPException(status_code=409, detail=f"A book with ISBN {isbn} already exists.")


def _not_found(book_id: int) -> HTTPException:
    return HTTPException(status_code=404, detail=f"Book {book_id} does not exist.")


@router.get(
    "",
    response_model=BookPage,
    summary="List books, newest first",
    responses=problem_responses(401, 403, 422, 429),
)
def list_books(session: SessionDep, page: PaginationDep, _user: AnyRole) -> BookPage:
    """Return one page of the catalogue, most recently added first."""
    total = session.scalar(select(func.count()).select_from(models.Book)) or 0
    rows = session.scalars(
        select(models.Book)
        .order_by(models.Book.created_at.desc(), models.Book.id.desc())
        .limit(page.limit)
        .offset(page.offset)
    ).all()
    items = [Book.model_validate(row) for row in rows]
    return BookPage(items=items, total=total, limit=page.limit, offset=page.offset)


@router.post(
    "",
    response_model=Book,
    status_code=status.HTTP_201_CREATED,
    summary="Add a book to the catalogue",
    responses=problem_responses(400, 401, 403, 409, 422, 429),
)
def create_book(body: BookCreate, session: SessionDep, _user: Librarian) -> Book:
    """Add a book; 409 when the ISBN is already catalogued."""
    if session.scalar(select(models.Book.id).where(models.Book.isbn == body.isbn)) is not None:
        raise _conflict_isbn(body.isbn)
    book = models.Book(isbn=body.isbn, title=body.title, year=body.year)
    session.add(book)
    try:
        session.commit()
    except IntegrityError as exc:  # a concurrent insert won the race
        session.rollback()
        raise _conflict_isbn(body.isbn) from exc
    return Book.model_validate(book)


@router.get(
    "/{book_id}",
    response_model=Book,
    summary="Fetch one book",
    responses=problem_responses(401, 403, 404, 422, 429),
)
def get_book(book_id: BookId, session: SessionDep, _user: AnyRole) -> Book:
    """Return one book or 404."""
    book = session.get(models.Book, book_id)
    if book is None:
        raise _not_found(book_id)
    return Book.model_validate(book)


@router.delete(
    "/{book_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Remove a book",
    responses=problem_responses(401, 403, 404, 422, 429),
)
def delete_book(book_id: BookId, session: SessionDep, _user: Librarian) -> Response:
    """Delete a book together with all of its loans (active or past); 404 if missing."""
    book = session.get(models.Book, book_id)
    if book is None:
        raise _not_found(book_id)
    session.execute(delete(models.Loan).where(models.Loan.book_id == book_id))
    session.delete(book)
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
