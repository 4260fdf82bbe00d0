"""Flags for abuse and spam: reasons a moderator reads, never a deletion; a flagged view is not routed alone."""

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from feedback_app.extensions import db
from feedback_app.kernel.models import AuditEvent, Role, Status, Submission
from feedback_app.text import abuse
from feedback_app.text.abuse import Flag

from . import factories
from .conftest import csrf_token, form_token, shown_at


@pytest.mark.parametrize(
    "text, expected",
    [
        ("The bus on route 960 is always late, please add more buses in the morning.", []),
        ("公立醫院急症室輪候時間太長，希望醫管局改善。", []),
        ("個app成日hang機，唔該快啲整好佢啦", []),
        ("Scunthorpe and Essex residents ask for better cycle tracks; the assessment is overdue.", []),
        ("撚手小菜都冇得食，街市搬咗好唔方便", []),  # an ordinary phrase sharing a character with a vulgar one
        ("This fucking bus is late again", [Flag.ABUSIVE_LANGUAGE]),
        ("Those officials are a bunch of BASTARDS", [Flag.ABUSIVE_LANGUAGE]),
        ("班巴士又遲到，仆街", [Flag.ABUSIVE_LANGUAGE]),
        ("屌你老母，又冇車", [Flag.ABUSIVE_LANGUAGE]),
        ("政府on9", [Flag.ABUSIVE_LANGUAGE]),
        ("呢個fucking政府", [Flag.ABUSIVE_LANGUAGE]),
        ("傻逼政府", [Flag.ABUSIVE_LANGUAGE]),
        ("Cheap watches http://shop.example/a http://shop.example/b http://shop.example/c", [Flag.LINK_SPAM]),
        ("www.cheap-watches.example", [Flag.LINK_SPAM]),
        (
            "The Transport Department's page https://www.td.gov.hk/ says the new timetable starts next month, "
            "but the stop still shows the old one.",
            [],
        ),
        ("asdfghjklqwrtzxcvbnm", [Flag.GIBBERISH]),
        ("aaaaaaaaaaaaaaaaaaaaaaa", [Flag.GIBBERISH]),
        ("asdasdasdasdasdasdasd", [Flag.GIBBERISH]),
        # Laughter and stretched words inside a real view are how people write, not gibberish...
        ("政府終於肯加密960號巴士班次，哈哈哈哈哈哈哈哈，多謝晒！", []),
        ("The new MTR app is soooooooooo good, I can finally see when the next train is coming.", []),
        # ...but they still are when there is little else.
        ("哈哈哈哈哈哈哈哈", [Flag.GIBBERISH]),
        ("aaaaaaaaaaaaaaaaaaaa", [Flag.GIBBERISH]),
        ("好正呀哈哈哈哈哈哈哈哈哈哈哈哈哈哈哈哈", [Flag.GIBBERISH]),
        ("soooooooooo good!!!", [Flag.GIBBERISH]),
        ("asdfghjklqwrtzxcvbnm please", [Flag.GIBBERISH]),
        ("qwrtzxcvbnmlkjh sdfghjklzxcvbnm bus", [Flag.GIBBERISH]),
    ],
)
def test_flags_name_the_reason(text, expected):
    assert abuse.flags_for(text) == expected


def test_a_flagged_view_is_stored_and_waits_for_a_moderator_whatever_the_classifier_says(app):
    sub = factories.submission(factories.TRANSPORT_VIEW + " These fucking buses!")
    assert sub.status == Status.NEEDS_REVIEW and abuse.parse(sub.flags) == ["abusive_language"]
    event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "queued_for_review")).scalar_one()
    assert event.reason == "flagged for a moderator"
    assert factories.submission().status == Status.ROUTED  # the same view unflagged is routed


def test_moderators_see_the_flag_and_filter_on_it_in_their_language(app, client, login_as):
    flagged = factories.submission(factories.TRANSPORT_VIEW + " http://a.example http://b.example http://c.example")
    app.config["ROUTING_BUREAU_THRESHOLD"] = 1.01
    plain = factories.submission()
    login_as(factories.user(Role.MODERATOR))
    page = client.get("/moderation/queue?flag=link_spam", headers={"Accept-Language": "zh-HK"}).get_data(as_text=True)
    assert flagged.reference in page and plain.reference not in page
    assert "link_spam" not in page.split("<table", 1)[1].split("</table>", 1)[0]  # named, not coded
    everything = client.get("/moderation/queue").get_data(as_text=True)
    assert flagged.reference in everything and plain.reference in everything and "Links, like spam" in everything
    item = client.get(f"/moderation/submissions/{flagged.id}").get_data(as_text=True)
    assert "Links, like spam" in item and "never routed without a moderator" in item
    unknown = client.get("/moderation/queue?flag=no_such_flag")
    assert unknown.status_code == 400 and "Not a valid choice" in unknown.get_data(as_text=True)


SENDER = "203.0.113.7"
NEIGHBOUR = "198.51.100.20"


def _send_from(client, address, body):
    """A resident at `address` opens the form on an initiative and sends `body`; the stored view."""
    initiative = factories.initiative()
    url, sender = f"/initiatives/{initiative.code}/views/new", {"REMOTE_ADDR": address}
    html = client.get(url, environ_base=sender).get_data(as_text=True)
    response = client.post(
        url,
        environ_base=sender,
        data={
            "csrf_token": csrf_token(html),
            "form_token": form_token(html),
            "shown_at": shown_at(html),
            "initiative": initiative.code,
            "body": body,
        },
    )
    assert response.status_code == 302, response.status_code  # to the tracking page: stored
    return db.session.execute(select(Submission).order_by(Submission.id.desc()).limit(1)).scalar_one()


def _views(n, start=0):
    return [f"{factories.TRANSPORT_VIEW} (Sent on day {k}.)" for k in range(start, start + n)]


def test_the_fifth_view_from_one_address_within_the_hour_is_flagged_and_waits_for_a_moderator(app, client, login_as):
    first_four = [_send_from(client, SENDER, body) for body in _views(4)]
    assert all(sub.flags == "" and sub.status == Status.ROUTED for sub in first_four)
    fifth = _send_from(client, SENDER, _views(1, start=4)[0])
    assert abuse.parse(fifth.flags) == ["repeated_posting"] and fifth.status == Status.NEEDS_REVIEW
    assert fifth.bureau_code is None
    event = db.session.execute(
        select(AuditEvent).where(AuditEvent.submission_id == fifth.id, AuditEvent.action == "queued_for_review")
    ).scalar_one()
    assert event.reason == "flagged for a moderator"
    sixth = _send_from(client, SENDER, _views(1, start=5)[0])
    assert abuse.parse(sixth.flags) == ["repeated_posting"]
    # The views before the line are left as they were.
    for sub in first_four:
        db.session.refresh(sub)
        assert sub.flags == "" and sub.status == Status.ROUTED
    # Someone else, at the same time, is not held back by it.
    neighbour = _send_from(client, NEIGHBOUR, _views(1, start=6)[0])
    assert neighbour.flags == "" and neighbour.status == Status.ROUTED
    # Moderators find the flagged views by that reason, named in their words.
    login_as(factories.user(Role.MODERATOR))
    page = client.get("/moderation/queue?flag=repeated_posting").get_data(as_text=True)
    assert fifth.reference in page and sixth.reference in page and neighbour.reference not in page
    assert "Many views from one network address" in page


def test_views_sent_before_the_window_do_not_count(app, client):
    earlier = [_send_from(client, SENDER, body) for body in _views(4)]
    window = timedelta(minutes=app.config["REPEATED_POSTING_WINDOW_MINUTES"])
    db.session.execute(
        update(Submission)
        .where(Submission.id.in_([s.id for s in earlier]))
        .values(created_at=earlier[-1].created_at - window - timedelta(minutes=1))
    )
    db.session.commit()
    assert _send_from(client, SENDER, _views(1, start=4)[0]).flags == ""


def test_the_threshold_and_window_are_settings(app, client):
    app.config["REPEATED_POSTING_COUNT"] = 2
    assert _send_from(client, SENDER, _views(1)[0]).flags == ""
    assert abuse.parse(_send_from(client, SENDER, _views(1, start=1)[0]).flags) == ["repeated_posting"]


def test_the_stored_client_hash_is_keyed_and_is_not_the_address(app, client):
    sub = _send_from(client, SENDER, _views(1)[0])
    again = _send_from(client, SENDER, _views(1, start=1)[0])
    other = _send_from(client, NEIGHBOUR, _views(1, start=2)[0])
    assert len(sub.client_hash) == 32 and int(sub.client_hash, 16) >= 0
    assert sub.client_hash == again.client_hash != other.client_hash
    assert sub.client_hash == abuse.client_hash(SENDER, app.secret_key)
    assert sub.client_hash != abuse.client_hash(SENDER, "another key")  # not a plain hash of it
    row = db.session.execute(select(Submission.__table__).where(Submission.id == sub.id)).one()
    assert not any(SENDER in str(value) for value in row)


def test_views_without_a_client_address_are_never_counted(app):
    views = [factories.submission(body) for body in _views(6)]
    assert all(sub.client_hash is None and sub.flags == "" for sub in views)
    assert abuse.client_hash(None, "key") is None and abuse.client_hash("", "key") is None
