"""Build test data through the same services the app uses."""

from __future__ import annotations

import itertools

from sqlalchemy import select

from feedback_app.auth import services as accounts
from feedback_app.extensions import db
from feedback_app.intake import services as intake
from feedback_app.kernel import catalogue
from feedback_app.kernel.models import Initiative, Role, Submission, Visibility
from feedback_app.moderation import services as moderation

PASSWORD = "correct-horse-battery"
_counter = itertools.count(1)

TRANSPORT_VIEW = (
    "The buses on route 960 from Tuen Mun are always full in the morning rush hour and the "
    "Transport Department should add more bus trips and improve the real-time arrival information."
)


def user(role: Role, *, bureau: str | None = None, email: str | None = None):
    email = email or f"{role.value}{next(_counter)}@example.org"
    return accounts.create_user(email, PASSWORD, role, bureau=bureau)


def initiative(code: str | None = None) -> Initiative:
    if code:
        return catalogue.get_initiative(code)
    return (
        db.session.execute(select(Initiative).where(Initiative.lead_bureau_code == "TLB").order_by(Initiative.id))
        .scalars()
        .first()
    )


def submission(
    body: str = TRANSPORT_VIEW, *, initiative_code: str | None = None, area: str | None = None
) -> Submission:
    init = initiative(initiative_code)
    receipt = intake.submit(
        intake.NewSubmission(body=body, language="en", topic_area=area or init.area_code, initiative_id=init.id)
    )
    return db.session.get(Submission, receipt.submission_id)


def routed(sub: Submission, moderator, bureau: str = "TLB") -> Submission:
    """`sub` routed by `moderator` to `bureau` (in its own smart area), read back."""
    moderation.route(
        sub.id,
        area=sub.topic_area_code,
        bureau=bureau,
        actor=moderator,
        version=db.session.get(Submission, sub.id).version,
    )
    db.session.expire_all()
    return db.session.get(Submission, sub.id)


def published(sub: Submission, moderator) -> Submission:
    """`sub` published by `moderator`, read back."""
    moderation.set_visibility(
        sub.id, visibility=Visibility.PUBLISHED, actor=moderator, version=db.session.get(Submission, sub.id).version
    )
    db.session.expire_all()
    return db.session.get(Submission, sub.id)
