"""Set-up for the journeys, through the same services the staff pages use: the people and the
views a journey starts from. What a journey tests is done in the browser, never here."""

from __future__ import annotations

import itertools
import time

from feedback_app.auth import services as accounts
from feedback_app.bureau import services as bureau
from feedback_app.extensions import db
from feedback_app.intake import services as intake
from feedback_app.kernel.models import Role, Status, Submission, Visibility
from feedback_app.moderation import services as moderation

from .. import factories

PASSWORD = factories.PASSWORD
_emails = itertools.count(1)


def staff(role: Role, bureau_code: str | None = None):
    """A new account (the server is shared by every journey, so each gets its own)."""
    return accounts.create_user(f"browser-{role.value}{next(_emails)}@example.org", PASSWORD, role, bureau=bureau_code)


WORKER_SECONDS = 30


def after_the_worker(reference: str) -> Submission:
    """The view once the worker beside the server has grouped and routed it (a decision on the
    version before the worker's would be refused as stale, rightly; one made before the worker
    looked would leave the view without the classifier's reason)."""
    deadline = time.monotonic() + WORKER_SECONDS
    while True:
        db.session.commit()  # a new transaction sees what the worker wrote
        sub = moderation.find_by_reference(reference)
        if sub.status != Status.RECEIVED:
            return sub
        assert time.monotonic() < deadline, f"the worker did not route {reference}"
        time.sleep(0.2)


def publish(reference: str, moderator) -> None:
    """Publish a view as a moderator would, once the worker has routed it."""
    sub = after_the_worker(reference)
    moderation.set_visibility(sub.id, visibility=Visibility.PUBLISHED, actor=moderator, version=sub.version)


def send_view(body: str, initiative, language: str = "en") -> Submission:
    receipt = intake.submit(
        intake.NewSubmission(
            body=body,
            language=language,
            topic_area=initiative.area_code,
            initiative_id=initiative.id,
        )
    )
    return db.session.get(Submission, receipt.submission_id)


def routed_to(sub: Submission, bureau_code: str, moderator) -> Submission:
    """The view routed to `bureau_code`, whatever the classifier did with it."""
    sub = after_the_worker(sub.reference)
    if sub.status != Status.ROUTED or sub.bureau_code != bureau_code:
        moderation.route(sub.id, area=sub.topic_area_code, bureau=bureau_code, actor=moderator, version=sub.version)
    db.session.refresh(sub)
    return sub


def awaiting_review(sub: Submission) -> Submission:
    """The view in the review queue: if the classifier routed it, its bureau sends it back."""
    if sub.status == Status.ROUTED:
        officer = staff(Role.OFFICER, sub.bureau_code)
        bureau.send_back(officer, sub.id, "Not for our bureau: please route it again.")
    db.session.refresh(sub)
    assert sub.status in (Status.NEEDS_REVIEW, Status.RECEIVED), sub.status
    return sub
