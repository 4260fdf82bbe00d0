"""Campaigns: near copies grouped as the worker stores them, found by an index, never by comparing all."""

from __future__ import annotations

import re
from datetime import UTC

import pytest
from sqlalchemy import func, select

from feedback_app.campaigns import services as campaigns
from feedback_app.extensions import db
from feedback_app.kernel.models import AuditAction, AuditEvent, NearDuplicateKey, Role, Status, Submission
from feedback_app.text import near_duplicates

from . import factories
from .conftest import csrf_token

CAMPAIGN = (
    "I object to the smart lampposts recording faces. The Government must publish what every sensor "
    "collects, who can see the data and how long it is kept, before any more lampposts are installed."
)
COPIES = [
    CAMPAIGN,
    "Dear Sir, " + CAMPAIGN.replace("faces", "faces and number plates") + " Yours faithfully, Chan Tai Man",
    CAMPAIGN.upper().replace(",", "") + " Thank you.",
]
SAME_TOPIC = (
    "Smart lampposts are useful for traffic data, but I would like to know whether the cameras on them "
    "can identify people; please explain the privacy safeguards in plain language."
)


@pytest.fixture(autouse=True)
def grouping(app):
    app.config["CAMPAIGNS"] = True  # off for the rest of the suite (TestConfig)


def _send(body: str) -> Submission:
    return factories.submission(body)


def test_lightly_edited_copies_join_one_campaign_and_a_view_on_the_same_topic_does_not(app):
    copies = [_send(body) for body in COPIES]
    other = _send(SAME_TOPIC)
    db.session.expire_all()
    campaign_ids = {db.session.get(Submission, s.id).campaign_id for s in copies}
    assert len(campaign_ids) == 1 and None not in campaign_ids
    assert db.session.get(Submission, other.id).campaign_id is None
    joined = (
        db.session.execute(select(AuditEvent.submission_id).where(AuditEvent.action == AuditAction.JOINED_CAMPAIGN))
        .scalars()
        .all()
    )
    assert sorted(joined) == sorted(s.id for s in copies)
    assert campaigns.sizes(campaign_ids) == {campaign_ids.pop(): 3}


def test_grouping_is_not_a_change_a_moderator_could_collide_with(app):
    first = _send(COPIES[0])
    version = db.session.get(Submission, first.id).version
    _send(COPIES[1])  # joins first into a new campaign
    db.session.expire_all()
    grouped = db.session.get(Submission, first.id)
    assert grouped.campaign_id is not None and grouped.version == version


def test_a_new_view_is_compared_only_with_the_views_sharing_a_key(app, monkeypatch):
    for n in range(40):
        _send(f"View number {n}: " + " ".join(f"topic{n}word{k}" for k in range(12)))
    compared = []
    real = near_duplicates.similarity
    monkeypatch.setattr(near_duplicates, "similarity", lambda a, b: compared.append(1) or real(a, b))
    _send(SAME_TOPIC)
    assert len(compared) <= 3  # not 40: the keys found no candidates worth comparing
    stored = db.session.execute(select(func.count()).select_from(NearDuplicateKey)).scalar_one()
    assert stored == 41 * near_duplicates.BANDS


def test_placing_twice_changes_nothing_and_a_failure_loses_nothing(app, monkeypatch):
    _, second = _send(COPIES[0]), _send(COPIES[1])
    campaign_id = db.session.get(Submission, second.id).campaign_id
    assert campaigns.place(second.id) == campaign_id
    keys = db.session.execute(select(func.count()).select_from(NearDuplicateKey)).scalar_one()
    assert keys == 2 * near_duplicates.BANDS

    def broken(text):
        raise RuntimeError("signature failed")

    monkeypatch.setattr(near_duplicates, "signature", broken)
    third = _send(COPIES[2])  # stored and routed all the same, only not grouped
    assert db.session.get(Submission, third.id) is not None
    assert db.session.get(Submission, third.id).campaign_id is None


def test_moderators_see_the_campaign_in_the_queue_and_on_each_copy(app, client, login_as):
    app.config["ROUTING_BUREAU_THRESHOLD"] = 1.01  # everything waits for a moderator
    copies = [_send(body) for body in COPIES]
    login_as(factories.user(Role.MODERATOR))
    page = client.get("/moderation/queue").get_data(as_text=True)
    assert page.count("Campaign: 3 near copies") == 1  # listed once, at its first copy
    item = client.get(f"/moderation/submissions/{copies[0].id}").get_data(as_text=True)
    assert "Near copies of this text" in item
    assert copies[1].reference in item and copies[2].reference in item
    assert "Grouped with near copies of the same text" in item  # in its history


def _waiting_campaign(app):
    app.config["ROUTING_BUREAU_THRESHOLD"] = 1.01  # everything waits for a moderator
    return [_send(body) for body in COPIES]


def test_the_queue_lists_a_campaign_once_and_counts_every_copy(app, client, login_as):
    copies = _waiting_campaign(app)
    alone = _send(SAME_TOPIC)
    login_as(factories.user(Role.MODERATOR))
    page = client.get("/moderation/queue").get_data(as_text=True)
    table = page.split("<tbody>", 1)[1]
    assert copies[0].reference in table and alone.reference in table
    assert copies[1].reference not in table and copies[2].reference not in table
    assert "Campaign: 3 near copies" in table and "4 views match." in page
    searched = client.get("/moderation/queue?text=lampposts").get_data(as_text=True).split("<tbody>", 1)[1]
    assert all(c.reference in searched for c in copies)  # filtered, each matching copy is listed


def test_one_decision_on_a_copy_is_made_for_every_waiting_copy_each_audited(app, client, login_as):
    copies = _waiting_campaign(app)
    moderator = login_as(factories.user(Role.MODERATOR))
    page = client.get(f"/moderation/submissions/{copies[0].id}").get_data(as_text=True)
    assert "2 other copies are waiting for review" in page
    assert re.search(r'<input checked id="reject-whole_campaign"[^>]*type="checkbox"', page)  # ticked to begin with
    assert page.count('for="reject-whole_campaign"') == 1 and page.count('for="route-whole_campaign"') == 1
    answer = client.post(
        f"/moderation/submissions/{copies[0].id}/reject",
        follow_redirects=True,
        data={
            "csrf_token": csrf_token(page),
            "version": copies[0].version,
            "reason": "duplicate",
            "whole_campaign": "y",
            "submit": "Reject",
        },
    )
    assert "The same decision was made for 2 other copies of the campaign." in answer.get_data(as_text=True)
    for sub in copies:
        assert db.session.get(Submission, sub.id).status == Status.REJECTED
        event = db.session.execute(
            select(AuditEvent).where(AuditEvent.submission_id == sub.id, AuditEvent.action == AuditAction.REJECTED)
        ).scalar_one()
        assert event.actor_id == moderator.id


def test_without_the_tick_only_this_copy_is_decided(app, client, login_as):
    copies = _waiting_campaign(app)
    login_as(factories.user(Role.MODERATOR))
    page = client.get(f"/moderation/submissions/{copies[0].id}").get_data(as_text=True)
    client.post(
        f"/moderation/submissions/{copies[0].id}/route",
        data={
            "csrf_token": csrf_token(page),
            "version": copies[0].version,
            "area": "mobility",
            "bureau": "TLB",
            "submit": "Route to this bureau",
        },
    )
    assert [db.session.get(Submission, s.id).status for s in copies] == [
        Status.ROUTED,
        Status.NEEDS_REVIEW,
        Status.NEEDS_REVIEW,
    ]


def test_a_copy_that_says_something_of_its_own_can_be_split_out(app, client, login_as):
    copies = _waiting_campaign(app)
    moderator = login_as(factories.user(Role.MODERATOR))
    page = client.get(f"/moderation/submissions/{copies[1].id}").get_data(as_text=True)
    answer = client.post(
        f"/moderation/submissions/{copies[1].id}/split", follow_redirects=True, data={"csrf_token": csrf_token(page)}
    )
    assert "no longer part of the campaign" in answer.get_data(as_text=True)
    assert db.session.get(Submission, copies[1].id).campaign_id is None
    event = db.session.execute(
        select(AuditEvent).where(
            AuditEvent.submission_id == copies[1].id, AuditEvent.action == AuditAction.SPLIT_FROM_CAMPAIGN
        )
    ).scalar_one()
    assert event.actor_id == moderator.id
    queue = client.get("/moderation/queue").get_data(as_text=True).split("<tbody>", 1)[1]
    assert copies[1].reference in queue  # listed on its own now
    assert client.post(f"/moderation/submissions/{copies[1].id}/split", data={}).status_code == 400  # no CSRF


def test_the_public_page_shows_a_campaign_once_with_its_count(app, client):
    copies = [_send(body) for body in COPIES]
    other = _send(SAME_TOPIC)
    for sub in [*copies, other]:
        sub.status, sub.visibility = Status.ROUTED, "published"
    db.session.commit()
    initiative = factories.initiative()
    page = client.get(f"/initiatives/{initiative.code}").get_data(as_text=True)
    assert copies[2].reference in page  # the newest copy stands for the campaign
    assert copies[0].reference not in page and copies[1].reference not in page
    assert "Sent 3 times, with light edits: one campaign, shown once." in page
    assert other.reference in page


def test_copies_placed_at_the_same_moment_by_several_workers_join_one_campaign(app):
    import threading

    first = _send(COPIES[0])  # stored and placed: on its own so far
    app.config["CAMPAIGNS"] = False  # store the copies without placing them...
    copies = [_send(f"{COPIES[n % 3]} (copy {n})") for n in range(6)]
    app.config["CAMPAIGNS"] = True
    ids = [c.id for c in copies]
    db.session.rollback()
    barrier, errors = threading.Barrier(len(ids)), []

    def place(submission_id):  # ...then place them all at once, as workers on several nodes would
        with app.app_context():
            try:
                barrier.wait()
                assert campaigns.place(submission_id) is not None
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=place, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    grouped = db.session.execute(select(Submission.campaign_id).where(Submission.id.in_([first.id, *ids]))).scalars()
    assert len(set(grouped)) == 1


def test_a_copy_shows_how_each_other_copy_differs_from_it(app, client, login_as):
    copies = _waiting_campaign(app)
    login_as(factories.user(Role.MODERATOR))
    page = client.get(f"/moderation/submissions/{copies[0].id}").get_data(as_text=True)
    rows = {ref: page.split(ref, 1)[1].split("</tr>", 1)[0] for ref in (copies[1].reference, copies[2].reference)}
    # COPIES[1] adds a greeting, a signature and "and number plates"; it leaves nothing out.
    assert "Dear Sir," in rows[copies[1].reference] and "Chan Tai Man" in rows[copies[1].reference]
    assert "number plates" in rows[copies[1].reference]
    assert "—" in rows[copies[1].reference]


def test_variants_name_added_and_left_out_words_in_both_languages():
    from types import SimpleNamespace as View

    mine = View(id=1, body="我反對智慧燈柱拍攝市民的面孔。")
    other = View(id=2, body="你好，我反對智慧燈柱拍攝面孔。")
    [variant] = campaigns.variants(mine, [mine, other])
    assert (variant.added, variant.removed) == ("你好，", "市民的")
    same = View(id=3, body=mine.body)
    assert campaigns.variants(mine, [same])[0].added == campaigns.variants(mine, [same])[0].removed == ""


def test_a_view_whose_task_was_lost_joins_its_campaign_when_swept_and_is_then_suggested(app, client):
    from datetime import datetime, timedelta

    from sqlalchemy import update

    from feedback_app.routing import tasks

    from .test_support import _similar, publish
    from .test_worker import _sent_while_the_queue_is_down

    copies = [_send(body) for body in COPIES[:2]]  # their own tasks grouped them
    lost = _sent_while_the_queue_is_down(app, COPIES[2])  # the third copy, sent during a Redis outage
    db.session.execute(
        update(Submission)
        .where(Submission.id == lost.id)
        .values(created_at=datetime.now(UTC) - tasks.SWEEP_AFTER - timedelta(seconds=1))
    )
    db.session.commit()

    assert tasks.sweep_unrouted.call_local() == 1
    db.session.expire_all()
    swept = db.session.get(Submission, lost.id)
    assert swept.status in (Status.ROUTED, Status.NEEDS_REVIEW)  # routed, as before...
    campaign_id = db.session.get(Submission, copies[0].id).campaign_id
    assert campaign_id is not None and swept.campaign_id == campaign_id  # ...and grouped with its copies
    assert campaigns.sizes({campaign_id}) == {campaign_id: 3}

    publish(swept)  # the only published copy of the campaign
    assert swept.reference in _similar(client, CAMPAIGN).get_data(as_text=True)


def test_a_view_published_before_it_was_grouped_is_suggested_once_grouped(app, client):
    from .test_support import _similar, publish

    app.config["CAMPAIGNS"] = False
    sub = _send(CAMPAIGN)  # stored and routed without its keys (grouping off, or its worker lost)
    publish(sub)
    app.config["CAMPAIGNS"] = True
    campaigns.place(sub.id)  # its keys say it is published from the start
    assert sub.reference in _similar(client, CAMPAIGN).get_data(as_text=True)
