"""The public projection: public pages show published text only, never a private field of a view.

Every public page is rendered, in every language, over views whose private fields (the sender's
name and e-mail, the text as sent where a moderator edited it, the client's and supporters'
hashes, the staff's names and notes, what waits for moderation) hold marker strings; no marker
may reach a page.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask_babel import force_locale
from sqlalchemy import text

from feedback_app.auth import services as accounts
from feedback_app.bureau import services as bureau
from feedback_app.extensions import db
from feedback_app.intake import services as intake
from feedback_app.kernel import public, workflow
from feedback_app.kernel.models import RejectionReason, Role, Status, Submission, Support, Visibility
from feedback_app.moderation import services as moderation
from feedback_app.text.redaction import PLACEHOLDERS

from . import factories
from .conftest import csrf_token
from .test_campaigns import CAMPAIGN, COPIES

MARKERS = {
    "name": "Zebedee Marker-Name",
    "email": "zebedee.marker@example.org",
    "sent": "SENTONLYMARKER",
    "client": "CLIENTHASHMARKER",
    "supporter": "SUPPORTERHASHMARKER",
    "officer": "Officer Marker-Display",
    "officer_email": "officer.marker@example.org",
    "moderator": "Moderator Marker-Display",
    "note": "MODERATORNOTEMARKER",
    "pending": "PENDINGVIEWMARKER",
    "hidden": "HIDDENVIEWMARKER",
    "rejected": "REJECTEDVIEWMARKER",
    "phone": "9123 4567",
}
LANGUAGES = ("en", "zh_Hant", "zh_Hans")


def _staff(role: Role, name: str, *, email: str | None = None, bureau_code: str | None = None):
    email = email or f"{role.value}.{abs(hash(name))}@example.org"
    return accounts.create_user(email, factories.PASSWORD, role, display_name=name, bureau=bureau_code)


@pytest.fixture
def moderator():
    return _staff(Role.MODERATOR, MARKERS["moderator"])


def _private(sub: Submission) -> None:
    """Fill the fields only staff may read with markers."""
    sub.name, sub.email, sub.client_hash = MARKERS["name"], MARKERS["email"], MARKERS["client"]


def _send(body: str) -> Submission:
    sub = factories.submission(body)
    _private(sub)
    db.session.commit()
    return sub


def _route(sub: Submission, moderator) -> Submission:
    moderation.route(
        sub.id,
        area=sub.topic_area_code,
        bureau="TLB",
        actor=moderator,
        version=db.session.get(Submission, sub.id).version,
    )
    db.session.expire_all()
    return db.session.get(Submission, sub.id)


def _publish(sub: Submission, moderator) -> Submission:
    moderation.set_visibility(
        sub.id, visibility=Visibility.PUBLISHED, actor=moderator, version=db.session.get(Submission, sub.id).version
    )
    db.session.expire_all()
    return db.session.get(Submission, sub.id)


def _published(body: str, moderator) -> Submission:
    return _publish(_route(_send(body), moderator), moderator)


@pytest.fixture
def world(app, moderator):
    """Published views of every kind beside views the public must never see."""
    app.config["CAMPAIGNS"] = True  # campaigns and suggestions need the near-copy keys
    officer = _staff(Role.OFFICER, MARKERS["officer"], email=MARKERS["officer_email"], bureau_code="TLB")
    # A view a moderator edited: the text as sent holds a marker the edit left out.
    edited = _route(_send(f"The minibus stop is unsafe. {MARKERS['sent']} Call {MARKERS['phone']}."), moderator)
    moderation.edit_public_text(
        edited.id, text=f"The minibus stop is unsafe. Call {MARKERS['phone']}.", actor=moderator, version=edited.version
    )
    edited = _publish(edited, moderator)
    bureau.answer(
        officer, edited.id, f"We will check the stop. Our hotline is fine, yours {MARKERS['phone']} is masked."
    )
    # A campaign of published copies, one supported.
    copies = [_published(body, moderator) for body in COPIES]
    db.session.add(Support(submission_id=copies[0].id, supporter_hash=MARKERS["supporter"]))
    # What the public must not see: a pending, a hidden and a rejected-but-once-published view.
    _send(f"The pier needs shade. {MARKERS['pending']} and more words to make it a view.")
    hidden = _published(f"The footbridge lift is slow. {MARKERS['hidden']} and more words here.", moderator)
    moderation.set_visibility(hidden.id, visibility=Visibility.HIDDEN, actor=moderator, version=hidden.version)
    rejected = _published(f"Cycle lanes should connect. {MARKERS['rejected']} and more words here.", moderator)
    rejected.status = Status.REJECTED  # as a bad migration or a bug could leave it: still never public
    db.session.commit()
    # The sender's own view, followed by its secret link, with a moderator's note in its history.
    receipt = intake.submit(
        intake.NewSubmission(
            body=f"Tram stops need shelters, call {MARKERS['phone']}.",
            language="en",
            topic_area="mobility",
            initiative_id=factories.initiative().id,
            name=MARKERS["name"],
            email=MARKERS["email"],
        )
    )
    tracked = _route(db.session.get(Submission, receipt.submission_id), moderator)
    bureau.send_back(officer, tracked.id, reason=MARKERS["note"])
    db.session.expire_all()
    tracked = db.session.get(Submission, receipt.submission_id)
    moderation.reject(
        tracked.id, reason=RejectionReason.OFF_TOPIC, note=MARKERS["note"], actor=moderator, version=tracked.version
    )
    db.session.commit()
    return {"edited": edited, "copies": copies, "tracking": f"/track/{receipt.reference}/{receipt.tracking_token}"}


def _pages(client, world) -> dict[str, str]:
    initiative = factories.initiative()
    urls = [
        "/",
        f"/areas/{initiative.area_code}",
        "/initiatives",
        "/initiatives?q=bus",
        f"/initiatives/{initiative.code}",
        "/bureaus",
        "/privacy",
        world["tracking"],
        *(f"/views/{sub.reference}" for sub in (world["edited"], *world["copies"])),
    ]
    pages = {}
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        pages[url] = response.get_data(as_text=True)
    form = client.get(f"/initiatives/{initiative.code}/views/new").get_data(as_text=True)
    similar = client.post("/views/similar", data={"text": CAMPAIGN, "csrf_token": csrf_token(form)})
    pages["/views/similar"] = similar.get_data(as_text=True)
    assert world["copies"][-1].reference in pages["/views/similar"]
    return pages


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_public_page_shows_a_private_field_of_a_view(app, client, world, language):
    client.get(f"/language/{language}")
    for url, html in _pages(client, world).items():
        for field, marker in MARKERS.items():
            assert marker not in html, f"{field} shown on {url} ({language})"


def test_the_public_pages_show_the_published_text(app, client, world):
    edited = world["edited"]
    page = client.get(f"/views/{edited.reference}").get_data(as_text=True)
    assert "The minibus stop is unsafe. Call [PHONE]." in page
    assert "yours [PHONE] is masked." in page  # the answer, masked too
    listing = client.get(f"/initiatives/{factories.initiative().code}").get_data(as_text=True)
    assert "The minibus stop is unsafe. Call [PHONE]." in listing


@pytest.mark.parametrize(("language", "token"), [("zh_Hant", "［電話號碼］"), ("zh_Hans", "［电话号码］")])
def test_a_chinese_page_shows_masked_data_in_chinese(app, client, world, language, token):
    client.get(f"/language/{language}")
    edited = world["edited"]
    for url in (f"/views/{edited.reference}", f"/initiatives/{factories.initiative().code}", world["tracking"]):
        html = client.get(url).get_data(as_text=True)
        assert token in html and "[PHONE]" not in html, url


def test_every_kind_of_personal_data_has_a_token_in_each_language(app):
    assert public.MASK_TOKENS.keys() == PLACEHOLDERS.keys()
    with app.test_request_context():
        assert public.mask_tokens() == PLACEHOLDERS  # English keeps the tokens it always had
    for language in ("zh_Hant", "zh_Hans"):
        with app.test_request_context(), force_locale(language):
            tokens = public.mask_tokens()
            for kind, token in tokens.items():
                assert token.startswith("［") and token.endswith("］") and not re.search("[A-Z]", token), (
                    language,
                    kind,
                )


def test_only_published_views_are_projected(app, world):
    with app.test_request_context():
        shown = {v.reference for v in public.views_on(factories.initiative().id, after=None, size=50).items}
        every = db.session.execute(text("SELECT reference, visibility, status FROM submission")).all()
        for reference, visibility, status in every:
            public_view = public.view(reference)
            assert (public_view is not None) == workflow.is_public(visibility, status), reference
            if public_view is None:
                assert reference not in shown


def test_a_campaign_is_listed_once_with_its_copies_and_supporters(app, world):
    copies = world["copies"]
    with app.test_request_context():
        listed = public.views_on(factories.initiative().id, after=None, size=50).items
        campaign = [v for v in listed if v.reference in {c.reference for c in copies}]
    assert [v.reference for v in campaign] == [copies[-1].reference]  # once, at the newest copy
    assert (campaign[0].copies, campaign[0].supporters) == (len(copies), 1)


def test_a_public_view_carries_no_private_field(app, world):
    with app.test_request_context():
        view = public.view(world["edited"].reference)
    fields = set(vars(view))
    assert not fields & {
        "name",
        "email",
        "body",
        "public_text",
        "not_personal",
        "client_hash",
        "tracking_token_hash",
        "form_token_hash",
        "user_id",
        "status",
        "visibility",
        "campaign_id",
        "near_signature",
    }
    assert all(not hasattr(answer, "author_id") for answer in view.answers)
    with pytest.raises(AttributeError):
        view.text = "changed"  # frozen


def test_the_queues_partial_indexes_cover_exactly_what_awaits_review(app):
    """models.py cannot import the workflow (the workflow reads the models), so its partial
    indexes write the set in SQL; it must be the same set, in the same order."""
    from feedback_app.kernel.models import _IN_QUEUE

    statuses = re.fullmatch(r"status IN \((.*)\)", _IN_QUEUE.text).group(1)
    assert [s.strip(" '") for s in statuses.split(",")] == [s.value for s in workflow.AWAITING_REVIEW]


def test_public_templates_mask_nothing_themselves():
    """Masking is the projection's: a public template that masked text itself would be reading a
    row, and the next one to forget the filter would leak."""
    root = Path(__file__).parent.parent / "templates"
    public_templates = [*root.glob("public/*.html"), *root.glob("catalogue/*.html"), root / "intake" / "track.html"]
    assert len(public_templates) > 5
    for template in public_templates:
        source = template.read_text()
        assert "redact" not in source and "published_text" not in source, template.name
        assert "sub." not in source and "sub|" not in source, template.name  # no Submission row named sub


def test_templates_ask_the_workflow_for_its_sets_of_states():
    """A list of statuses written into a template is a copy of a workflow set, waiting to disagree."""
    statuses = "|".join(status.value for status in Status)
    written_out = re.compile(rf"""[\[(]\s*['"]({statuses})['"]\s*,""")
    root = Path(__file__).parent.parent / "templates"
    for template in root.rglob("*.html"):
        assert not written_out.search(template.read_text()), template.name
