"""The public statistics: rollups kept by the worker equal direct counts, and the figures read
from them (feedback_app/stats/)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from functools import partial

from sqlalchemy import update

from feedback_app.bureau import services as bureau
from feedback_app.extensions import db
from feedback_app.intake import services as intake
from feedback_app.kernel import catalogue
from feedback_app.kernel.models import RejectionReason, Role, Status, Submission, Verdict, Visibility
from feedback_app.moderation import services as moderation
from feedback_app.routing import services as routing
from feedback_app.stats import figures, rollups
from feedback_app.stats.figures import Helped, Share

from . import factories


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
    assert stats.received == 12
    per_month = dict(zip(months, stats.per_month, strict=True))
    assert (per_month[OCT], per_month[NOV], sum(stats.per_month)) == (4, 8, 12)
    assert [s.code for s in stats.by_area] == [a.code for a in catalogue.list_areas()]
    area = factories.initiative().area_code
    assert {s.code: s.total for s in stats.by_area if s.total} == {area: 12}
    # TLB: v1, v2, v3 (v9 was sent back); HB: v4, v8; not routed: 3 rejected, v9, 3 copies.
    assert [(s.code, s.total) for s in stats.by_bureau] == [("TLB", 3), ("HB", 2), ("", 7)]
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
    assert (november.received, november.published, november.hidden) == (8, 0, 0)
    assert november.rejected == {"spam": 1, "abusive": 1, "off_topic": 1, "duplicate": 0}
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
        12,
        3,
        1,
        3,
        1,
    )
    assert (total.campaigns, total.campaign_copies, total.largest_campaign) == (1, 3, 3)
    assert (total.routed_auto, total.routed_moderator, total.overridden) == (3, 3, 1)

    # A period without those months reads zeros; all time starts at the first month with views.
    everything = figures.period("all", TODAY)
    assert everything.first == OCT
    assert figures.moderation_report(figures.period("2025", TODAY)).total.received == 0
    assert [p.key for p in figures.periods(TODAY)] == ["12m", "2026", "all"]
