"""Reading accounts for the admin page and `flask users list`. Changes go through
auth.services (create_user, change_role, change_password, set_active), which audit them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, or_, select

from ..auth import two_factor
from ..extensions import db
from ..kernel.models import AuditEvent, Role, User
from ..text import keys
from ..web.pagination import KeysetPage, keyset_page

# Ids are 32-bit integers on PostgreSQL; a larger one in a URL is simply no account.
_MAX_ID = 2**31 - 1


@dataclass
class AccountFilter:
    search: str | None = None  # part of the e-mail address or the name
    role: str | None = None
    active: bool | None = None

    def __post_init__(self):
        self.search = (self.search or "").strip()[:254] or None
        self.role = self.role if self.role in set(Role) else None

    @property
    def any(self) -> bool:
        return bool(self.search or self.role or self.active is not None)

    def statement(self) -> Select:
        stmt = select(User)
        if self.search:
            # The typed text is matched literally: % and _ are not wildcards here.
            pattern = "%" + self.search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            stmt = stmt.where(
                or_(User.email.ilike(pattern, escape="\\"), User.display_name.ilike(pattern, escape="\\"))
            )
        if self.role:
            stmt = stmt.where(User.role == self.role)
        if self.active is not None:
            stmt = stmt.where(User.active.is_(self.active))
        return stmt

    def all(self) -> list[User]:
        return list(db.session.execute(self.statement().order_by(User.email)).scalars())


def account_page(filters: AccountFilter, *, after: int | None, size: int) -> KeysetPage[User]:
    """Oldest accounts first, cut by id: residents can sign up, so the list may be long."""
    return keyset_page(filters.statement(), User.id, after=after, size=size)


def get_account(user_id: int) -> User | None:
    if not 0 < user_id <= _MAX_ID:
        return None
    return db.session.get(User, user_id)


def account_history(user: User) -> list[AuditEvent]:
    """Changes made to this account (role, password, activation, two-factor), newest first."""
    return list(
        db.session.execute(
            select(AuditEvent).where(AuditEvent.target_user_id == user.id).order_by(AuditEvent.id.desc())
        ).scalars()
    )


def two_factor_on(user: User) -> bool:
    return two_factor.is_enabled(user)


def generate_password() -> str:
    """A password to hand over once: 96 random bits, in characters that survive being read out."""
    return keys.new_token(12)
