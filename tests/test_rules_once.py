"""Rules written once: the training-run states, the Han character ranges, keyed hashes and tokens,
the audit helper, the caches, and the constants the JavaScript is handed.

Mostly pure tests; those that need the app say so by taking the `app` fixture.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from pathlib import Path

from cachetools import LRUCache, TLRUCache, TTLCache
from flask import Flask, current_app
from sqlalchemy import select

import classifier.text
from feedback_app.auth import enrolment
from feedback_app.campaigns import services as campaigns
from feedback_app.campaigns import support
from feedback_app.extensions import db
from feedback_app.intake import services as intake
from feedback_app.kernel import audit, catalogue, search
from feedback_app.kernel.models import (
    TRAINING_UNDER_WAY,
    AuditAction,
    AuditEvent,
    Role,
    Submission,
    TrainingRun,
    TrainingStatus,
    Visibility,
)
from feedback_app.moderation import queue
from feedback_app.moderation import services as moderation
from feedback_app.public import views as public_views
from feedback_app.routing import services as routing
from feedback_app.text import abuse, chinese, keys, near_duplicates

from . import factories

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "feedback_app"
# Cantonese as Hong Kong writes it: 𨋢 (lift) and 𡃁 (youngster) are outside the basic plane.
CANTONESE = "部𨋢壞咗，啲𡃁仔困咗喺入面"


# --- training-run states ------------------------------------------------------------------


def test_a_training_run_starts_queued_and_is_under_way_until_it_ends():
    assert TrainingRun.__table__.c.status.default.arg == TrainingStatus.QUEUED
    assert [TrainingRun(status=s).under_way for s in TrainingStatus] == [True, True, False, False]
    assert set(TRAINING_UNDER_WAY) == {TrainingStatus.QUEUED, TrainingStatus.RUNNING}


def test_no_code_or_template_spells_a_training_state_itself():
    spelled = re.compile(r"""["'](queued|running|done|failed)["']""")
    places = [
        PACKAGE / "routing" / "versions.py",
        PACKAGE / "admin" / "views.py",
        ROOT / "templates" / "admin" / "classifier.html",
    ]
    found = {str(p.relative_to(ROOT)): spelled.findall(p.read_text(encoding="utf-8")) for p in places}
    assert not any(found.values()), found


# --- Han character ranges -----------------------------------------------------------------


def test_the_app_defines_the_han_ranges_in_one_place():
    ranges = re.compile(r"\\u4e00|\\u3400|\u4e00-|\u3400-")
    elsewhere = [
        str(p.relative_to(ROOT))
        for p in PACKAGE.rglob("*.py")
        if p != PACKAGE / "text" / "chinese.py" and ranges.search(p.read_text(encoding="utf-8"))
    ]
    assert elsewhere == []


def test_the_classifier_keeps_a_copy_equal_to_the_apps():
    assert classifier.text.HAN_RANGES == chinese.HAN_RANGES
    assert classifier.text.chinese_terms("𨋢") == ["𨋢"]


def test_search_and_near_copy_detection_split_cantonese_the_same_way():
    # Every Han character, the supplementary-plane ones too, is Chinese to both.
    assert search.terms(CANTONESE) == ["部𨋢壞咗", "啲𡃁仔困咗喺入面"]
    assert len(near_duplicates._tokens("部𨋢壞咗")) == 4  # one token a character


def test_a_search_for_cantonese_is_a_phrase_the_stored_document_can_match():
    # The PostgreSQL document keeps a run of supplementary-plane characters as one word.
    assert search._tsquery(["部𨋢壞"]) == "(部 <-> 𨋢 <-> 壞)"
    assert search._tsquery(["𠮶𡃁仔"]) == "(𠮶𡃁 <-> 仔)"


def test_campaign_differences_count_each_cantonese_character_as_a_word():
    mine = Submission(id=1, body="部𨋢𡃁")
    copy = Submission(id=2, body="部𡃁")
    (variant,) = campaigns.variants(mine, [mine, copy])
    assert (variant.added, variant.removed) == ("", "𨋢")


def test_both_scripts_are_converted_by_one_module():
    assert chinese.to_simplified("電話") == "电话"
    assert chinese.to_traditional("电话") == "電話"


# --- keyed hashes and random tokens -------------------------------------------------------

KEY = "a secret key for the test"


def _hmac_hex(purpose: bytes, value: str) -> str:
    return hmac.new(KEY.encode(), purpose + value.encode(), hashlib.sha256).hexdigest()


def test_stored_keyed_hashes_still_verify():
    # Each as it was computed before it moved into one module: stored values must keep matching.
    with Flask(__name__).test_request_context():
        current_app.secret_key = KEY
        assert enrolment.token_hash("tok") == _hmac_hex(b"enrolment-link:", "tok")
        assert support.supporter_hash(user_id=7) == _hmac_hex(b"support:", "user:7")
    assert abuse.client_hash("203.0.113.9", KEY) == _hmac_hex(b"client-address:", "203.0.113.9")[:32]
    form_token = "f" * 43
    digest = hmac.new(KEY.encode(), b"tracking:" + form_token.encode(), hashlib.sha256).digest()
    assert intake._tracking_token_for(form_token, KEY) == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert intake.hash_token("tok") == hashlib.sha256(b"tok").hexdigest()


def test_tokens_look_like_what_their_pattern_accepts():
    assert intake.is_form_token(intake.new_form_token())
    assert support.is_device_token(support.new_device_token())
    assert not support.is_device_token(keys.new_token(24))
    assert len(keys.new_token()) == 43


def test_only_the_keys_module_makes_keyed_hashes_and_tokens():
    made = re.compile(r"\bhmac\.(new|compare_digest)|\bsecrets\.(token_urlsafe|choice)")
    elsewhere = [
        str(p.relative_to(ROOT))
        for p in PACKAGE.rglob("*.py")
        if p != PACKAGE / "text" / "keys.py" and made.search(p.read_text(encoding="utf-8"))
    ]
    assert elsewhere == []


# --- one audit helper ---------------------------------------------------------------------


def test_only_the_audit_module_writes_audit_events():
    writes = [
        str(p.relative_to(ROOT))
        for p in PACKAGE.rglob("*.py")
        if p != PACKAGE / "kernel" / "audit.py"
        and "AuditEvent(" in p.read_text(encoding="utf-8")
        and p != PACKAGE / "kernel" / "models.py"
    ]
    assert writes == []


def test_views_accounts_and_versions_are_audited_through_the_one_helper(app, monkeypatch):
    written = []
    record = audit.record

    def spy(action, **kwargs):
        written.append(AuditAction(action))
        return record(action, **kwargs)

    monkeypatch.setattr(audit, "record", spy)
    moderator = factories.user(Role.MODERATOR)
    sub = factories.submission()
    moderation.set_visibility(sub.id, visibility=Visibility.PUBLISHED, actor=moderator, version=sub.version)
    stored = db.session.execute(select(AuditEvent.action).order_by(AuditEvent.id)).scalars().all()
    assert written == stored
    assert {AuditAction.ACCOUNT_CREATED, AuditAction.SUBMITTED, AuditAction.VISIBILITY_PUBLISHED} <= set(written)


# --- caches -------------------------------------------------------------------------------


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_reference_data_is_read_again_once_a_minute_has_passed(app, monkeypatch):
    clock = Clock()
    monkeypatch.setattr(
        catalogue, "_reference_cache", TTLCache(maxsize=8, ttl=catalogue.REFERENCE_CACHE_SECONDS, timer=clock)
    )
    loads = []

    def load():
        loads.append(clock.now)
        return len(loads)

    assert catalogue.cached_reference("test", load) == catalogue.cached_reference("test", load) == 1
    clock.now += catalogue.REFERENCE_CACHE_SECONDS + 1
    assert catalogue.cached_reference("test", load) == 2


def test_queue_counts_live_as_long_as_the_setting_says(app, monkeypatch):
    clock = Clock()
    monkeypatch.setattr(queue, "_counted", TLRUCache(maxsize=8, ttu=queue._counted.ttu, timer=clock))
    monkeypatch.setattr(queue, "count_backlog", lambda: object())
    app.config["QUEUE_COUNTS_SECONDS"] = 15
    first = queue.backlog_counts()
    clock.now += 14
    assert queue.backlog_counts() is first
    clock.now += 1
    assert queue.backlog_counts() is not first


def test_no_cache_is_written_by_hand():
    hand_written = [
        str(p.relative_to(ROOT)) for p in PACKAGE.rglob("*.py") if "monotonic()" in p.read_text(encoding="utf-8")
    ]
    assert hand_written == []
    assert isinstance(search._statistics, TTLCache) and search._statistics.ttl == search.STATISTICS_SECONDS
    assert isinstance(routing._models, LRUCache) and routing._models.maxsize == routing.MODELS_KEPT


# --- constants handed to the JavaScript ---------------------------------------------------


def test_the_form_tells_similar_js_the_shortest_draft_worth_asking_about(app, client):
    page = client.get("/areas/mobility/views/new").get_data(as_text=True)
    region = re.search(r'<div id="similar-views"[^>]*>', page).group(0)
    assert f'data-min-length="{public_views.SIMILAR_MIN_LENGTH}"' in region
    script = (PACKAGE / "static" / "similar.js").read_text(encoding="utf-8")
    assert "data-min-length" in script and not re.search(rf"\b{public_views.SIMILAR_MIN_LENGTH}\b", script)
