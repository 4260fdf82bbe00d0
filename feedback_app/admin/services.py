"""Reading accounts for the admin page and `flask users list`. Changes go through
auth.services (create_user, change_role, change_password, set_active), which audit them.

Bureau settings: each bureau's answer target (working days, kernel/deadlines.py) and its official
contacts (published hotlines and gov.hk addresses, left unmasked in its answers); every change
audited, a new target moving the due dates of the bureau's views still awaiting an answer."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, or_, select, update

from ..auth import two_factor
from ..extensions import db
from ..kernel import audit, catalogue, deadlines, public, workflow
from ..kernel.database import write_transaction
from ..kernel.models import AuditAction, AuditEvent, Bureau, OfficialContact, Role, Submission, User
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


# --- bureau settings: the answer target and the official contacts ---------------------------------


class SettingsError(Exception):
    """A bureau setting refused, with the message to show beside `field` (a form field's name)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class BureauSettings:
    bureau: Bureau
    contacts: list[OfficialContact]


def bureau_settings() -> list[BureauSettings]:
    """Every bureau with its answer target and official contacts (one query for the contacts)."""
    contacts: dict[str, list[OfficialContact]] = defaultdict(list)
    for contact in db.session.execute(select(OfficialContact).order_by(OfficialContact.id)).scalars():
        contacts[contact.bureau_code].append(contact)
    return [BureauSettings(b, contacts[b.code]) for b in catalogue.list_bureaus()]


def get_bureau(code: str) -> BureauSettings | None:
    bureau = db.session.get(Bureau, code) if len(code) <= 10 else None
    if bureau is None:
        return None
    contacts = db.session.execute(
        select(OfficialContact).where(OfficialContact.bureau_code == code).order_by(OfficialContact.id)
    ).scalars()
    return BureauSettings(bureau, list(contacts))


_SETTINGS_ACTIONS = (AuditAction.ANSWER_TARGET_CHANGED, AuditAction.OFFICIAL_CONTACTS_CHANGED)


def bureau_history(code: str, *, limit: int = 50) -> list[AuditEvent]:
    """Changes to this bureau's settings, newest first (the bureau is named in before/after)."""
    events = db.session.execute(
        select(AuditEvent)
        .where(AuditEvent.action.in_([a.value for a in _SETTINGS_ACTIONS]))
        .order_by(AuditEvent.id.desc())
    ).scalars()
    return [e for e in events if (e.after or {}).get("bureau") == code][:limit]


def _set_due_dates(rows: Iterable[tuple[int, datetime, int]]) -> int:
    """Give each view (id, when it reached its bureau, the bureau's target) its due date; one
    UPDATE per due date (views routed the same Hong Kong day share it), in chunks of ids."""
    by_due: dict[datetime, list[int]] = defaultdict(list)
    due_on: dict[tuple[date, int], datetime] = {}  # the calendar walked once per day and target
    for sub_id, routed_at, target_days in rows:
        day = (routed_at.astimezone(deadlines.HONG_KONG).date(), target_days)
        if day not in due_on:
            due_on[day] = deadlines.due_at(routed_at, target_days)
        by_due[due_on[day]].append(sub_id)
    for due, ids in by_due.items():
        for start in range(0, len(ids), _CHUNK):
            db.session.execute(
                update(Submission)
                .where(Submission.id.in_(ids[start : start + _CHUNK]))
                .values(due_at=due)
                .execution_options(synchronize_session=False)
            )
    return sum(len(ids) for ids in by_due.values())


_CHUNK = 1000


def recompute_due_dates(code: str, target_days: int) -> int:
    """The due date of each of the bureau's views still awaiting an answer, from when it reached
    the bureau, with `target_days`; in the caller's transaction. Returns how many views."""
    rows = db.session.execute(
        select(Submission.id, Submission.routed_at).where(
            Submission.bureau_code == code,
            Submission.status.in_(workflow.AWAITING_ANSWER),
            Submission.routed_at.is_not(None),
        )
    )
    return _set_due_dates((sub_id, routed_at, target_days) for sub_id, routed_at in rows)


def set_answer_target(code: str, days: int, *, actor: User) -> int:
    """Set the bureau's answer target (working days) and move the due dates of its views still
    awaiting an answer, in one transaction, audited. Returns how many due dates were recomputed."""
    low, high = deadlines.TARGET_DAYS_RANGE
    if not low <= days <= high:
        raise SettingsError("days", _l("Choose between %(min)s and %(max)s working days.", min=low, max=high))
    with write_transaction():
        bureau = db.session.get(Bureau, code, with_for_update=True)
        if bureau is None:
            raise LookupError(code)
        before = bureau.answer_target_days
        if before == days:
            return 0
        bureau.answer_target_days = days
        moved = recompute_due_dates(code, days)
        audit.record(
            AuditAction.ANSWER_TARGET_CHANGED,
            actor=actor,
            before={"bureau": code, "answer_target_days": before},
            after={"bureau": code, "answer_target_days": days, "due_dates_recomputed": moved},
        )
    return moved


CONTACT_RULE = _l(
    "Enter a Hong Kong phone number (8 digits, or a toll-free 800 number; +852 and spaces allowed) "
    "or an e-mail address on gov.hk or one of its subdomains (name@example.gov.hk)."
)


def add_official_contact(
    code: str, value: str, *, label_en: str | None, label_zh: str | None, actor: User
) -> OfficialContact:
    """Add a published hotline or government e-mail address to the bureau's official contacts
    (left unmasked in its answers), audited."""
    value = (value or "").strip()
    key = public.official_contact_key(value)
    if key is None:
        raise SettingsError("value", CONTACT_RULE)
    with write_transaction():
        if db.session.get(Bureau, code) is None:
            raise LookupError(code)
        existing = db.session.execute(
            select(OfficialContact.value).where(OfficialContact.bureau_code == code)
        ).scalars()
        if any(public.official_contact_key(v) == key for v in existing):
            raise SettingsError("value", _l("This contact is already listed for the bureau."))
        contact = OfficialContact(
            bureau_code=code,
            value=value,
            label_en=(label_en or "").strip() or None,
            label_zh=(label_zh or "").strip() or None,
        )
        db.session.add(contact)
        audit.record(
            AuditAction.OFFICIAL_CONTACTS_CHANGED,
            actor=actor,
            after={"bureau": code, "added": value, "label_en": contact.label_en, "label_zh": contact.label_zh},
        )
    return contact


def remove_official_contact(code: str, contact_id: int, *, actor: User) -> str:
    """Remove one of the bureau's official contacts (its answers then mask it again), audited."""
    with write_transaction():
        contact = db.session.get(OfficialContact, contact_id) if 0 < contact_id <= _MAX_ID else None
        if contact is None or contact.bureau_code != code:
            raise LookupError(contact_id)
        value = contact.value
        db.session.delete(contact)
        audit.record(
            AuditAction.OFFICIAL_CONTACTS_CHANGED,
            actor=actor,
            before={"bureau": code, "removed": value, "label_en": contact.label_en, "label_zh": contact.label_zh},
            after={"bureau": code, "removed": value},
        )
    return value


def fill_missing_due_dates() -> int:
    """`flask bureau deadlines`: a due date for every view with a bureau that has none, from when
    it reached the bureau (else when it arrived) and the bureau's target. Returns how many."""
    with write_transaction():
        rows = db.session.execute(
            select(Submission.id, func.coalesce(Submission.routed_at, Submission.created_at), Bureau.answer_target_days)
            .join(Bureau, Bureau.code == Submission.bureau_code)
            .where(Submission.due_at.is_(None), Submission.status.in_(workflow.WITH_A_BUREAU))
        ).all()
        return _set_due_dates((sub_id, _aware(at), days) for sub_id, at, days in rows)


def _aware(at: datetime) -> datetime:
    # COALESCE loses the column's type on SQLite: the value may come back naive (it is UTC).
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)
