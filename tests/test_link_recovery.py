"""A lost tracking link: mailed to the view's own address when the reference and address match,
with a page that reads the same whether or not they do; limited per client and per reference."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from feedback_app.extensions import db
from feedback_app.intake import services as intake
from feedback_app.kernel.models import OutboxMessage, Submission

from . import factories
from .conftest import RequestIsolatedClient, csrf_token, make_app

PAGE = "/lost-tracking-link"
LINK_RE = re.compile(r"http://127\.0\.0\.1:5000(/track/[^\s\"<>]+)")
CSRF_VALUE_RE = re.compile(r'(name="csrf_token" type="hidden" value=")[^"]+(")')


def _view(email="chan@example.org", language="en") -> Submission:
    init = factories.initiative()
    receipt = intake.submit(
        intake.NewSubmission(
            body=factories.TRANSPORT_VIEW,
            language=language,
            topic_area=init.area_code,
            initiative_id=init.id,
            email=email,
        )
    )
    return db.session.get(Submission, receipt.submission_id)


def _ask(client, reference, email, **kwargs):
    page = client.get(PAGE, **kwargs)
    assert page.status_code == 200
    data = {"csrf_token": csrf_token(page.get_data(as_text=True)), "reference": reference, "email": email}
    return client.post(PAGE, data=data, **kwargs)


def _without_token(html: str) -> str:
    return CSRF_VALUE_RE.sub(r"\1\2", html)


def _recoveries() -> list[OutboxMessage]:
    return list(db.session.execute(select(OutboxMessage).where(OutboxMessage.kind == "link_recovery")).scalars())


def test_the_link_is_mailed_to_the_views_address_when_reference_and_address_match(client, mail_server):
    sub = _view()
    mail_server.clear()  # the receipt
    # Typed as people type: another case, spaces around, a lowercase reference.
    response = _ask(client, f" {sub.reference.lower()} ", "  Chan@Example.ORG ")
    assert response.status_code == 200
    assert "If this reference and address match a view, we have sent its tracking link" in response.get_data(
        as_text=True
    )
    [message] = mail_server.to("chan@example.org")
    assert message["Subject"] == f"Your tracking link for {sub.reference}"
    [link] = {link for link in LINK_RE.findall(message.get_body(("plain",)).get_content())}
    tracking = client.get(link)
    assert tracking.status_code == 200 and sub.reference in tracking.get_data(as_text=True)
    assert link in message.get_body(("html",)).get_content()
    [row] = _recoveries()
    assert row.submission_id == sub.id and row.recipient == "chan@example.org"


def test_the_message_is_in_the_language_the_view_was_sent_in(client, mail_server):
    sub = _view(language="zh_Hant")
    mail_server.clear()
    _ask(client, sub.reference, "chan@example.org")
    [message] = mail_server.to("chan@example.org")
    assert message["Content-Language"] == "zh-Hant-HK"
    assert sub.reference in message["Subject"] and "追蹤連結" in message["Subject"]


def test_nothing_is_sent_when_they_do_not_match_and_the_page_is_the_same(client, mail_server):
    sub = _view()
    _view(email=None)  # a view sent without an address
    no_address = db.session.execute(select(Submission).where(Submission.email.is_(None))).scalar_one()
    mail_server.clear()
    matched = _ask(client, sub.reference, "chan@example.org")
    assert len(mail_server.messages) == 1
    mail_server.clear()
    for reference, email in [
        (sub.reference, "someone.else@example.org"),  # the wrong address
        ("SCF-2026-999999", "chan@example.org"),  # no such view
        (no_address.reference, "chan@example.org"),  # a view with no address
    ]:
        refused = _ask(client, reference, email)
        assert refused.status_code == matched.status_code == 200
        assert _without_token(refused.get_data(as_text=True)) == _without_token(matched.get_data(as_text=True))
        assert refused.headers["Cache-Control"] == matched.headers["Cache-Control"]
    assert mail_server.messages == []
    assert len(_recoveries()) == 1


def test_an_address_that_unsubscribed_still_gets_the_link_it_asks_for(client, mail_server):
    from feedback_app.intake import services as intake_services

    sub = _view()
    [receipt] = mail_server.messages
    link = receipt["List-Unsubscribe"].strip("<>").replace("http://127.0.0.1:5000", "")
    message_id, token = link.rsplit("/", 2)[-2:]
    assert intake_services.unsubscribe(int(message_id), token)
    mail_server.clear()
    _ask(client, sub.reference, "chan@example.org")
    assert len(mail_server.to("chan@example.org")) == 1


@pytest.mark.parametrize(
    "reference, email, error",
    [
        ("SCF-26-1", "chan@example.org", "A reference looks like SCF-2026-000123"),
        ("", "chan@example.org", "Please type the reference of your view."),
        ("SCF-2026-000001", "not an address", "This does not look like an e-mail address"),
        ("SCF-2026-000001", "", "Please type the e-mail address you gave with the view."),
    ],
)
def test_bad_input_is_a_form_error_with_the_text_kept(client, mail_server, reference, email, error):
    response = _ask(client, reference, email)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert error in html and 'class="error-summary"' in html
    if reference:
        assert f'value="{reference}"' in html
    if email:
        assert f'value="{email}"' in html
    assert "we have sent its tracking link" not in html
    assert mail_server.messages == []


# --- Limits (off in the tests by default: an app of their own) ---------------------------------


def _limited(app, **overrides):
    limited = make_app(app.config["SQLALCHEMY_DATABASE_URI"], RATELIMIT_ENABLED=True, **overrides)
    limited.test_client_class = RequestIsolatedClient
    return limited


def test_one_client_is_limited_and_shown_the_form_again_with_its_text(app, mail_server):
    limited = _limited(app, LINK_RECOVERY_RATE_LIMIT="2 per hour")
    subs = [_view(email=f"r{i}@example.org") for i in range(3)]
    client = limited.test_client()
    # A mistyped form does not count.
    assert _ask(client, "SCF-nonsense", "r0@example.org").status_code == 400
    for sub in subs[:2]:
        assert _ask(client, sub.reference, sub.email).status_code == 200
    refused = _ask(client, subs[2].reference, "r2@example.org")
    html = refused.get_data(as_text=True)
    assert refused.status_code == 429
    assert "Too many requests for a tracking link" in html
    assert f'value="{subs[2].reference}"' in html and 'value="r2@example.org"' in html
    assert "we have sent its tracking link" not in html
    assert len(_recoveries()) == 2
    # Another client is not held back by this one.
    other = {"environ_base": {"REMOTE_ADDR": "192.0.2.7"}}
    assert _ask(client, subs[2].reference, "r2@example.org", **other).status_code == 200
    assert len(_recoveries()) == 3


def test_one_reference_is_limited_whoever_asks(app, mail_server):
    limited = _limited(app, LINK_RECOVERY_RATE_LIMIT="100 per hour")
    sub = _view()
    client = limited.test_client()
    for i in range(3):
        response = _ask(client, sub.reference, "chan@example.org", environ_base={"REMOTE_ADDR": f"192.0.2.{i + 1}"})
        assert response.status_code == 200
    refused = _ask(client, sub.reference.lower(), "chan@example.org", environ_base={"REMOTE_ADDR": "198.51.100.9"})
    assert refused.status_code == 429
    assert "Too many requests for a tracking link" in refused.get_data(as_text=True)
    # Other references are still answered.
    other = _view(email="other@example.org")
    assert _ask(client, other.reference, "other@example.org").status_code == 200


def test_the_request_does_the_same_work_whether_or_not_they_match(client, mail_server, monkeypatch):
    """The page's own request only hands the question to a worker: one task either way, with the
    reference and a keyed hash of the address (never the address), and nothing read or written."""
    from feedback_app.intake import recovery

    sub = _view()
    queued = []
    monkeypatch.setattr(recovery, "enqueue", lambda name, *args: queued.append((name, *args)) or True)
    _ask(client, sub.reference, "chan@example.org")
    _ask(client, sub.reference, "someone.else@example.org")
    assert [name for name, *_ in queued] == ["intake.recover_link"] * 2
    assert all("@" not in arg for _, *args in queued for arg in args)
    assert _recoveries() == []
    # The worker runs them: only the match writes a message.
    assert [recovery.send_link(*args) for _, *args in queued] == [True, False]
    assert len(_recoveries()) == 1


def test_with_the_queue_down_the_link_is_still_sent(client, mail_server, monkeypatch):
    from feedback_app.intake import recovery

    sub = _view()
    mail_server.clear()
    monkeypatch.setattr(recovery, "enqueue", lambda name, *args: False)
    assert _ask(client, sub.reference, "chan@example.org").status_code == 200
    assert len(mail_server.to("chan@example.org")) == 1
