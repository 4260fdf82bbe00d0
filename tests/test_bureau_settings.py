"""The administrators' bureau settings: each bureau's answer target (due dates follow it, in Hong
Kong working days) and its official contacts; who may change them, what is refused, the audit,
and `flask bureau deadlines`."""

from __future__ import annotations

from datetime import UTC, date, datetime

import holidays
import pytest
from sqlalchemy import select, update

from feedback_app.admin import services as settings
from feedback_app.extensions import db
from feedback_app.kernel import deadlines
from feedback_app.kernel.models import AuditAction, AuditEvent, Bureau, OfficialContact, Role, Status, Submission
from feedback_app.moderation import services as moderation

from . import factories

# Fictional numbers and addresses only: no real bureau's contacts are written here.
HOTLINE = "+852 2999 0000"
MAILBOX = "enquiry@example.gov.hk"


@pytest.fixture
def admin(app):
    return factories.user(Role.ADMIN, email="settings.admin@example.org")


@pytest.fixture
def as_admin(admin, login_as, browser):
    login_as(admin)
    return browser


def text(response) -> str:
    return response.get_data(as_text=True)


def _routed(bureau: str, moderator, *, routed_at: datetime, status: Status = Status.ROUTED) -> Submission:
    sub = factories.submission()
    moderation.route(sub.id, area=sub.topic_area_code, bureau=bureau, actor=moderator, version=sub.version)
    db.session.execute(update(Submission).where(Submission.id == sub.id).values(routed_at=routed_at, status=status))
    db.session.commit()
    return sub


def _due(sub: Submission) -> datetime | None:
    db.session.expire_all()
    return db.session.get(Submission, sub.id).due_at


def _events(action: AuditAction) -> list[AuditEvent]:
    return list(db.session.execute(select(AuditEvent).where(AuditEvent.action == action)).scalars())


# --- the calendar ---------------------------------------------------------------------------------


def test_christmas_2026_in_the_hong_kong_calendar():
    """The calendar the deadlines use, checked rather than assumed: in 2026 Christmas Day is a
    Friday and "the first weekday after Christmas Day" is Saturday 26 December (Saturday is a
    weekday in the General Holidays Ordinance), so Monday 28 December is a working day."""
    hk = holidays.country_holidays("HK", years=2026)
    assert date(2026, 12, 25) in hk and date(2026, 12, 26) in hk
    assert date(2026, 12, 28) not in hk and date(2026, 12, 24) not in hk
    assert not deadlines.is_working_day(date(2026, 12, 25))
    assert deadlines.is_working_day(date(2026, 12, 28))
    # Routed on Wednesday 23 December: 24 (1), [25 holiday, 26 holiday and Saturday, 27 Sunday],
    # 28 (2), 29 (3).
    routed = datetime(2026, 12, 23, 10, 0, tzinfo=deadlines.HONG_KONG)
    assert deadlines.due_at(routed, 3) == datetime(2026, 12, 29, 23, 59, 59, tzinfo=deadlines.HONG_KONG)
    # Late in the Hong Kong evening is still the 23rd there, though the 23rd's afternoon in UTC.
    late = datetime(2026, 12, 23, 15, 30, tzinfo=UTC)  # 23:30 in Hong Kong
    assert deadlines.due_at(late, 3) == deadlines.due_at(routed, 3)
    # Chinese New Year 2027 (6-8 February after the eve): ten working days stretch over it.
    assert deadlines.add_working_days(date(2027, 2, 4), 2) == date(2027, 2, 10)


# --- who may come in --------------------------------------------------------------------------------


def test_only_administrators_reach_the_bureau_settings(app, client, browser, login_as, moderator, officer):
    assert client.get("/admin/bureaus").status_code == 302  # to sign-in
    login_as(officer)
    assert client.get("/admin/bureaus").status_code == 403
    assert client.get("/admin/bureaus/TLB").status_code == 403
    page = client.get("/")
    assert client.post("/admin/bureaus/TLB/target", data={"days": "3"}).status_code in (400, 403)
    assert db.session.get(Bureau, "TLB").answer_target_days == deadlines.DEFAULT_TARGET_DAYS
    assert page.status_code == 200
    browser.logout()
    login_as(moderator)
    assert client.get("/admin/bureaus/TLB").status_code == 403


def test_unknown_bureaus_and_contacts_are_404(app, as_admin):
    assert as_admin.client.get("/admin/bureaus/NOPE").status_code == 404
    assert as_admin.client.get("/admin/bureaus/" + "X" * 300).status_code == 404
    contact = _add(as_admin, "HB", "2345 6789")
    assert contact is not None
    # Removing HB's contact through TLB's page: no such contact there.
    response = as_admin.submit_form(
        "/admin/bureaus/TLB", {}, action=f"/admin/bureaus/TLB/contacts/{contact.id}/remove", follow_redirects=False
    )
    assert response.status_code == 404
    assert db.session.get(OfficialContact, contact.id) is not None
    response = as_admin.submit_form(
        "/admin/bureaus/TLB", {}, action="/admin/bureaus/TLB/contacts/99999999999/remove", follow_redirects=False
    )
    assert response.status_code == 404


# --- the list ---------------------------------------------------------------------------------------


def test_the_list_shows_every_bureau_with_its_target_and_contacts(app, as_admin):
    _add(as_admin, "TLB", HOTLINE)
    page = text(as_admin.client.get("/admin/bureaus"))
    bureaus = db.session.execute(select(Bureau)).scalars().all()
    assert len(bureaus) == 15
    for bureau in bureaus:
        assert f'href="/admin/bureaus/{bureau.code}"' in page
    assert page.count("10 working days") == 15
    assert HOTLINE in page
    assert 'href="/admin/bureaus" aria-current="page">Bureau settings</a>' in page  # in the admin tabs
    assert 'href="/admin/bureaus" >Bureau settings</a>' in text(as_admin.client.get("/admin/users"))


# --- the answer target --------------------------------------------------------------------------------


def test_a_new_target_moves_the_due_dates_of_views_awaiting_an_answer(app, as_admin, admin, moderator):
    routed_at = datetime(2026, 12, 23, 2, 0, tzinfo=UTC)  # 10:00 in Hong Kong
    waiting = _routed("TLB", moderator, routed_at=routed_at)
    in_progress = _routed("TLB", moderator, routed_at=routed_at, status=Status.IN_PROGRESS)
    answered = _routed("TLB", moderator, routed_at=routed_at, status=Status.ANSWERED)
    elsewhere = _routed("HB", moderator, routed_at=routed_at)
    for sub in (waiting, in_progress, answered, elsewhere):
        db.session.execute(
            update(Submission).where(Submission.id == sub.id).values(due_at=deadlines.due_at(routed_at, 10))
        )
    db.session.commit()
    before = {sub.id: _due(sub) for sub in (answered, elsewhere)}

    response = as_admin.submit_form("/admin/bureaus/TLB", {"days": "3"}, action="/admin/bureaus/TLB/target")
    assert response.status_code == 200 and response.request.path == "/admin/bureaus/TLB"
    page = text(response)
    assert "The due dates of 2 views awaiting an answer were recomputed." in page
    assert db.session.get(Bureau, "TLB").answer_target_days == 3

    expected = datetime(2026, 12, 29, 15, 59, 59, tzinfo=UTC)  # 29 Dec 23:59:59 in Hong Kong (see above)
    assert _due(waiting) == expected and _due(in_progress) == expected
    assert _due(answered) == before[answered.id]  # answered: its due date is history
    assert _due(elsewhere) == before[elsewhere.id]  # another bureau's target
    # A view routed to the bureau from now on gets the new target too.
    new = factories.submission()
    moderation.route(new.id, area=new.topic_area_code, bureau="TLB", actor=moderator, version=new.version)
    db.session.expire_all()
    new = db.session.get(Submission, new.id)
    assert new.due_at == deadlines.due_at(new.routed_at, 3)

    [event] = _events(AuditAction.ANSWER_TARGET_CHANGED)
    assert event.actor_id == admin.id
    assert event.before == {"bureau": "TLB", "answer_target_days": 10}
    assert event.after == {"bureau": "TLB", "answer_target_days": 3, "due_dates_recomputed": 2}
    assert "Answer target changed from 10 to 3 working days; due dates recomputed: 2." in page


def test_the_same_target_again_changes_nothing(app, as_admin):
    response = as_admin.submit_form("/admin/bureaus/TLB", {"days": "10"}, action="/admin/bureaus/TLB/target")
    assert response.status_code == 200
    assert _events(AuditAction.ANSWER_TARGET_CHANGED) == []


@pytest.mark.parametrize("days", ["0", "61", "-3", "abc", "", "2.5", "1e3", "99999999999999999999"])
def test_a_target_outside_one_to_sixty_working_days_is_a_form_error(app, as_admin, days):
    response = as_admin.submit_form("/admin/bureaus/TLB", {"days": days}, action="/admin/bureaus/TLB/target")
    assert response.status_code == 400
    page = text(response)
    assert 'aria-invalid="true"' in page and 'id="days-error"' in page
    assert db.session.get(Bureau, "TLB").answer_target_days == 10
    assert _events(AuditAction.ANSWER_TARGET_CHANGED) == []


def test_the_service_refuses_a_target_out_of_range_too(app, admin):
    for days in (0, 61):
        with pytest.raises(settings.SettingsError) as refused:
            settings.set_answer_target("TLB", days, actor=admin)
        assert refused.value.field == "days"
    with pytest.raises(LookupError):
        settings.set_answer_target("NOPE", 5, actor=admin)


# --- official contacts ---------------------------------------------------------------------------------


def _add(browser, code: str, value: str, **labels) -> OfficialContact | None:
    response = browser.submit_form(
        f"/admin/bureaus/{code}", {"value": value, **labels}, action=f"/admin/bureaus/{code}/contacts"
    )
    if response.status_code != 200:
        return None
    return db.session.execute(
        select(OfficialContact).where(OfficialContact.bureau_code == code).order_by(OfficialContact.id.desc())
    ).scalar()


def test_an_admin_adds_and_removes_official_contacts(app, as_admin, admin):
    hotline = _add(as_admin, "TLB", HOTLINE, label_en="Enquiry hotline", label_zh="查詢熱線")
    mailbox = _add(as_admin, "TLB", MAILBOX)
    hotline_id = hotline.id
    assert (hotline.value, hotline.label_en, hotline.label_zh) == (HOTLINE, "Enquiry hotline", "查詢熱線")
    assert mailbox.value == MAILBOX and mailbox.label_en is None
    page = text(as_admin.client.get("/admin/bureaus/TLB"))
    assert HOTLINE in page and MAILBOX in page and '<span lang="zh-Hant">查詢熱線</span>' in page

    response = as_admin.submit_form("/admin/bureaus/TLB", {}, action=f"/admin/bureaus/TLB/contacts/{hotline_id}/remove")
    assert response.status_code == 200
    assert "is no longer an official contact" in text(response)
    assert db.session.execute(select(OfficialContact.id).where(OfficialContact.id == hotline_id)).first() is None

    events = _events(AuditAction.OFFICIAL_CONTACTS_CHANGED)
    assert [e.after.get("added") or e.after.get("removed") for e in events] == [HOTLINE, MAILBOX, HOTLINE]
    assert all(e.actor_id == admin.id and e.after["bureau"] == "TLB" for e in events)
    assert events[-1].before["removed"] == HOTLINE
    history = text(response)
    assert f"Official contact removed: {HOTLINE}" in history and f"Official contact added: {MAILBOX}" in history


@pytest.mark.parametrize(
    "value",
    [
        "2345 6789",
        "+852 2345 6789",
        "(852) 2345-6789",
        "00852 23456789",
        "9123 4567",
        "800 900 123",
        "ENQUIRY@EXAMPLE.GOV.HK",
        "someone@gov.hk",
        "a.b@sub.dept.gov.hk",
    ],
)
def test_hong_kong_numbers_and_government_addresses_are_accepted(app, as_admin, value):
    assert _add(as_admin, "TLB", value).value == value


@pytest.mark.parametrize(
    "value",
    [
        "1234 5678",  # no Hong Kong number starts with 1
        "2345 678",  # seven digits
        "+86 138 0013 8000",  # a Mainland mobile
        "2345 6789 ext 12",
        "call 2345 6789",
        "someone@gmail.com",
        "someone@gov.hk.example.com",
        "someone@evilgov.hk",
        "someone@gov.hk@evil.example",
        "a..b@gov.hk",
        "https://www.gov.hk",
        "<script>@gov.hk",
    ],
)
def test_anything_else_is_refused_with_the_rule(app, as_admin, value):
    response = as_admin.submit_form("/admin/bureaus/TLB", {"value": value}, action="/admin/bureaus/TLB/contacts")
    assert response.status_code == 400
    page = text(response)
    assert "Enter a Hong Kong phone number" in page and "gov.hk or one of its subdomains" in page
    assert 'id="value-error"' in page
    assert db.session.execute(select(OfficialContact)).first() is None
    assert _events(AuditAction.OFFICIAL_CONTACTS_CHANGED) == []


def test_the_same_contact_in_another_spelling_is_refused(app, as_admin):
    _add(as_admin, "TLB", HOTLINE)
    response = as_admin.submit_form("/admin/bureaus/TLB", {"value": "29990000"}, action="/admin/bureaus/TLB/contacts")
    assert response.status_code == 400
    assert "already listed" in text(response)
    # Another bureau may publish the same number (a shared hotline).
    assert _add(as_admin, "HB", "29990000") is not None


def test_empty_and_overlong_contacts_are_form_errors(app, as_admin):
    for data in ({"value": ""}, {"value": "   "}, {"value": "2" * 300}, {"value": HOTLINE, "label_en": "x" * 121}):
        response = as_admin.submit_form("/admin/bureaus/TLB", data, action="/admin/bureaus/TLB/contacts")
        assert response.status_code == 400, data
        assert 'aria-invalid="true"' in text(response)
    assert db.session.execute(select(OfficialContact)).first() is None


def test_a_form_without_its_security_token_changes_nothing(app, as_admin):
    response = as_admin.client.post("/admin/bureaus/TLB/target", data={"days": "3"})
    assert response.status_code == 400
    assert db.session.get(Bureau, "TLB").answer_target_days == 10


# --- flask bureau deadlines ------------------------------------------------------------------------------


def test_the_command_fills_missing_due_dates_with_each_bureaus_target(app, runner, moderator, admin):
    routed_at = datetime(2026, 12, 23, 2, 0, tzinfo=UTC)
    tlb = _routed("TLB", moderator, routed_at=routed_at)
    answered = _routed("TLB", moderator, routed_at=routed_at, status=Status.ANSWERED)
    hb = _routed("HB", moderator, routed_at=routed_at)
    kept = _routed("HB", moderator, routed_at=routed_at)
    settings.set_answer_target("HB", 3, actor=admin)
    kept_due = _due(kept)
    db.session.execute(update(Submission).where(Submission.id.in_([tlb.id, answered.id, hb.id])).values(due_at=None))
    db.session.commit()

    result = runner.invoke(args=["bureau", "deadlines"])
    assert result.exit_code == 0, result.output
    assert "Due dates filled: 3 views." in result.output
    assert _due(tlb) == _due(answered) == deadlines.due_at(routed_at, 10)
    assert _due(hb) == datetime(2026, 12, 29, 15, 59, 59, tzinfo=UTC)
    assert _due(kept) == kept_due
    again = runner.invoke(args=["bureau", "deadlines"])
    assert "Due dates filled: 0 views." in again.output


@pytest.mark.parametrize(
    ("language", "heading", "days"),
    [("zh_Hant", "政策局設定", "10 個工作天"), ("zh_Hans", "政策局设定", "10 个工作天")],
)
def test_the_settings_pages_in_chinese(app, as_admin, language, heading, days):
    _add(as_admin, "TLB", HOTLINE, label_zh="查詢熱線")
    as_admin.client.get(f"/language/{language}")
    listing = text(as_admin.client.get("/admin/bureaus"))
    assert f"<h1>{heading}</h1>" in listing and listing.count(days) == 15
    page = text(as_admin.client.get("/admin/bureaus/TLB"))
    assert "回覆目標" in page or "回复目标" in page
    response = as_admin.submit_form("/admin/bureaus/TLB", {"value": "12"}, action="/admin/bureaus/TLB/contacts")
    assert response.status_code == 400 and "gov.hk" in text(response) and "Enter a Hong Kong" not in text(response)
