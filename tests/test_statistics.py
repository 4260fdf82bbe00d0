"""The public statistics: rollups kept by the worker equal direct counts, and the figures read
from them (feedback_app/stats/)."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select, update

from feedback_app.bureau import services as bureau
from feedback_app.campaigns import services as campaigns
from feedback_app.extensions import db
from feedback_app.intake import services as intake
from feedback_app.kernel import catalogue, events, public, workflow
from feedback_app.kernel.deadlines import HONG_KONG
from feedback_app.kernel.models import (
    STATS_COUNTS,
    AnswerFeedback,
    AuditAction,
    AuditEvent,
    PublicState,
    RejectionReason,
    Role,
    StatsDirtyMonth,
    StatsDistribution,
    StatsMonth,
    Status,
    Submission,
    Verdict,
    Visibility,
)
from feedback_app.kernel.task_queue import huey
from feedback_app.kernel.workflow import Action
from feedback_app.moderation import services as moderation
from feedback_app.routing import services as routing
from feedback_app.stats import figures, rollups
from feedback_app.stats.figures import Helped, Share

from . import factories
from .conftest import hypothesis_examples


def test_period_selector_names_twelve_months_years_and_all_time(app):
    today = date(2026, 3, 15)
    twelve = figures.period(None, today)
    assert (twelve.key, twelve.first, twelve.last) == ("12m", date(2025, 4, 1), date(2026, 3, 1))
    assert len(twelve.months) == 12
    assert figures.period("", today) == twelve
    year = figures.period("2025", today)
    assert (year.first, year.last) == (date(2025, 1, 1), date(2025, 12, 1))
    this_year = figures.period("2026", today)
    assert this_year.months == (date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1))
    everything = figures.period("all", today)
    assert everything.last == date(2026, 3, 1)
    for bad in ("2027", "1999", "12", "２０２５", "all ", "13m", "-2025"):
        assert figures.period(bad, today) is None, bad
    choices = figures.periods(today)
    assert choices[0] == twelve and choices[-1].key == "all"


# --- A small known data set ------------------------------------------------------------------

OCT, NOV = date(2026, 10, 1), date(2026, 11, 1)
TODAY = date(2026, 12, 7)
# Distinct texts (no two are near copies), and three copies of one for a campaign.
TEXTS = [
    "The buses on route 960 from Tuen Mun are always full in the morning rush hour; please add trips.",
    "Traffic lights at the Nathan Road junction change too fast for elderly people crossing.",
    "Please publish real-time parking space data for all government car parks in Kowloon.",
    "Cycling tracks in Sha Tin should connect to the MTR stations with safe bicycle parking.",
    "Sell me cheap watches now, best prices online, click here for discounts today only.",
    "You are all useless idiots and nobody reads these silly comments anyway.",
    "My favourite football team lost the match last weekend and the referee was terrible.",
    "Minibus drivers on green route 44 should announce the stops for passengers who cannot see.",
    "Please call me on 9123 4567 about the broken ferry pier lighting at Central Pier 5.",
    "Same as my earlier message: the pedestrian crossing signals on Nathan Road are far too short.",
]
CAMPAIGN = (
    "We object to the closure of the Tai Po tram-style shuttle and demand the government keep "
    "the shuttle service running every ten minutes between the market and the railway station for residents."
)
COPIES = (CAMPAIGN, "Dear Sir, " + CAMPAIGN + " Yours faithfully", CAMPAIGN.upper() + " Thank you.")


def _predicting(monkeypatch, bureau: str, *, route: bool):
    """Routing's own code with its prediction's bureau and its decision fixed, so the test does
    not depend on the model's mood."""
    real = routing.predict

    def predict(sub):
        prediction, model, version = real(sub)
        return replace(prediction, bureau=bureau), model, version

    monkeypatch.setattr(routing, "predict", predict)
    monkeypatch.setattr(routing, "decide", lambda *a, **k: routing.Decision(route, None if route else "test"))


def _view(monkeypatch, text: str, month: date, *, route: bool, predicted: str = "TLB", day: int = 10) -> Submission:
    _predicting(monkeypatch, predicted, route=route)
    init = factories.initiative()
    receipt = intake.submit(
        intake.NewSubmission(body=text, language="en", topic_area=init.area_code, initiative_id=init.id)
    )
    monkeypatch.undo()
    # Received in `month`: as if it had come then (its later changes happen now).
    db.session.execute(
        update(Submission)
        .where(Submission.id == receipt.submission_id)
        .values(created_at=datetime(month.year, month.month, day, 12, tzinfo=UTC))
    )
    db.session.commit()
    sub = db.session.get(Submission, receipt.submission_id)
    db.session.refresh(sub)
    assert sub.status == (Status.ROUTED if route else Status.NEEDS_REVIEW)
    return sub


def _fresh(sub: Submission) -> Submission:
    db.session.expire_all()
    return db.session.get(Submission, sub.id)


def _answer(officer, sub: Submission, *, days: int, late: bool = False) -> None:
    if late:  # its due date passed before the answer
        db.session.execute(
            update(Submission).where(Submission.id == sub.id).values(due_at=datetime.now(UTC) - timedelta(days=1))
        )
        db.session.commit()
    bureau.answer(officer, sub.id, bureau.AnswerText("We will look into it and report back next month.", None))
    # Routed `days` days (and an hour) before it was answered.
    answered_at = _fresh(sub).answered_at
    routed_at = answered_at - timedelta(days=days, hours=1)
    values = {"routed_at": routed_at}
    if not late:
        values["due_at"] = answered_at + timedelta(days=1)
    db.session.execute(update(Submission).where(Submission.id == sub.id).values(**values))
    db.session.commit()


def _known_data_set(app, monkeypatch, moderator):
    app.config["CAMPAIGNS"] = True  # off for the rest of the suite (TestConfig)
    tlb = factories.user(Role.OFFICER, bureau="TLB")
    hb = factories.user(Role.OFFICER, bureau="HB")
    route = partial(moderation.route, actor=moderator)

    # October: four views about transport (smart area of the default initiative).
    v1 = _view(monkeypatch, TEXTS[0], OCT, route=True)  # the classifier routes it to TLB
    _answer(tlb, v1, days=2)  # on time; published with its answer (routed without a moderator)
    intake.give_feedback(v1.id, Verdict.YES, None)
    v2 = _view(monkeypatch, TEXTS[1], OCT, route=True)
    _answer(tlb, v2, days=5, late=True)
    intake.give_feedback(v2.id, Verdict.NO, "Too slow")
    v3 = _view(monkeypatch, TEXTS[2], OCT, route=False)  # queued; a moderator confirms TLB
    route(v3.id, area=v3.topic_area_code, bureau="TLB", version=v3.version)
    moderation.set_visibility(v3.id, visibility=Visibility.PUBLISHED, actor=moderator, version=_fresh(v3).version)
    _answer(tlb, v3, days=1)
    intake.give_feedback(v3.id, Verdict.PARTLY, None)
    v4 = _view(monkeypatch, TEXTS[3], OCT, route=False)  # a moderator routes it to HB: overridden
    route(v4.id, area=v4.topic_area_code, bureau="HB", version=v4.version)
    moderation.set_visibility(v4.id, visibility=Visibility.PUBLISHED, actor=moderator, version=_fresh(v4).version)
    moderation.set_visibility(v4.id, visibility=Visibility.HIDDEN, actor=moderator, version=_fresh(v4).version)
    _answer(hb, _fresh(v4), days=3, late=True)

    # November: rejections, a reopened rejection routed after all, personal data sent back, a campaign.
    for text, reason in zip(
        TEXTS[4:7], (RejectionReason.SPAM, RejectionReason.ABUSIVE, RejectionReason.OFF_TOPIC), strict=True
    ):
        v = _view(monkeypatch, text, NOV, route=False)
        moderation.reject(v.id, reason=reason, note=None, actor=moderator, version=v.version)
    v10 = _view(monkeypatch, TEXTS[9], NOV, route=False)
    moderation.reject(v10.id, reason=RejectionReason.DUPLICATE, note=None, actor=moderator, version=v10.version)
    v8 = _view(monkeypatch, TEXTS[7], NOV, route=False, predicted="HB")
    moderation.reject(v8.id, reason=RejectionReason.DUPLICATE, note=None, actor=moderator, version=v8.version)
    moderation.reopen(v8.id, note=None, actor=moderator, version=_fresh(v8).version)
    route(v8.id, area=v8.topic_area_code, bureau="HB", version=_fresh(v8).version)  # as predicted
    v9 = _view(monkeypatch, TEXTS[8], NOV, route=True)
    assert v9.personal_data_found is True
    bureau.send_back(tlb, v9.id, "Not ours: the pier belongs to another bureau")
    copies = [_view(monkeypatch, text, NOV, route=False, day=day) for day, text in zip((3, 4, 5), COPIES, strict=True)]
    assert len({_fresh(c).campaign_id for c in copies}) == 1 and _fresh(copies[0]).campaign_id is not None


def test_every_figure_of_a_known_data_set_counted_by_hand(app, backend, monkeypatch, moderator):
    _known_data_set(app, monkeypatch, moderator)
    rollups.rebuild()

    stats = figures.statistics(figures.period("12m", TODAY))
    months = stats.months
    assert len(months) == 12 and months[-1] == date(2026, 12, 1)
    assert stats.received == 13
    per_month = dict(zip(months, stats.per_month, strict=True))
    assert (per_month[OCT], per_month[NOV], sum(stats.per_month)) == (4, 9, 13)
    assert [s.code for s in stats.by_area] == [a.code for a in catalogue.list_areas()]
    area = factories.initiative().area_code
    assert {s.code: s.total for s in stats.by_area if s.total} == {area: 13}
    # TLB: v1, v2, v3 (v9 was sent back); HB: v4, v8; not routed: 4 rejected, v9, 3 copies.
    assert [(s.code, s.total) for s in stats.by_bureau] == [("TLB", 3), ("HB", 2), ("", 8)]
    tlb, hb = stats.bureaus
    assert (tlb.bureau_code, tlb.received, tlb.answered, tlb.on_time) == ("TLB", 3, Share(3, 3), Share(2, 3))
    assert tlb.median_days == 2.0  # 1, 2, 5
    assert tlb.routed_auto == Share(2, 3)  # v1, v2 by the classifier; v3 by a moderator
    assert tlb.helped == Helped(1, 1, 1)
    assert (hb.bureau_code, hb.received, hb.answered, hb.on_time) == ("HB", 2, Share(1, 2), Share(0, 1))
    assert hb.median_days == 3.0 and hb.routed_auto == Share(0, 2) and hb.helped == Helped(0, 0, 0)
    assert stats.answered == Share(4, 5) and stats.on_time == Share(2, 4)
    assert stats.median_days == 2.5  # 1, 2, 3, 5
    # Routed: v1, v2, v9 by the classifier; v3, v4, v8 by a moderator.
    assert stats.routed_auto == Share(3, 6)
    routed = dict(zip(months, stats.routed_auto_per_month, strict=True))
    assert (routed[OCT], routed[NOV], routed[date(2026, 12, 1)]) == (Share(2, 4), Share(1, 2), Share(0, 0))
    assert stats.helped == Helped(1, 1, 1)
    assert stats.refreshed_at is not None

    report = figures.moderation_report(figures.period("2026", TODAY))
    assert [m.month for m in report.months] == [date(2026, n, 1) for n in range(12, 0, -1)]
    by_month = {m.month: m for m in report.months}
    october, november = by_month[OCT], by_month[NOV]
    assert (october.received, october.published, october.hidden, october.rejected_total) == (4, 3, 1, 0)
    assert october.rejected == {"spam": 0, "abusive": 0, "off_topic": 0, "duplicate": 0}
    assert (october.personal_data, october.campaigns, october.campaign_copies, october.largest_campaign) == (0, 0, 0, 0)
    assert (october.routed_auto, october.routed_moderator, october.overridden) == (2, 2, 1)
    assert (november.received, november.published, november.hidden) == (9, 0, 0)
    assert november.rejected == {"spam": 1, "abusive": 1, "off_topic": 1, "duplicate": 1}
    assert (november.personal_data, november.campaigns, november.campaign_copies, november.largest_campaign) == (
        1,
        1,
        3,
        3,
    )
    assert (november.routed_auto, november.routed_moderator, november.overridden) == (1, 1, 0)
    assert by_month[date(2026, 1, 1)].received == 0
    total = report.total
    assert total.month is None
    assert (total.received, total.published, total.hidden, total.rejected_total, total.personal_data) == (
        13,
        3,
        1,
        4,
        1,
    )
    assert (total.campaigns, total.campaign_copies, total.largest_campaign) == (1, 3, 3)
    assert (total.routed_auto, total.routed_moderator, total.overridden) == (3, 3, 1)

    # A period without those months reads zeros; all time starts at the first month with views.
    everything = figures.period("all", TODAY)
    assert everything.first == OCT
    assert figures.moderation_report(figures.period("2025", TODAY)).total.received == 0
    assert [p.key for p in figures.periods(TODAY)] == ["12m", "2026", "all"]


# --- The worker's path: events mark months, the periodic task recounts them ------------------


@pytest.fixture(autouse=True)
def empty_rollups(app):
    """The rollup tables start empty (PostgreSQL's per-test truncation does not list them)."""
    for table in (StatsMonth, StatsDistribution, StatsDirtyMonth):
        db.session.execute(delete(table))
    db.session.commit()


def _marks() -> dict[date, datetime]:
    return dict(db.session.execute(select(StatsDirtyMonth.month, StatsDirtyMonth.marked_at)).tuples().all())


def _received(month: date) -> int:
    return db.session.execute(
        select(func.coalesce(func.sum(StatsMonth.received), 0)).where(StatsMonth.month == month)
    ).scalar_one()


def test_a_change_marks_its_month_and_the_periodic_task_recounts_it(app, monkeypatch, moderator):
    assert "stats.mark_dirty" in {h.name for h in events.handlers_for(AuditAction.VISIBILITY_HIDDEN)}
    assert rollups.refresh_rollups.task_class in huey._registry._periodic_tasks  # every minute
    now = datetime.now(UTC)
    this_month = rollups.month_of(now)
    sub = _view(monkeypatch, TEXTS[0], this_month, route=False, day=now.astimezone(HONG_KONG).day)
    assert set(_marks()) == {this_month}  # submitted and queued, by the events' handler

    assert rollups.refresh_rollups.call_local() == 1
    assert _marks() == {} and _received(this_month) == 1
    assert public.state().stats_refreshed_at is not None
    assert rollups.refresh_rollups.call_local() == 0  # nothing marked: nothing recounted

    moderation.set_visibility(sub.id, visibility=Visibility.PUBLISHED, actor=moderator, version=sub.version)
    assert set(_marks()) == {this_month}
    rollups.refresh_rollups.call_local()
    published = db.session.execute(select(func.sum(StatsMonth.published))).scalar_one()
    assert published == 1 and _marks() == {}


def test_setup_counts_the_views_of_a_database_never_counted_once(app, monkeypatch):
    """A database upgraded to 0022 with views in it: `flask setup` (make run) counts them once;
    after that the worker keeps the rollups and setup leaves them alone."""
    now = datetime.now(UTC)
    _view(monkeypatch, TEXTS[0], rollups.month_of(now), route=False, day=now.astimezone(HONG_KONG).day)
    db.session.execute(delete(StatsMonth))
    db.session.execute(update(PublicState).values(stats_refreshed_at=None))
    db.session.commit()
    assert rollups.ensure() == 1
    assert _received(rollups.month_of(now)) == 1
    db.session.execute(delete(StatsMonth))
    db.session.commit()
    assert rollups.ensure() == 0  # counted before: the worker's marks keep it from now on
    assert _received(rollups.month_of(now)) == 0


def test_a_month_marked_again_while_it_was_counted_keeps_its_mark(app):
    month = date(2026, 5, 1)
    rollups.mark_dirty([month])
    db.session.commit()
    read = _marks()[month]
    rollups.mark_dirty([month])  # a change came in while the count ran
    db.session.commit()
    rollups.recount(month, read)
    assert month in _marks()
    rollups.recount(month, _marks()[month])
    assert month not in _marks()


def test_the_handler_run_twice_marks_the_same_months_and_a_campaign_marks_its_first_copys(app, monkeypatch):
    app.config["CAMPAIGNS"] = True
    first = _view(monkeypatch, COPIES[0], OCT, route=False)
    later = _view(monkeypatch, COPIES[1], NOV, route=False)
    db.session.execute(delete(StatsDirtyMonth))
    db.session.commit()
    joined = db.session.execute(
        select(AuditEvent).where(AuditEvent.submission_id == later.id, AuditEvent.action == AuditAction.JOINED_CAMPAIGN)
    ).scalar_one()
    for _ in range(2):
        rollups.view_changed(events.Event.of(joined))
    assert set(_marks()) == {OCT, NOV}  # the copy's month, and the campaign's first copy's
    assert _fresh(first).campaign_id == _fresh(later).campaign_id is not None


# --- Random events: the rollups equal a direct count -----------------------------------------

# Moments around Hong Kong's month ends: 16:00 UTC on the last day is midnight in Hong Kong.
MOMENTS = (
    datetime(2025, 12, 31, 15, 59, 59, tzinfo=UTC),
    datetime(2025, 12, 31, 16, 0, tzinfo=UTC),
    datetime(2026, 1, 15, 3, 0, tzinfo=UTC),
    datetime(2026, 2, 28, 16, 0, tzinfo=UTC),
    datetime(2026, 3, 2, 9, 30, tzinfo=UTC),
)
POOL = (*TEXTS[:4], *TEXTS[7:9], *COPIES)
BUREAUS = ("TLB", "HB", "EEB")
VIEW_OPS = (
    "route",
    "reject",
    "reopen",
    "publish",
    "hide",
    "answer",
    "send_back",
    "close",
    "reopen_closed",
    "feedback",
    "split",
)
OPS = st.lists(
    st.one_of(
        st.tuples(
            st.just("submit"),
            st.integers(0, len(POOL) - 1),
            st.sampled_from(MOMENTS),
            st.booleans(),
            st.sampled_from(BUREAUS[:2]),
        ),
        st.tuples(st.sampled_from(VIEW_OPS), st.integers(0, 1000), st.integers(0, 5)),
    ),
    min_size=1,
    max_size=8,
)


def _submit(monkeypatch, text: str, moment: datetime, route: bool, predicted: str) -> None:
    with monkeypatch.context() as patch:
        _predicting(patch, predicted, route=route)
        init = factories.initiative()
        receipt = intake.submit(
            intake.NewSubmission(body=text, language="en", topic_area=init.area_code, initiative_id=init.id)
        )
    # Received at `moment`: its month is marked again by its events' handler, run a second time
    # as the worker may (what happened to it so far happened "then").
    db.session.execute(update(Submission).where(Submission.id == receipt.submission_id).values(created_at=moment))
    db.session.commit()
    for row in db.session.execute(
        select(AuditEvent).where(AuditEvent.submission_id == receipt.submission_id)
    ).scalars():
        rollups.view_changed(events.Event.of(row))


def _apply(op: str, sub: Submission, p: int, moderator, officers) -> None:
    officer = officers.get(sub.bureau_code or "")
    staff = {a: moderator for a in workflow.MODERATOR_ACTIONS} | {a: officer for a in workflow.OFFICER_ACTIONS}
    action = {
        "route": Action.ROUTE,
        "reject": Action.REJECT,
        "reopen": Action.REOPEN,
        "publish": Action.PUBLISH,
        "hide": Action.HIDE,
        "answer": Action.ANSWER,
        "send_back": Action.SEND_BACK,
        "close": Action.CLOSE,
        "reopen_closed": Action.REOPEN_CLOSED,
    }.get(op)
    if action is not None:
        actor = staff[action]
        if actor is None or action not in workflow.allowed_actions(sub, actor.role):
            return
    if op == "route":
        moderation.route(sub.id, area=sub.topic_area_code, bureau=BUREAUS[p % 3], actor=moderator, version=sub.version)
    elif op == "reject":
        reason = list(RejectionReason)[p % 4]
        moderation.reject(sub.id, reason=reason, note=None, actor=moderator, version=sub.version)
    elif op == "reopen":
        moderation.reopen(sub.id, note=None, actor=moderator, version=sub.version)
    elif op in ("publish", "hide"):
        visibility = Visibility.PUBLISHED if op == "publish" else Visibility.HIDDEN
        moderation.set_visibility(sub.id, visibility=visibility, actor=moderator, version=sub.version)
    elif op == "answer":
        _answer(officer, sub, days=p, late=p % 2 == 1)
    elif op == "send_back":
        bureau.send_back(officer, sub.id, "Not ours")
    elif op == "close":
        bureau.close(officer, sub.id, "Done")
    elif op == "reopen_closed":
        bureau.reopen(officer, sub.id)
    elif op == "feedback" and sub.answers:
        if db.session.execute(select(AnswerFeedback.id).where(AnswerFeedback.submission_id == sub.id)).first() is None:
            intake.give_feedback(sub.id, list(Verdict)[p % 3], None)
    elif op == "split" and sub.campaign_id is not None:
        campaigns.split_out(sub.id, actor=moderator)


def _direct_counts() -> tuple[dict, dict]:
    """The rollups, counted here in plain Python over every row: the oracle."""
    views = db.session.execute(select(Submission)).scalars().all()
    actions: dict[int, set[str]] = {}
    for submission_id, action in db.session.execute(select(AuditEvent.submission_id, AuditEvent.action)):
        actions.setdefault(submission_id, set()).add(action)
    verdicts = dict(db.session.execute(select(AnswerFeedback.submission_id, AnswerFeedback.verdict)).tuples().all())
    hong_kong = ZoneInfo("Asia/Hong_Kong")

    def month(moment: datetime) -> date:
        local = moment.astimezone(hong_kong)
        return date(local.year, local.month, 1)

    rows: dict[tuple, Counter] = {}
    distribution: Counter = Counter()
    campaign_copies: dict[int, list[datetime]] = {}
    for v in views:
        done = actions.get(v.id, set())
        auto = "auto_routed" in done
        by_moderator = not auto and bool(done & {"route_confirmed", "route_changed"})
        counts = rows.setdefault((month(v.created_at), v.topic_area_code, v.bureau_code or ""), Counter())
        counts.update(
            {
                "received": 1,
                "published": v.visibility == "published" and v.status != "rejected",
                "hidden": v.visibility == "hidden",
                "rejected_spam": v.rejection_reason == "spam",
                "rejected_abusive": v.rejection_reason == "abusive",
                "rejected_off_topic": v.rejection_reason == "off_topic",
                "rejected_duplicate": v.rejection_reason == "duplicate",
                "personal_data": v.personal_data_found is True,
                "routed_auto": auto,
                "routed_moderator": by_moderator,
                "overridden": by_moderator
                and v.predicted_bureau_code is not None
                and v.bureau_code is not None
                and v.bureau_code != v.predicted_bureau_code,
                "answered": v.answered_at is not None,
                "answered_on_time": v.answered_at is not None and v.due_at is not None and v.answered_at <= v.due_at,
                "helped_yes": verdicts.get(v.id) == "yes",
                "helped_partly": verdicts.get(v.id) == "partly",
                "helped_no": verdicts.get(v.id) == "no",
                "in_campaign": v.campaign_id is not None,
            }
        )
        if v.answered_at is not None and v.routed_at is not None:
            days = max(0, math.floor((v.answered_at - v.routed_at) / timedelta(days=1)))
            distribution[(month(v.created_at), "answer_days", v.bureau_code or "", days)] += 1
        if v.campaign_id is not None:
            campaign_copies.setdefault(v.campaign_id, []).append(v.created_at)
    for moments in campaign_copies.values():
        distribution[(month(min(moments)), "campaign_size", "", len(moments))] += 1
    expected = {key: {name: int(n) for name, n in counts.items()} for key, counts in rows.items()}
    return expected, dict(distribution)


def _rollup_tables() -> tuple[dict, dict]:
    counted = [c.key for c in StatsMonth.__table__.columns if c.key not in ("month", "area_code", "bureau_code")]
    rows = {
        (r.month, r.area_code, r.bureau_code): {name: getattr(r, name) for name in counted}
        for r in db.session.execute(select(StatsMonth)).scalars()
    }
    distribution = {
        (r.month, r.measure, r.bureau_code, r.value): r.count
        for r in db.session.execute(select(StatsDistribution)).scalars()
    }
    return rows, distribution


def _expected_rows(expected: dict) -> dict:
    return {key: {name: counts.get(name, 0) for name in ROLLUP_COUNTS} for key, counts in expected.items()}


ROLLUP_COUNTS = STATS_COUNTS


def test_after_random_events_the_rollups_equal_a_direct_count(app, backend, monkeypatch, moderator, runner):
    app.config["CAMPAIGNS"] = True
    officers = {code: factories.user(Role.OFFICER, bureau=code) for code in BUREAUS}
    examples = hypothesis_examples(12 if backend == "sqlite" else 6)

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(OPS)
    def events_then_counts(ops):
        for op in ops:
            if op[0] == "submit":
                _submit(monkeypatch, POOL[op[1]], op[2], op[3], op[4])
                continue
            ids = db.session.execute(select(Submission.id).order_by(Submission.id)).scalars().all()
            if ids:
                _apply(op[0], _fresh(db.session.get(Submission, ids[op[1] % len(ids)])), op[2], moderator, officers)
        db.session.commit()
        rollups.refresh_rollups.call_local()
        expected, distribution = _direct_counts()
        assert _rollup_tables() == (_expected_rows(expected), distribution)
        assert _marks() == {}

        result = runner.invoke(args=["stats", "rebuild"])
        assert result.exit_code == 0, result.output
        assert "Statistics recounted:" in result.output
        assert _rollup_tables() == (_expected_rows(expected), distribution)

    events_then_counts()
