"""Create the configured bootstrap accounts at startup."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bookshelf.models import User
from bookshelf.security import hash_password
from bookshelf.settings import BootstrapUser


def ensure_users(session_factory: sessionmaker[Session], users: Iterable[BootstrapUser]) -> int:
    """Create each user whose e-mail is not registered yet; return how many were created.

    Existing accounts are left untouched (their password and role are not reset).
    """
    created = 0
    with session_factory() as session:
        for user in users:
            email = user.email.strip().lower()
            if session.scalar(select(User.id).where(User.email == email)) is not None:
                continue
            session.add(
                User(email=email, password_hash=hash_password(user.password), role=user.role)
            )
            try:
                session.commit()
            except IntegrityError:  # another worker created it first
                session.rollback()
                continue
            created += 1
    return created
