"""Nothing in any public export or feed holds personal data the redactor would mask, nor any text
of a view the public may not see.

The property test draws personal data of every kind with the SAME generators as the redaction
tests (tests/test_redaction_kinds.py: phones, IDs, cards, passports, e-mail addresses, addresses,
names, dates of birth, bank accounts, each in many written forms), puts one in a view and another
in its answer and closing note, publishes and answers the view beside a pending, a hidden and a
rejected one, then reads views.csv, views.json, statistics.csv and both feeds as a program
would: `find_personal_data` finds nothing in any text they carry, the personal values are not
there as written, and no word of the unpublished views is.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
import string

import feedparser
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feedback_app.bureau import services as bureau
from feedback_app.extensions import db
from feedback_app.kernel.models import RejectionReason, Role, Visibility
from feedback_app.moderation import services as moderation
from feedback_app.text.redaction import PLACEHOLDERS, find_personal_data

from . import test_public_projection as projection
from .conftest import hypothesis_examples
from .test_public_projection import MARKERS, _answer, _published, _send, _staff
from .test_redaction_kinds import KINDS, Sample, ascii_digits

moderator, world = projection.moderator, projection.world

EXPORTS = (
    "/open-data/views.csv",
    "/open-data/views.json",
    "/open-data/statistics.csv",
    "/open-data/distributions.csv",
)
# Words around the values: no digits and no Chinese numerals, so a value's digits found in a
# file's text can only be the value's.
AROUND_VIEW = "The footbridge at the market needs a lift and a roof for rainy days, please."
AROUND_ANSWER = "Thank you for writing. The department will study the lift."
ANY_KIND = st.sampled_from(sorted(KINDS)).flatmap(lambda kind: KINDS[kind])
_LABEL = re.compile(r"\[[A-Z]{2,5} \d{4}-\d{2}-\d{2} (?:en|zh)\] |\[(?:en|zh)\] ")
_TAG = re.compile(r"<[^>]+>")
_CODE = re.compile(r"[0-9A-Za-z_-]*")
_TOKENS = re.compile("|".join(re.escape(token) for token in PLACEHOLDERS.values()))


def _outputs(client, initiative_code: str) -> dict[str, str]:
    found = {url: client.get(url).get_data().decode("utf-8-sig") for url in EXPORTS}
    for url in (f"/initiatives/{initiative_code}/answers.atom", "/bureaus/TLB/answers.atom"):
        response = client.get(url)
        assert response.status_code == 200
        found[url] = response.get_data(as_text=True)
    return found


def _texts(outputs: dict[str, str]) -> list[str]:
    """Every text a program reads out of the files: the text cells of views.csv (an answer's labels
    of bureau, date and language taken off), the text fields of the JSON, the feeds' summaries and
    contents as plain text. statistics.csv and distributions.csv hold no text at all: codes, months
    and counts."""
    rows = csv.DictReader(io.StringIO(outputs["/open-data/views.csv"], newline=""))
    texts = [_LABEL.sub("", row[key]) for row in rows for key in ("text", "answers", "closing_note")]
    for table in ("/open-data/statistics.csv", "/open-data/distributions.csv"):
        for row in csv.reader(io.StringIO(outputs[table], newline="")):
            assert all(_CODE.fullmatch(cell) for cell in row), row
    for view in json.loads(outputs["/open-data/views.json"]):
        texts += [view["text"], view["closing_note"] or ""]
        texts += [a[key] or "" for a in view["answers"] for key in ("text", "translation")]
    for url, body in outputs.items():
        if url.endswith(".atom"):
            parsed = feedparser.parse(body)
            assert not parsed.bozo, parsed.get("bozo_exception")
            for entry in parsed.entries:
                texts += [entry.summary, _TAG.sub(" ", entry.content[0].value)]
    return texts


def _personal_parts(sample: Sample) -> list[str]:
    return [part.strip() for part, personal in sample.parts if personal and len(part.strip()) >= 3]


def _letters(n: int) -> str:
    """A marker made of letters only (digits could be read as a phone number)."""
    out = ""
    for _ in range(4):
        n, rest = divmod(n, 26)
        out += string.ascii_uppercase[rest]
    return out


def test_no_export_or_feed_holds_personal_data_or_an_unpublished_view(app, client, moderator):
    officer = _staff(Role.OFFICER, "Officer Privacy", bureau_code="TLB")
    numbers = itertools.count()
    unpublished: list[str] = []

    @settings(max_examples=hypothesis_examples(12), deadline=None, suppress_health_check=list(HealthCheck))
    @given(view=ANY_KIND, answer=ANY_KIND, note=ANY_KIND)
    def nothing_leaks(view: Sample, answer: Sample, note: Sample):
        marker = f"UNPUBLISHED{_letters(next(numbers))}"
        sub = _published(f"{AROUND_VIEW} {view.text}", moderator)
        _answer(officer, sub.id, f"{AROUND_ANSWER} {answer.text}")
        bureau.close(officer, sub.id, f"Closed: {note.text}")
        _send(f"{AROUND_VIEW} {marker}PENDING")
        hidden = _published(f"{AROUND_VIEW} {marker}HIDDEN", moderator)
        moderation.set_visibility(hidden.id, visibility=Visibility.HIDDEN, actor=moderator, version=hidden.version)
        rejected = _send(f"{AROUND_VIEW} {marker}REJECTED")
        moderation.reject(
            rejected.id,
            reason=RejectionReason.OFF_TOPIC,
            note=f"{marker}NOTE",
            actor=moderator,
            version=rejected.version,
        )
        db.session.commit()
        unpublished.append(marker)

        outputs = _outputs(client, sub.initiative.code)
        texts = _texts(outputs)
        for text in texts:
            found = [(f.kind, text[f.start : f.end]) for f in find_personal_data(text)]
            assert not found, f"personal data in a public file: {found} in {text!r}"
        untokened = [_TOKENS.sub(" ", text) for text in texts]  # "ONE" is no leak in "[PHONE]"
        for sample in (view, answer, note):
            digits = ascii_digits(sample.core())
            for part in _personal_parts(sample):
                for text in untokened:
                    assert part not in text, f"{sample.kind}: {part!r} as written in {text!r}"
            if len(digits) >= 4:
                for text in texts:
                    assert digits not in ascii_digits(text), f"{sample.kind}: its digits in {text!r}"
        for url, body in outputs.items():
            for earlier in unpublished:
                assert earlier not in body, f"an unpublished view's text in {url}"

    nothing_leaks()


@pytest.mark.parametrize("language", ["en", "zh_Hant", "zh_Hans"])
def test_no_export_or_feed_shows_a_private_field_of_a_view(app, client, world, language):
    """The projection test's markers (name, e-mail, text as sent, hashes, staff, notes, pending,
    hidden and rejected views) in no file and no feed, in any language."""
    client.get(f"/language/{language}")
    outputs = _outputs(client, world["edited"].initiative.code)
    outputs["/open-data/datapackage.json"] = client.get("/open-data/datapackage.json").get_data(as_text=True)
    outputs["/open-data"] = client.get("/open-data").get_data(as_text=True)
    for url, body in outputs.items():
        for field, marker in MARKERS.items():
            assert marker not in body, f"{field} in {url} ({language})"
