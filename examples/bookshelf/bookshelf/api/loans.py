"""Loan endpoints: borrow a book and list the caller's loans."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, HTTPException, status
from sqlalchemy import func, select

from bookshelf import models
from bookshelf.api.deps import AnyRole, Member, PaginationDep, SessionDep
from bookshelf.openapi import problem_responses
from bookshelf.schemas import Loan, LoanCreate, LoanPage

router = APIRouter(prefix="/loans", tags=["loans"])

LOAN_PERIOD = timedelta(days=14)


@router.post(
    "",
    response_model=Loan,
    status_code=status.HTTP_201_CREATED,
    summary="Borrow a book",
    responses=problem_responses(400, 401, 403, 404, 409, 422, 429),
)
def create_loan(body: LoanCreate, session: SessionDep, user: Member) -> Loan:
    """Lend a book for 14 days; 404 if it does not exist, 409 if it is already lent.

    There is no return endpoint: a loan is active until ``due_at`` has passed.
    """
    # Lock the book row (a no-op on SQLite) so two borrowers cannot both win.
    book = session.scalars(
        select(models.Book).where(models.Book.id == body.book_id).with_for_update()
    ).first()
    if book is None:
        raise HTTPException(status_code=404, detail=f"Book {body.book_id} does not exist.")
    now = models.utcnow()
    active = session.scalar(
        select(models.Loan.id).where(models.Loan.book_id == book.id, models.Loan.due_at > now)
    )
    if active is not None:
        raise HTTPException(status_code=409, detail=f"Book {book.id} is already lent out.")
    loan = models.Loan(book_id=book.id, user_id=user.id, due_at=now + LOAN_PERIOD)
    session.add(loan)
    session.commit()
    return Loan.model_validate(loan)


@router.get(
    "",
    response_model=LoanPage,
    summary="List the caller's loans",
    responses=problem_responses(401, 403, 422, 429),
)
def list_loans(session: SessionDep, page: PaginationDep, user: AnyRole) -> LoanPage:
    """Return one page of the caller's own loans, latest due date first."""
    mine = models.Loan.user_id == user.id
    total = session.scalar(select(func.count()).select_from(models.Loan).where(mine)) or 0
    rows = session.scalars(
        select(models.Loan)
        .where(mine)
        .order_by(models.Loan.due_at.desc(), models.Loan.id.desc())
        .limit(page.limit)
        .offset(page.offset)
    ).all()
    items = [Loan.model_validate(row) for row in rows]
    return LoanPage(items=items, total=total, limit=page.limit, offset=page.offset)
