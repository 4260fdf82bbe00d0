"""Accounts: creating users, signing in, and ending every session of a user."""
from __future__ import annotations

from sqlalchemy import func, select

from ..database import write_transaction
from ..extensions import db
from ..models import Bureau, Role, User


class AccountError(ValueError):
    pass


def find_by_email(email: str) -> User | None:
    return db.session.execute(
        select(User).where(func.lower(User.email) == email.strip().lower())
    ).scalar_one_or_none()


def authenticate(email: str, password: str) -> User | None:
    user = find_by_email(email)
    if user is None or not user.active or not user.check_password(password):
        return None
    return user


def create_user(
    email: str, password: str, role: Role, *, display_name: str | None = None, bureau: str | None = None
) -> User:
    role = Role(role)
    email = email.strip().lower()
    if len(password) < 10:
        raise AccountError("password must be at least 10 characters")
    if role == Role.OFFICER:
        if not bureau or db.session.get(Bureau, bureau) is None:
            raise AccountError("a bureau officer needs a valid bureau code (load reference data first)")
    elif bureau:
        raise AccountError("only bureau officers belong to a bureau")
    with write_transaction():
        if find_by_email(email) is not None:
            raise AccountError(f"an account for {email} already exists")
        user = User(
            email=email,
            display_name=display_name or email.split("@")[0],
            role=role,
            bureau_code=bureau if role == Role.OFFICER else None,
        )
        user.set_password(password)
        db.session.add(user)
    return user


def end_all_sessions(user_id: int) -> None:
    """Invalidate every login cookie of this user, on every app node."""
    with write_transaction():
        user = db.session.get(User, user_id)
        if user is not None:
            user.session_version = User.session_version + 1


def change_password(user_id: int, new_password: str) -> None:
    if len(new_password) < 10:
        raise AccountError("password must be at least 10 characters")
    with write_transaction():
        user = db.session.get(User, user_id)
        user.set_password(new_password)
        user.session_version = User.session_version + 1


def change_role(user_id: int, role: Role, bureau: str | None = None) -> None:
    with write_transaction():
        user = db.session.get(User, user_id)
        user.role = Role(role)
        user.bureau_code = bureau if role == Role.OFFICER else None
        user.session_version = User.session_version + 1


def set_active(user_id: int, active: bool) -> None:
    with write_transaction():
        user = db.session.get(User, user_id)
        user.active = active
        user.session_version = User.session_version + 1
