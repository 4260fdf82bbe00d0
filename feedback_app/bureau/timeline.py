"""A view's timeline as its bureau reads it: the audit history with the internal notes in place."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from ..extensions import db
from ..kernel import workflow
from ..kernel.models import AuditAction, AuditEvent, BureauNote, Submission, User
from . import services


@dataclass(frozen=True)
class Entry:
    at: datetime
    event: AuditEvent | None = None
    note: BureauNote | None = None


@dataclass(frozen=True)
class Timeline:
    entries: list[Entry]
    names: dict[int, str]  # officers named by an assignment (user id -> display name)


def of(officer: User, sub: Submission) -> Timeline:
    # A note is shown itself where it was added; its audit event would say the same twice.
    events = [e for e in workflow.history(sub) if e.action != AuditAction.NOTE_ADDED]
    notes = services.notes(officer, sub)
    entries = [Entry(e.created_at, event=e) for e in events] + [Entry(n.created_at, note=n) for n in notes]
    entries.sort(key=lambda entry: entry.at)
    ids = {
        value for e in events for value in (e.before.get("assignee"), e.after.get("assignee")) if isinstance(value, int)
    }
    names = dict(db.session.execute(select(User.id, User.display_name).where(User.id.in_(ids))).all()) if ids else {}
    return Timeline(entries, names)
