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
from feedback_app.kernel.models import (
    Answer,
    OfficialContact,
    RejectionReason,
    Role,
    Status,
    Submission,
    Support,
    Visibility,
)
from feedback_app.moderation import services as moderation
from feedback_app.text import markup
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
    "answer_email": "chan.taiman.marker@gmail.com",
}
# A bureau's published hotline (fictional): its answers show it as written.
OFFICIAL_HOTLINE = "+852 2999 0000"
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


def _published(body: str, moderator) -> Submission:
    return factories.published(factories.routed(_send(body), moderator), moderator)


def _answer(officer, sub_id: int, english: str) -> None:
    # The bureau's service takes the answer's languages (AnswerText) since the bureau workspace;
    # a plain string before it.
    answer_text = getattr(bureau, "AnswerText", None)
    bureau.answer(officer, sub_id, answer_text(english, None) if answer_text else english)


@pytest.fixture
def world(app, moderator):
    """Published views of every kind beside views the public must never see."""
    app.config["CAMPAIGNS"] = True  # campaigns and suggestions need the near-copy keys
    officer = _staff(Role.OFFICER, MARKERS["officer"], email=MARKERS["officer_email"], bureau_code="TLB")
    # A view a moderator edited: the text as sent holds a marker the edit left out.
    edited = factories.routed(
        _send(f"The minibus stop is unsafe. {MARKERS['sent']} Call {MARKERS['phone']}."), moderator
    )
    moderation.edit_public_text(
        edited.id, text=f"The minibus stop is unsafe. Call {MARKERS['phone']}.", actor=moderator, version=edited.version
    )
    edited = factories.published(edited, moderator)
    db.session.add(OfficialContact(bureau_code="TLB", value=OFFICIAL_HOTLINE, label_en="Enquiry line"))
    db.session.commit()
    _answer(
        officer,
        edited.id,
        f"We will check the stop. Call us on 2999-0000, yours {MARKERS['phone']} is masked. "
        f"[Write to us](mailto:{MARKERS['answer_email']}) if you are Mr Chan Tai-man.",
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
    tracked = factories.routed(db.session.get(Submission, receipt.submission_id), moderator)
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
    assert "Call us on 2999-0000," in page  # but for the bureau's official contact
    assert "[Write to us](mailto:[EMAIL]) if you are [NAME]." in page  # a masked address is no link
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


# --- answers: Markdown, languages, masking beside official contacts ---------------------------------

# Fictional contacts of the answering bureau (TLB) and of another one (HB).
HOTLINE_DIGITS = "29990000"
OTHER_BUREAUS_HOTLINE = "+852 2888 0000"


@pytest.fixture
def contacts(app):
    db.session.add_all(
        [
            OfficialContact(bureau_code="TLB", value=OFFICIAL_HOTLINE, label_en="Enquiry line"),
            OfficialContact(bureau_code="TLB", value="enquiry@example.gov.hk"),
            OfficialContact(bureau_code="HB", value=OTHER_BUREAUS_HOTLINE),
        ]
    )
    db.session.commit()


def _preview(app, body: str, *, translation: str | None = None, language: str = "en", bureau_code: str = "TLB"):
    with app.test_request_context():
        return public.answer_preview(body, translation, language, bureau_code)


OFFICIAL_SPELLINGS = [
    "2999 0000",
    "29990000",
    "2999-0000",
    "2999.0000",
    "+852 2999 0000",
    "+85229990000",
    "(852) 2999 0000",
    "852-2999-0000",
    "00852 2999 0000",
    "+852-2999-0000",
    "２９９９ ００００",
]
RESIDENT_SPELLINGS = ["9123 4567", "91234567", "+852 9123 4567", "(852) 9123-4567", "2345 6789", "+852 23456789"]


@pytest.mark.parametrize("spelling", OFFICIAL_SPELLINGS)
def test_the_bureaus_official_number_is_shown_in_any_spelling(app, contacts, spelling):
    body = f"Please call us on {spelling} for details."
    [part] = _preview(app, body).parts
    assert f"<p>Please call us on {spelling} for details.</p>" == str(part.html)
    # The same text from a bureau without this contact: a number like any other, masked.
    [other] = _preview(app, body, bureau_code="HB").parts
    assert str(other.html) == "<p>Please call us on [PHONE] for details.</p>"


@pytest.mark.parametrize("spelling", RESIDENT_SPELLINGS)
def test_a_residents_number_beside_the_official_one_is_masked(app, contacts, spelling):
    body = f"Call us on {OFFICIAL_HOTLINE}. You gave {spelling} and chan.taiman@gmail.com: we will not call it."
    html = str(_preview(app, body).parts[0].html)
    assert OFFICIAL_HOTLINE in html
    assert spelling not in html and "gmail" not in html
    assert html.count("[PHONE]") == 1 and "[EMAIL]" in html


def test_another_bureaus_contact_is_not_this_ones(app, contacts):
    html = str(_preview(app, f"The other bureau answers on {OTHER_BUREAUS_HOTLINE}.").parts[0].html)
    assert "2888" not in html and "[PHONE]" in html


def test_a_government_address_stays_and_a_residents_is_masked_even_in_a_link(app, contacts):
    body = (
        "Write to [our office](mailto:enquiry@example.gov.hk) or <enquiry@example.gov.hk>; "
        "[call](tel:+85229990000). Not [this](mailto:chan.taiman@gmail.com), nor <tel:91234567>."
    )
    html = str(_preview(app, body).parts[0].html)
    assert '<a href="mailto:enquiry@example.gov.hk" rel="nofollow ugc noopener">our office</a>' in html
    assert '<a href="tel:+85229990000" rel="nofollow ugc noopener">call</a>' in html
    assert "gmail" not in html and "91234567" not in html
    assert html.count("<a ") == 3  # the masked ones are text, not links to "[EMAIL]"


def test_removing_a_contact_masks_it_again(app, contacts):
    body = f"Call us on {OFFICIAL_HOTLINE}."
    assert OFFICIAL_HOTLINE in str(_preview(app, body).parts[0].html)
    db.session.execute(OfficialContact.__table__.delete().where(OfficialContact.bureau_code == "TLB"))
    db.session.commit()
    assert str(_preview(app, body).parts[0].html) == "<p>Call us on [PHONE].</p>"


def test_official_contact_keys(app):
    key = public.official_contact_key
    assert {key(s) for s in OFFICIAL_SPELLINGS} == {"tel:" + HOTLINE_DIGITS}
    assert key("800 900 123") == "tel:800900123"
    assert key("Enquiry@Example.GOV.HK") == key("enquiry@example.gov.hk") == "mail:enquiry@example.gov.hk"
    for not_official in ("1234 5678", "2999 000", "someone@gmail.com", "x@evilgov.hk", "call 29990000", ""):
        assert key(not_official) is None, not_official


def test_the_preview_is_the_published_answer_with_the_readers_language_first(app, contacts):
    body, translation = "# Our plan\n\nWe will **add** buses.", "我們會**增加**巴士班次。"
    with app.test_request_context():
        english_first = public.answer_preview(body, translation, "en", "TLB")
    assert [p.language for p in english_first.parts] == ["en", "zh"]
    assert str(english_first.parts[0].html) == "<h4>Our plan</h4>\n<p>We will <strong>add</strong> buses.</p>"
    assert str(english_first.parts[1].html) == "<p>我們會<strong>增加</strong>巴士班次。</p>"
    for language in ("zh_Hant", "zh_Hans"):
        with app.test_request_context(), force_locale(language):
            chinese_first = public.answer_preview(body, translation, "en", "TLB")
        assert [p.language for p in chinese_first.parts] == ["zh", "en"], language
    # Written in Chinese only: one part.
    assert [p.language for p in _preview(app, translation, language="zh").parts] == ["zh"]


def test_the_preview_refuses_a_markdown_bomb_and_says_why(app):
    with pytest.raises(markup.MarkupTooLarge):
        _preview(app, ">" * 10_000)
    with app.test_request_context():
        assert public.answer_problems("fine", ">" * 10_000) == [
            "Quotes and lists are nested too deeply in the answer: at most 8 levels."
        ]
        assert public.answer_problems("fine", None) == []
    with app.test_request_context(), force_locale("zh_Hant"):
        [message] = public.answer_problems("x" * 20_001)
        assert "20,000" in message and not re.search("[a-z]{3}", message)


def test_public_pages_show_each_language_of_an_answer_with_its_lang(app, client, moderator, contacts):
    officer = _staff(Role.OFFICER, "Answering Officer", bureau_code="TLB")
    sub = _published("The minibus stop at the pier has no shelter and floods when it rains.", moderator)
    db.session.add_all(
        [
            Answer(
                submission_id=sub.id,
                bureau_code="TLB",
                author_id=officer.id,
                language="en",
                body=f"## Shelter\n\nWe will build one. Call us on {OFFICIAL_HOTLINE}; "
                f"not {MARKERS['phone']}. See [the plan](https://www.example.gov.hk/plan).",
                translation=f"我們會興建上蓋。請致電 {OFFICIAL_HOTLINE}，而非 {MARKERS['phone']}。",
            ),
            # Stored before the limits existed: shown as plain paragraphs, never an error.
            Answer(submission_id=sub.id, bureau_code="TLB", author_id=officer.id, language="zh", body=">" * 10_000),
        ]
    )
    db.session.commit()
    page = client.get(f"/views/{sub.reference}").get_data(as_text=True)
    english = page.index('<div class="answer-text" lang="en">')
    chinese = page.index('<div class="answer-text" lang="zh-Hant-HK">')
    assert english < chinese  # the reader's language first
    assert "<h5>Shelter</h5>" in page  # under the page's h3 "Answer from ..."
    assert '<a href="https://www.example.gov.hk/plan" rel="nofollow ugc noopener">the plan</a>' in page
    assert page.count(OFFICIAL_HOTLINE) == 2 and MARKERS["phone"] not in page
    assert "&gt;" * 100 in page  # the oversized one, as text
    client.get("/language/zh_Hant")
    page = client.get(f"/views/{sub.reference}").get_data(as_text=True)
    assert page.index('<div class="answer-text" lang="zh-Hant-HK"><p>我們會') < page.index(
        '<div class="answer-text" lang="en">'
    )
    assert "［電話號碼］" in page and "[PHONE]" not in page
    listing = client.get(f"/initiatives/{factories.initiative().code}").get_data(as_text=True)
    assert "我們會興建上蓋" in listing and MARKERS["phone"] not in listing
