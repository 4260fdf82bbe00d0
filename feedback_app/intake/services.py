"""Intake: store a resident's view first, then ask the classifier where it should go."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from flask import current_app
from sqlalchemy import func, literal, select, text, update
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..kernel import audit, workflow
from ..kernel.database import write_transaction
from ..kernel.models import AnswerFeedback, AuditAction, OutboxMessage, Role, Submission, User, Verdict
from ..mail import links as mail_links
from ..mail import outbox
from ..text import abuse, keys


@dataclass(frozen=True)
class NewSubmission:
    body: str
    language: str
    topic_area: str
    initiative_id: int | None = None
    name: str | None = None
    email: str | None = None
    # The sending client's network address, only ever stored as abuse.client_hash; None (API,
    # scripts, tests) is never counted as repeated posting.
    client_address: str | None = None


@dataclass(frozen=True)
class Receipt:
    submission_id: int
    reference: str
    # Shown to the resident; only its hash is stored. None when a resent form's link cannot be
    # rebuilt any more (the secret key it was derived from is gone).
    tracking_token: str | None
    # True when this form had already been sent: nothing new was stored.
    already_sent: bool = False


FORM_TOKEN_BYTES = keys.TOKEN_BYTES
_FORM_TOKEN = keys.token_pattern(FORM_TOKEN_BYTES)


def hash_token(token: str) -> str:
    return keys.digest(token)


def new_form_token() -> str:
    """The one-time token of one submission form page: whatever sends it twice sends once."""
    return keys.new_token(FORM_TOKEN_BYTES)


def is_form_token(value: object) -> bool:
    return isinstance(value, str) and _FORM_TOKEN.fullmatch(value) is not None


def _tracking_token_for(form_token: str, key: str | bytes) -> str:
    """The tracking token of the view a form sends, derived so that a resent form can show the
    first sending's link again while only hashes are stored. Without the key, the form token
    alone reveals nothing."""
    return keys.derived_token(key, "tracking", form_token)


def _secret_keys() -> list[str | bytes]:
    # Flask's own fallbacks: a link made before a key rotation can still be rebuilt while the
    # old key is kept there.
    return [current_app.secret_key, *(current_app.config.get("SECRET_KEY_FALLBACKS") or [])]


def _sent_with(form_token: str) -> Submission | None:
    return db.session.execute(
        select(Submission).where(Submission.form_token_hash == hash_token(form_token))
    ).scalar_one_or_none()


def _receipt_for_resent(sub: Submission, form_token: str) -> Receipt:
    for key in _secret_keys():
        token = _tracking_token_for(form_token, key)
        if keys.equal(sub.tracking_token_hash, hash_token(token)):
            return Receipt(sub.id, sub.reference, token, already_sent=True)
    return Receipt(sub.id, sub.reference, None, already_sent=True)


def find_sent(form_token: str) -> Receipt | None:
    """The receipt of the view this form token already sent, or None if it sent nothing yet."""
    sub = _sent_with(form_token)
    return None if sub is None else _receipt_for_resent(sub, form_token)


# How many of its latest sendings a browser remembers (fingerprint -> form token), to recognise
# the same text sent again from a form page fetched anew (see content_fingerprint).
RECENT_SENDINGS_KEPT = 5


@dataclass(frozen=True)
class Sending:
    receipt: Receipt
    # What the sender should remember of its sendings now (the same mapping when nothing changed).
    recent: Mapping[str, str]


def send(data: NewSubmission, *, user: User | None, form_token: str, recent: Mapping[str, str] | None) -> Sending:
    """A resident sends the submission form: the view stored once, whatever resent it.

    `recent` is what this sender (a browser's session) remembers of its latest sendings. The same
    text on the same subject sent before is that earlier view, even from a form page fetched
    anew (a new form token); the same form token again is its first sending (submit). Only a
    view stored now is remembered; a page and an API both call this.
    """
    recent = recent or {}
    fingerprint = content_fingerprint(data)
    earlier = recent.get(fingerprint)
    receipt = find_sent(earlier) if is_form_token(earlier) else None
    if receipt is not None:
        return Sending(receipt, recent)
    receipt = submit(data, user=user, form_token=form_token)
    if receipt.already_sent:
        return Sending(receipt, recent)
    remembered = {**recent, fingerprint: form_token}
    return Sending(receipt, dict(list(remembered.items())[-RECENT_SENDINGS_KEPT:]))


def content_fingerprint(data: NewSubmission) -> str:
    """The same text about the same subject, whitespace aside.

    Browsers often fetch the form page again on Back (the session cookie changed, so the cached
    page no longer matches) and refill the text box, giving the resent text a new form token;
    the view remembers the fingerprints of what this browser sent to recognise that."""
    text = " ".join(data.body.split())
    subject = f"{data.topic_area}\x1f{data.initiative_id or ''}\x1f{text}"
    return keys.digest(subject)[:32]


_TAKE_REFERENCE_NUMBER = text(
    "INSERT INTO reference_counter (year, last_value) VALUES (:year, 1) "
    "ON CONFLICT (year) DO UPDATE SET last_value = reference_counter.last_value + 1 RETURNING last_value"
)


def _next_reference(year: int) -> str:
    """Atomically take the next number for `year`: one upsert, under the row lock on PostgreSQL
    and the write lock on SQLite, so concurrent sendings get consecutive numbers."""
    # Written out: PostgreSQL and SQLite (3.35+) take the same upsert, and SQLAlchemy cannot
    # cache the compiled form of its dialect-specific ON CONFLICT constructs on SQLite.
    number = db.session.execute(_TAKE_REFERENCE_NUMBER, {"year": year}).scalar_one()
    return f"SCF-{year}-{number:06d}"


def submit(data: NewSubmission, *, user: User | None = None, form_token: str | None = None) -> Receipt:
    """Store the submission in its own transaction; its "submitted" audit event, written in that
    transaction, is the event routing subscribes to (kernel/events.py): once it is committed, a
    worker routes the view.

    Routing (and queueing it) can fail in any way without losing the submission: it stays
    listed for review, and the sweeps deliver its event or route it later.

    `form_token` (from the submission form) makes sending idempotent: the same token again
    (Back and send, a retry after a lost connection, a double click) is the same sending,
    whatever the text says now. Nothing is stored or routed again, and the receipt is the
    first sending's, with `already_sent` set. Without one (API, scripts) every call is new.
    """
    if form_token is None:
        token = keys.new_token(24)
    elif is_form_token(form_token):
        token = _tracking_token_for(form_token, current_app.secret_key)
    else:
        raise ValueError("malformed form token")
    try:
        with write_transaction():
            # No lookup first: a form sent before is refused by the unique index on its token,
            # so the common case, a new sending, costs one statement less.
            # The view object is held until the commit: the mail outbox's hook, run as the commit
            # flushes the view's audit event, finds it in the session instead of reading it again.
            receipt, _view = _store(data, user=user, tracking_token=token, form_token=form_token)
    except IntegrityError:
        # The same form again, now or earlier (at the same moment, the unique form_token_hash
        # made this one wait for the other and then refused it); nothing of this attempt was
        # kept, not even its reference number. The first sending's view is this one's.
        earlier = _sent_with(form_token) if form_token is not None else None
        if earlier is None:
            raise
        return _receipt_for_resent(earlier, form_token)
    return receipt


def _posted_repeatedly(client_hash: str | None, now: datetime) -> bool:
    """Whether this view makes REPEATED_POSTING_COUNT or more from one client within the last
    REPEATED_POSTING_WINDOW_MINUTES (counting itself): this one and every later one is flagged,
    the earlier ones stay as they were.

    Many residents share one address (home and office NAT, mobile carriers' carrier-grade NAT),
    so this is a flag for a moderator to look at, never a refusal; the per-client rate limit
    (SUBMISSION_RATE_LIMIT) stops fast sending, this notices slower repetition under it.

    One range on ix_submission_client_hash inside the view's own write transaction, stopped
    after the views it needs, so a busy shared address costs no more than a quiet one. Two views
    from one client at the same instant on PostgreSQL may not see each other: at worst one of
    them goes unflagged, and the next is flagged.
    """
    if client_hash is None:
        return False
    config = current_app.config
    needed = config["REPEATED_POSTING_COUNT"] - 1  # earlier views that make this one the Nth
    if needed <= 0:
        return True
    earlier = (
        select(literal(1))
        .where(
            Submission.client_hash == client_hash,
            Submission.created_at > now - timedelta(minutes=config["REPEATED_POSTING_WINDOW_MINUTES"]),
        )
        .limit(needed)
        .subquery()
    )
    return db.session.execute(select(func.count()).select_from(earlier)).scalar_one() >= needed


def _store(
    data: NewSubmission, *, user: User | None, tracking_token: str, form_token: str | None
) -> tuple[Receipt, Submission]:
    now = datetime.now(UTC)
    client = abuse.client_hash(data.client_address, current_app.secret_key)
    flags = abuse.flags_for(data.body)
    if _posted_repeatedly(client, now):
        flags.append(abuse.Flag.REPEATED_POSTING)
    sub = Submission(
        reference=_next_reference(now.year),
        tracking_token_hash=hash_token(tracking_token),
        form_token_hash=hash_token(form_token) if form_token is not None else None,
        body=data.body,
        language=data.language,
        name=data.name or None,
        email=data.email or None,
        user_id=user.id if user is not None else None,
        initiative_id=data.initiative_id,
        topic_area_code=data.topic_area,
        flags=abuse.stored(flags),
        client_hash=client,
        created_at=now,
    )
    db.session.add(sub)
    db.session.flush()
    workflow.record_creation(sub, AuditAction.SUBMITTED, actor=user)
    return Receipt(sub.id, sub.reference, tracking_token), sub


def find_tracked(reference: str, token: str) -> Submission | None:
    """The submission behind a tracking link, or None; the token is compared in constant time."""
    sub = db.session.execute(select(Submission).where(Submission.reference == reference)).scalar_one_or_none()
    if sub is None:
        return None
    # The form's own token, or the one its mail carries (derived from the stored hash).
    if not (keys.equal(sub.tracking_token_hash, hash_token(token)) or mail_links.opens_tracking(sub, token)):
        return None
    return sub


def find_for_mail(reference: str, token: str, check: Callable[[Submission, str], bool]) -> Submission | None:
    """The view a mail link names, if `check` accepts its token (mail.links)."""
    sub = db.session.execute(select(Submission).where(Submission.reference == reference)).scalar_one_or_none()
    return sub if sub is not None and check(sub, token) else None


def confirm_mail(sub_id: int) -> bool:
    """The sender wants updates by e-mail: True when confirmed now, False if it was already."""
    with write_transaction():
        sub = db.session.get(Submission, sub_id, with_for_update=True)
        return sub is not None and outbox.confirm(sub)


def unsubscribe(message_id: int, token: str) -> bool:
    """The one-click unsubscribe of a message: False when the link is not one of ours."""
    with write_transaction():
        message = db.session.get(OutboxMessage, message_id)
        if message is None or not mail_links.unsubscribes(message, token):
            return False
        outbox.unsubscribe(message)
        return True


def unsubscribe_link_is_valid(message_id: int, token: str) -> bool:
    message = db.session.get(OutboxMessage, message_id)
    return message is not None and mail_links.unsubscribes(message, token)


# --- "did this answer your point?" ------------------------------------------------------------


class FeedbackRefused(Exception):
    """Why a sender's answer to "did this answer your point?" was not stored."""


class FeedbackAlreadyGiven(FeedbackRefused):
    """Asked once: the view's sender already answered."""


class NothingToJudge(FeedbackRefused):
    """The view has no answer (yet) to say anything about."""


def give_feedback(sub_id: int, verdict: Verdict | str, comment: str | None, *, user: User | None = None) -> None:
    """Store the sender's verdict on the answer to their view, once, with the bureau that owns
    the view and its initiative as they are now (the results are counted per each), audited in
    the same transaction.

    `user`: the signed-in person; named in the audit only as the account it concerns, and only
    when the view is on that account (staff pages show an actor's name, and the bureau reads this).
    """
    verdict = Verdict(verdict)
    try:
        with write_transaction():
            sub = db.session.get(Submission, sub_id, with_for_update=True)
            if sub is None or not sub.answers:
                raise NothingToJudge()
            given = db.session.execute(
                select(AnswerFeedback.id).where(AnswerFeedback.submission_id == sub.id)
            ).scalar_one_or_none()
            if given is not None:
                raise FeedbackAlreadyGiven()
            db.session.add(
                AnswerFeedback(
                    submission_id=sub.id,
                    verdict=verdict,
                    comment=comment or None,
                    bureau_code=sub.bureau_code,
                    initiative_id=sub.initiative_id,
                )
            )
            audit.record(
                AuditAction.ANSWER_FEEDBACK_GIVEN,
                submission_id=sub.id,
                target_user_id=_own_account(sub, user),
                after={"verdict": verdict.value},
            )
    except IntegrityError:
        # Two sendings at once: the unique submission_id let one in.
        raise FeedbackAlreadyGiven() from None


def _own_account(sub: Submission, user: User | None) -> int | None:
    return user.id if user is not None and user.is_authenticated and sub.user_id == user.id else None


# --- a view added to the sender's account -----------------------------------------------------


class AccountLink(StrEnum):
    """How the view stands to the person reading its tracking page (None: a visitor or staff)."""

    ADDABLE = "addable"  # a signed-in resident, the view on no account: the page offers to add it
    VERIFY_FIRST = "verify_first"  # the same, but the account's address is not confirmed yet
    YOURS = "yours"  # on this account: listed under "My views"
    ANOTHER_ACCOUNT = "another_account"  # on someone else's account: it cannot be added


def account_link(sub: Submission, user: User | None) -> AccountLink | None:
    if user is None or not user.is_authenticated or user.role != Role.RESIDENT:
        return None
    if sub.user_id == user.id:
        return AccountLink.YOURS
    if sub.user_id is not None:
        return AccountLink.ANOTHER_ACCOUNT
    return AccountLink.ADDABLE if user.email_verified_at is not None else AccountLink.VERIFY_FIRST


class AttachRefused(Exception):
    def __init__(self, link: AccountLink | None):
        super().__init__(link)
        self.link = link


def attach(sub_id: int, user: User) -> bool:
    """Add a view sent without an account to the signed-in resident's account (its tracking link
    was checked): True when added now, False if it was on this account already. Raises
    AttachRefused (with how the view stands) for anyone else: a visitor, staff, an address not
    confirmed, a view on another account.

    One conditional UPDATE, so two accounts adding it at once cannot both win; the row's
    version is left alone (a moderator's decision on it is not made stale by this)."""
    with write_transaction():
        sub = db.session.get(Submission, sub_id)
        link = account_link(sub, user) if sub is not None else None
        if link is AccountLink.YOURS:
            return False
        if link is not AccountLink.ADDABLE:
            raise AttachRefused(link)
        added = db.session.execute(
            update(Submission)
            .where(Submission.id == sub_id, Submission.user_id.is_(None))
            .values(user_id=user.id)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not added:
            raise AttachRefused(AccountLink.ANOTHER_ACCOUNT)
        # The account is the event's target, not its actor: staff pages name an event's actor,
        # and a view sent without a name should not gain one for the bureau by this.
        audit.record(AuditAction.VIEW_ATTACHED, submission_id=sub_id, target_user_id=user.id)
    return True


def known_sender(user: User | None) -> tuple[str | None, str] | None:
    """The name and address a signed-in resident's form starts with (None: nobody to prefill)."""
    if user is None or not user.is_authenticated or user.role != Role.RESIDENT or user.deleted_at is not None:
        return None
    return user.display_name or None, user.email
