"""The bureau dashboard: backlog by age and by officer, overdue views, answers per week, the
median time to answer and the share answered by the due date — one bureau's own views only."""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import update

from feedback_app.bureau import dashboard
from feedback_app.extensions import db
from feedback_app.kernel import deadlines
from feedback_app.kernel.models import JointBureau, Role, Status, Submission

from . import factories

# Wednesday 9 December 2026, noon in Hong Kong. No Hong Kong holiday falls between 20 October
# and 24 December 2026, so the working days below are plain Mondays to Fridays.
NOW = datetime(2026, 12, 9, 4, 0, tzinfo=UTC)


def hk(day: int, month: int = 12, hour: int = 9, minute: int = 0) -> datetime:
    """A Hong Kong wall-clock time in 2026, as UTC."""
    return datetime(2026, month, day, hour, minute, tzinfo=deadlines.HONG_KONG).astimezone(UTC)


def due(day: int, month: int = 12) -> datetime:
    return hk(day, month, 23, 59).replace(second=59)


_views = iter(range(1, 10_000))


class _AtNow(datetime):
    """The dashboard's clock, stopped at NOW, so the page shows the figures the tests expect."""

    @classmethod
    def now(cls, tz=None):
        return NOW.astimezone(tz)


@pytest.fixture
def at_now(monkeypatch):
    monkeypatch.setattr(dashboard, "datetime", _AtNow)


def view(bureau: str, status: Status, *, routed: datetime, due_at: datetime, assignee=None, answered=None):
    """A view in a bureau's hands, its dates set directly (the workflow sets them from the clock)."""
    sub = factories.submission(f"{factories.TRANSPORT_VIEW} (view {next(_views)})")
    db.session.execute(
        update(Submission)
        .where(Submission.id == sub.id)
        .values(
            status=status,
            bureau_code=bureau,
            area_code=sub.topic_area_code,
            routed_at=routed,
            due_at=due_at,
            assigned_to_id=assignee.id if assignee else None,
            answered_at=answered,
            closed_at=answered + timedelta(days=1) if status == Status.CLOSED else None,
        )
    )
    db.session.commit()
    return sub


@pytest.fixture
def bureau_views(app):
    app.config["ROUTING_BUREAU_THRESHOLD"] = 1.01  # nothing is routed by the classifier meanwhile
    chan = factories.user(Role.OFFICER, bureau="TLB", email="chan@example.org")
    lee = factories.user(Role.OFFICER, bureau="TLB", email="lee@example.org")
    idle = factories.user(Role.OFFICER, bureau="TLB", email="idle@example.org")
    housing = factories.user(Role.OFFICER, bureau="HB", email="housing@example.org")
    v = {
        # Awaiting an answer, one in each age band (working days since routing, to 9 December).
        "new": view("TLB", Status.ROUTED, routed=hk(8), due_at=due(22)),  # 1 working day
        "young": view("TLB", Status.IN_PROGRESS, routed=hk(7), due_at=due(21), assignee=chan),  # 2
        "older": view("TLB", Status.IN_PROGRESS, routed=hk(2), due_at=due(16), assignee=lee),  # 5
        "late": view("TLB", Status.ROUTED, routed=hk(20, 11), due_at=due(4)),  # 13, overdue 5 days
        "later": view("TLB", Status.IN_PROGRESS, routed=hk(10, 11), due_at=due(24, 11), assignee=chan),
        # Answered: in 2 days 8 hours (2 working days) in time; 5 days (3 working days) in time,
        # twice, one on a Sunday night and one just after midnight into Monday; 18 days (14) late.
        "quick": view("TLB", Status.ANSWERED, routed=hk(30, 11), due_at=due(14), answered=hk(2, 12, 17)),
        "sunday": view("TLB", Status.ANSWERED, routed=hk(1, 12, 23, 30), due_at=due(15), answered=hk(6, 12, 23, 30)),
        "monday": view("TLB", Status.ANSWERED, routed=hk(2, 12, 0, 10), due_at=due(16), answered=hk(7, 12, 0, 10)),
        "slow": view("TLB", Status.CLOSED, routed=hk(2, 11, 10), due_at=due(16, 11), answered=hk(20, 11, 10)),
        # Answered before the 90 days and the 12 weeks: in no figure.
        "summer": view("TLB", Status.CLOSED, routed=hk(1, 7), due_at=due(15, 7), answered=hk(1, 8)),
        # Another bureau's, one of them a joint view TLB was invited to: HB's figures, never TLB's.
        "joint": view("HB", Status.ROUTED, routed=hk(2, 11), due_at=due(16, 11)),
        "housing": view("HB", Status.ANSWERED, routed=hk(1), due_at=due(15), answered=hk(3), assignee=housing),
    }
    db.session.add(JointBureau(submission_id=v["joint"].id, bureau_code="TLB", invited_by_id=housing.id))
    factories.submission(f"{factories.TRANSPORT_VIEW} (still with the moderators)")
    db.session.commit()
    return v, {"chan": chan, "lee": lee, "idle": idle, "housing": housing}


def test_each_figure_counts_the_bureaus_own_views(bureau_views):
    v, _ = bureau_views
    board = dashboard.build("TLB", NOW)

    assert board.backlog_by_age == [("under_2", 1), ("2_to_4", 1), ("5_to_9", 1), ("10_or_more", 2)]
    assert board.awaiting == 5
    assert [(w.name, w.views) for w in board.backlog_by_officer] == [
        (None, 2),  # nobody yet: the new view and the late one
        ("chan", 2),
        ("lee", 1),
        ("idle", 0),  # an officer with room is shown too
    ]

    assert board.overdue == 2
    assert [(o.reference, o.due_at, o.days_overdue, o.assignee) for o in board.oldest_overdue] == [
        (v["later"].reference, due(24, 11), 15, "chan"),
        (v["late"].reference, due(4), 5, None),
    ]

    weeks = dict(board.answered_per_week)
    assert len(board.answered_per_week) == 12 and board.answered_per_week[0][0] == date(2026, 9, 21)
    assert board.answered_per_week[-1][0] == date(2026, 12, 7)
    assert {monday: n for monday, n in weeks.items() if n} == {
        date(2026, 11, 16): 1,
        date(2026, 11, 30): 2,  # "quick", and "sunday" at 23:30 on Sunday
        date(2026, 12, 7): 1,  # "monday", ten minutes into this week
    }

    # Answer times: 2⅓, 5, 5 and 18 calendar days; 2, 3, 3 and 14 working days.
    assert board.answered_recently == 4
    assert board.median_days == pytest.approx(5.0)
    assert board.median_working_days == 3.0
    assert (board.within_target, board.judged) == (3, 4) and board.within_target_share == 0.75


def test_a_joint_view_counts_for_its_owner_and_each_bureau_sees_only_its_own(bureau_views):
    v, _ = bureau_views
    housing = dashboard.build("HB", NOW)
    assert housing.backlog_by_age == [("under_2", 0), ("2_to_4", 0), ("5_to_9", 0), ("10_or_more", 1)]
    assert [(o.reference, o.days_overdue) for o in housing.oldest_overdue] == [(v["joint"].reference, 23)]
    assert [(w.name, w.views) for w in housing.backlog_by_officer] == [(None, 1), ("housing", 0)]
    assert (housing.answered_recently, housing.median_days, housing.median_working_days) == (1, 2.0, 2.0)
    assert (housing.within_target, housing.judged) == (1, 1)
    assert housing.answered_in_weeks == 1


def test_the_median_of_an_even_count_lies_between_the_middle_two(app):
    app.config["ROUTING_BUREAU_THRESHOLD"] = 1.01
    view("DEVB", Status.ANSWERED, routed=hk(1), due_at=due(15), answered=hk(2))  # 1 day, 1 working day
    view("DEVB", Status.ANSWERED, routed=hk(1), due_at=due(15), answered=hk(8))  # 7 days, 5 working days
    board = dashboard.build("DEVB", NOW)
    assert (board.median_days, board.median_working_days) == (4.0, 3.0)


def test_the_overdue_list_keeps_the_twenty_longest_overdue(app):
    app.config["ROUTING_BUREAU_THRESHOLD"] = 1.01
    officer = factories.user(Role.OFFICER, bureau="EEB")
    # Overdue by 1 to 22 days, the states alternating; newest first so that ids do not give the order.
    subs = [
        view(
            "EEB",
            Status.IN_PROGRESS if n % 2 else Status.ROUTED,
            routed=NOW - timedelta(days=40),
            due_at=due(8) - timedelta(days=n - 1),
            assignee=officer if n % 2 else None,
        )
        for n in range(1, 23)
    ]
    board = dashboard.build("EEB", NOW)
    assert board.overdue == 22
    assert [o.days_overdue for o in board.oldest_overdue] == list(range(22, 2, -1))
    assert [o.reference for o in board.oldest_overdue] == [s.reference for s in reversed(subs)][:20]


def test_age_bands_agree_with_the_working_day_count_across_holidays():
    # Every day of 2026 (Lunar New Year, Easter, Christmas included), each band's boundary.
    start = datetime(2026, 1, 1, 4, 0, tzinfo=UTC)
    for offset in range(365):
        now = start + timedelta(days=offset)
        for bound, _ in dashboard.AGE_BANDS[:-1]:
            cutoff = dashboard.age_cutoff(now, bound)
            assert deadlines.working_days_between(cutoff, now) < bound, (now, bound)
            assert deadlines.working_days_between(cutoff - timedelta(seconds=1), now) >= bound, (now, bound)


def test_the_page_shows_each_figure_beside_its_bars_and_links_overdue_views(bureau_views, at_now, client, login_as):
    v, people = bureau_views
    login_as(people["chan"])
    response = client.get("/bureau/dashboard")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    # Three charts, each a table whose rows hold the number and, hidden from screen readers, its bar.
    assert page.count('<svg class="bar" aria-hidden="true"') == 4 + 4 + 12
    assert page.count("<table") == 4
    assert f'href="/bureau/submissions/{v["later"].id}">{v["later"].reference}</a>' in page
    assert f'href="/bureau/submissions/{v["late"].id}">{v["late"].reference}</a>' in page
    assert "2 views are past their due date without an answer." in page
    for reference in (v["joint"].reference, v["housing"].reference):
        assert reference not in page
    assert "Views awaiting your bureau's answer</dt><dd>5</dd>" in page
    assert "5.0 calendar days, 3.0 working days (4 views answered)" in page
    assert "75% (3 of 4 views)" in page


def test_another_bureaus_officer_never_sees_these_counts(bureau_views, at_now, client, login_as):
    v, people = bureau_views
    login_as(people["housing"])
    page = client.get("/bureau/dashboard").get_data(as_text=True)
    assert "Housing Bureau" in page
    for name in ("late", "later", "new", "young", "older"):
        assert v[name].reference not in page
    assert "chan" not in page and "lee" not in page
    assert "Views awaiting your bureau's answer</dt><dd>1</dd>" in page
    assert "1 view is past its due date without an answer." in page


@pytest.mark.parametrize("role", [Role.RESIDENT, Role.MODERATOR, Role.ADMIN])
def test_only_officers_open_it(app, client, login_as, role):
    login_as(factories.user(role))
    assert client.get("/bureau/dashboard").status_code == 403


def test_signed_out_visitors_are_asked_to_sign_in(client):
    response = client.get("/bureau/dashboard")
    assert response.status_code == 302 and "/account/login" in response.headers["Location"]


def test_a_bureau_with_nothing_yet_reads_well(app, client, login_as):
    login_as(factories.user(Role.OFFICER, bureau="DEVB"))
    page = client.get("/bureau/dashboard").get_data(as_text=True)
    assert "No view awaits your bureau's answer." in page
    assert "Nothing is overdue." in page
    assert "Your bureau has answered no view in the last 12 weeks." in page
    assert "No view was answered in the last 90 days." in page
    # No empty charts: only the officers' table, its two rows (nobody yet, the officer) at zero.
    assert page.count('<svg class="bar"') == 2 and page.count("<table") == 1
    board = dashboard.build("DEVB", NOW)
    assert board.within_target_share is None and board.median_days is None


@pytest.mark.parametrize(
    ("accept", "lang", "texts"),
    [
        ("en", "en", ["Awaiting an answer, by age", "10 working days or more", "Nobody yet", "Overdue now"]),
        (
            "zh-HK",
            "zh-Hant-HK",
            ["等候回覆的意見（按等候時間）", "10 個工作天或以上", "尚未指派", "75%（4 則意見中的 3 則）"],
        ),
        (
            "zh-CN",
            "zh-Hans",
            ["等候回复的意见（按等候时间）", "10 个工作天或以上", "尚未指派", "75%（4 则意见中的 3 则）"],
        ),
    ],
)
def test_the_page_reads_in_each_language(bureau_views, at_now, client, login_as, accept, lang, texts):
    _, people = bureau_views
    login_as(people["chan"])
    page = client.get("/bureau/dashboard", headers={"Accept-Language": accept}).get_data(as_text=True)
    assert f'<html lang="{lang}">' in page
    for text in texts:
        assert text in page, text
