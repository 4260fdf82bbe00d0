"""Labels: every enum people see has a label for each member, in English and in both Chinese
scripts; one Chinese term for each thing (translations/GLOSSARY.md) with full-width punctuation;
lists of reference data in Chinese order for Chinese readers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from flask_babel import force_locale

from feedback_app.kernel import catalogue, workflow
from feedback_app.kernel.models import (
    INITIATIVE_STATUSES,
    AuditAction,
    RejectionReason,
    Role,
    Status,
    TrainingStatus,
    Visibility,
)
from feedback_app.kernel.triage import Band
from feedback_app.moderation import bulk, dashboard, queue
from feedback_app.routing import versions
from feedback_app.text import abuse, redaction
from feedback_app.text.chinese import collation_key, to_simplified
from feedback_app.web import i18n

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "feedback_app" / "translations"
ROUTING_SERVICES = ROOT / "feedback_app" / "routing" / "services.py"

# Every set of codes the pages show by a label, with the one dictionary that labels it.
LABELLED = {
    "status": (i18n.STATUS_LABELS, set(Status)),
    "visibility": (i18n.VISIBILITY_LABELS, set(Visibility)),
    "decision": (i18n.DECISION_LABELS, set(workflow.Action)),
    "rejection reason": (i18n.REJECTION_LABELS, set(RejectionReason)),
    "role": (i18n.ROLE_LABELS, set(Role)),
    "audit action": (i18n.ACTION_LABELS, set(AuditAction)),
    "training run": (i18n.TRAINING_STATUS_LABELS, set(TrainingStatus)),
    "training step": (i18n.TRAINING_STEP_LABELS, set(versions.TRAINING_STEPS)),
    "training error": (i18n.TRAINING_ERROR_LABELS, {versions.STALLED, versions.QUEUE_UNREACHABLE}),
    "initiative status": (i18n.INITIATIVE_STATUS_LABELS, set(INITIATIVE_STATUSES)),
    "flag": (i18n.FLAG_LABELS, set(abuse.Flag)),
    "confidence band": (i18n.BAND_LABELS, set(Band)),
    "queue order": (i18n.SORT_LABELS, set(queue.Sort)),
    "bulk decision": (i18n.BULK_LABELS, set(bulk.Kind)),
    "personal data": (i18n.PERSONAL_DATA_LABELS, set(redaction.PLACEHOLDERS)),
    "backlog age": (i18n.BACKLOG_AGE_LABELS, {key for _, key in dashboard.AGE_BANDS}),
    # Reasons routing records in English (routing.services.decide), and one older reason kept
    # so that older history still reads.
    "system reason": (
        i18n.SYSTEM_REASON_LABELS,
        set(re.findall(r'Decision\(False, "([^"]+)"\)', ROUTING_SERVICES.read_text(encoding="utf-8")))
        | {"smart area uncertain", workflow.PUBLISHED_WITH_ANSWER},
    ),
}


def _catalogue(locale: str):
    with open(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po", "rb") as handle:
        return read_po(handle)


def _translations(locale: str) -> list[tuple[str, str]]:
    pairs = []
    for message in _catalogue(locale):
        if not message.id:
            continue
        english = message.id if isinstance(message.id, str) else message.id[0]
        strings = [message.string] if isinstance(message.string, str) else list(message.string)
        pairs.extend((english, s) for s in strings if s)
    return pairs


@pytest.mark.parametrize("what", sorted(LABELLED))
def test_every_member_has_a_label_in_english_and_both_chinese_scripts(app, what):
    labels, members = LABELLED[what]
    assert set(labels) == {str(m) for m in members}, what
    for code, label in labels.items():
        with force_locale("en"):
            english = str(label)
        with force_locale("zh_Hant"):
            traditional = str(label)
        with force_locale("zh_Hans"):
            simplified = str(label)
        assert english and traditional != english, f"{what} {code!r} has no Traditional Chinese label"
        assert simplified == to_simplified(traditional) != english, f"{what} {code!r}: Simplified out of step"


def _glossary() -> list[tuple[str, str, list[str]]]:
    rows = []
    for line in (TRANSLATIONS / "GLOSSARY.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 4 or cells[0] in ("English", "---"):
            continue
        english = re.sub(r"\s*\(.*\)", "", cells[0])
        rows.append((english, cells[1], [w for w in cells[3].split("、") if w]))
    return rows


def test_the_glossary_names_each_thing_once():
    rows = _glossary()
    assert len(rows) >= 30
    assert len({english for english, _, _ in rows}) == len(rows)


@pytest.mark.parametrize("english, chinese, avoided", _glossary(), ids=lambda v: v if isinstance(v, str) else None)
def test_the_chinese_catalogue_says_each_thing_the_glossarys_way(english, chinese, avoided):
    word = re.compile(rf"\b{re.escape(english)}", re.IGNORECASE)
    wrong = [(en, zh) for en, zh in _translations("zh_Hant") if word.search(en) and any(a in zh for a in avoided)]
    assert wrong == [], f"{english}: {chinese}, not {'/'.join(avoided)}"


HAN = r"[\u3400-\u9fff\uf900-\ufaff]"
HALF_WIDTH = re.compile(rf"(?<={HAN})\s*[,:;?!()]|[,:;?!()]\s*(?={HAN})|(?<={HAN})\.(?!\w)")


@pytest.mark.parametrize("locale", ["zh_Hant", "zh_Hans"])
def test_chinese_takes_full_width_punctuation(locale):
    half = [zh for _, zh in _translations(locale) if HALF_WIDTH.search(zh)]
    assert half == []


def _order_on_page(page: str, names: list[str]) -> list[str]:
    return sorted(names, key=page.index)


@pytest.mark.parametrize("locale", ["zh_Hant", "zh_Hans"])
def test_chinese_readers_see_bureaus_in_chinese_order(app, client, locale):
    client.set_cookie(i18n.LANGUAGE_COOKIE, locale)
    shown = re.findall(r'<dt id="([A-Z]+)">', client.get("/bureaus").get_data(as_text=True))
    with force_locale(locale):
        names = {b.code: i18n.localized(b, "name") for b in catalogue.list_bureaus()}
    assert len(shown) == 15
    assert shown == sorted(names, key=lambda code: collation_key(names[code]))


def test_english_readers_see_bureaus_as_before(app, client):
    shown = re.findall(r'<dt id="([A-Z]+)">', client.get("/bureaus").get_data(as_text=True))
    assert shown == [b.code for b in catalogue.list_bureaus()]  # by code, as the catalogue lists them


def test_chinese_readers_see_initiatives_in_chinese_order(app, client):
    client.set_cookie(i18n.LANGUAGE_COOKIE, "zh_Hant")
    with force_locale("zh_Hant"):
        every = catalogue.search_initiatives(per_page=1000, sort_key=i18n.reading_key("title")).items
        titles = [i.title_zh for i in every]
    assert titles == sorted(titles, key=collation_key)
    page = client.get("/initiatives").get_data(as_text=True)
    first = titles[:5]
    assert _order_on_page(page, first) == first
