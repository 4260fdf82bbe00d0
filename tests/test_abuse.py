"""Flags for abuse and spam: reasons a moderator reads, never a deletion; a flagged view is not routed alone."""
import pytest
from sqlalchemy import select

from feedback_app import abuse
from feedback_app.abuse import Flag
from feedback_app.extensions import db
from feedback_app.models import AuditEvent, Role, Status

from . import factories


@pytest.mark.parametrize("text, expected", [
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
    ("The Transport Department's page https://www.td.gov.hk/ says the new timetable starts next month, "
     "but the stop still shows the old one.", []),
    ("asdfghjklqwrtzxcvbnm", [Flag.GIBBERISH]),
    ("aaaaaaaaaaaaaaaaaaaaaaa", [Flag.GIBBERISH]),
    ("asdasdasdasdasdasdasd", [Flag.GIBBERISH]),
])
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
