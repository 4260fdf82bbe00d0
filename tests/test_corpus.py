"""The training corpus and the off-topic set: valid, varied, covering every bureau, not leaked."""

from __future__ import annotations

import json
import os
import re
import unicodedata
from functools import lru_cache
from pathlib import Path

import pytest

from classifier.data import AREAS, BUREAUS
from classifier.datacard import (
    CARD_END,
    CARD_START,
    DATA_CARD,
    LANGS,
    OFFTOPIC_KINDS,
    REGISTERS,
    corpus_paths,
    current_card,
    frame_key,
    initiative_leads,
    near_duplicate_pairs,
    offtopic_paths,
    read_rows,
    replace_generated_part,
    top_frames,
)

ROOT = Path(__file__).resolve().parent.parent
# The development sets live beside the project (`../shared/eval/`), not in it; a clone elsewhere
# on the same machine (as CI makes) finds them through EVAL_DIR, which .ci/run sets.
EVAL_DIR = Path(os.environ.get("EVAL_DIR") or ROOT.parent / "shared" / "eval")
CATALOGUE_DIR = ROOT / "feedback_app" / "kernel" / "reference_data"

MAX_FRAME_SHARE = 0.05
MIN_LINES_PER_BUREAU_AND_LANGUAGE = 60
MIN_OFFTOPIC_LINES = 400
LEAK_CHINESE_CHARS = 12
LEAK_ENGLISH_WORDS = 8

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")

# Characters that Hong Kong Traditional text uses as they are, although every OpenCC
# Simplified → Traditional table swaps them (晒 "all", 吓 "a bit", 郁 "move" in Cantonese, 涌 in place
# names, 台 (平台), 准 (批准), 游 (游水), 占 (占卜), 伙, 里, 雇, 佣 ...). Without this list the check below would reject correct lines.
HONG_KONG_TRADITIONAL_AS_IS = frozenset("台晒伙涌雇佣里干吓郁准游占")
# Characters Mainland writers use unchanged although OpenCC's hk2s "simplifies" them (劏房).
SIMPLIFIED_AS_IS = frozenset("劏")


@lru_cache(maxsize=1)
def corpus():
    return read_rows(corpus_paths())


@lru_cache(maxsize=1)
def offtopic():
    return read_rows(offtopic_paths())


@lru_cache(maxsize=4)
def _converter(name: str):
    import opencc

    return opencc.OpenCC(name).convert


def traditional_only_chars(text: str) -> set[str]:
    """Characters that OpenCC (hk2s) would change: written only in Traditional."""
    return {c for c in set(_CJK.findall(text)) if _converter("hk2s")(c) != c} - SIMPLIFIED_AS_IS


def simplified_only_chars(text: str) -> set[str]:
    """Characters that both s2t and s2tw would change and hk2s leaves alone: written only in
    Simplified. Asking two tables skips variants one of them prefers (峰/峯, 床/牀, 群/羣)."""
    chars = set(_CJK.findall(text)) - HONG_KONG_TRADITIONAL_AS_IS
    return {c for c in chars if _converter("s2t")(c) != c and _converter("s2tw")(c) != c and _converter("hk2s")(c) == c}


def script_problem(text: str, lang: str) -> str | None:
    if lang == "en":
        return None
    if not _CJK.search(text):
        return "Chinese line without Chinese characters"
    if lang == "zh-Hans":
        if traditional_only_chars(text):
            return f"Traditional characters in a zh-Hans line: {sorted(traditional_only_chars(text))}"
        if not simplified_only_chars(text) and len(_CJK.findall(text)) >= 8:
            return "zh-Hans line with no Simplified character"
    if lang == "zh-Hant" and simplified_only_chars(text):
        return f"Simplified characters in a zh-Hant line: {sorted(simplified_only_chars(text))}"
    return None


def test_every_corpus_line_has_known_labels_and_language():
    leads = initiative_leads(CATALOGUE_DIR)
    problems = []
    for row in corpus():
        if not row.text.strip():
            problems.append(f"{row.where}: empty text")
        if row.lang not in LANGS:
            problems.append(f"{row.where}: unknown lang {row.lang!r}")
        if row.bureau is not None and row.bureau not in BUREAUS:
            problems.append(f"{row.where}: unknown bureau {row.bureau!r}")
        if row.area is not None and row.area not in AREAS:
            problems.append(f"{row.where}: unknown area {row.area!r}")
        if row.bureau is None and row.area is None:
            problems.append(f"{row.where}: neither bureau nor area")
        if row.register is not None and row.register not in REGISTERS:
            problems.append(f"{row.where}: unknown register {row.register!r}")
        if row.initiative is not None and row.initiative not in leads:
            problems.append(f"{row.where}: no initiative with code {row.initiative!r}")
        if row.lang == "en" and row.register in ("cantonese", "mixed"):
            problems.append(f"{row.where}: register {row.register!r} is for Chinese lines")
    assert not problems, "\n".join(problems[:30])


def test_every_offtopic_line_has_a_kind_and_no_labels():
    problems = []
    for row in offtopic():
        if not row.text.strip():
            problems.append(f"{row.where}: empty text")
        if row.lang not in LANGS:
            problems.append(f"{row.where}: unknown lang {row.lang!r}")
        if row.kind not in OFFTOPIC_KINDS:
            problems.append(f"{row.where}: unknown kind {row.kind!r}")
        if row.bureau or row.area:
            problems.append(f"{row.where}: an off-topic line carries a bureau or area label")
    assert not problems, "\n".join(problems[:30])


@pytest.mark.parametrize("rows", [corpus, offtopic], ids=["corpus", "offtopic"])
def test_chinese_lines_are_written_in_the_script_their_lang_says(rows):
    # Keyboard mash is allowed to be anything, even when it is filed as Chinese.
    problems = [
        f"{row.where}: {script_problem(row.text, row.lang)}"
        for row in rows()
        if row.kind != "gibberish" and script_problem(row.text, row.lang)
    ]
    assert not problems, "\n".join(problems[:30])


def test_script_check_tells_traditional_from_simplified():
    assert script_problem("公屋輪候時間太長，點解仲未有消息？", "zh-Hant") is None
    assert script_problem("公屋轮候时间太长，为什么还没有消息？", "zh-Hans") is None
    assert script_problem("公屋轮候时间太长，为什么还没有消息？", "zh-Hant")
    assert script_problem("公屋輪候時間太長，為什麼還沒有消息？", "zh-Hans")
    assert script_problem("The waiting time is too long", "zh-Hant")


def test_no_near_duplicate_lines_anywhere():
    rows = corpus() + offtopic()
    pairs = near_duplicate_pairs([row.text for row in rows])
    report = [
        f"{rows[i].where} ~ {rows[j].where} ({score:.2f}): {rows[i].text[:50]} | {rows[j].text[:50]}"
        for i, j, score in pairs
    ]
    assert not report, f"{len(report)} near-duplicate pairs:\n" + "\n".join(report[:30])


def test_near_duplicate_check_catches_a_reworded_copy():
    texts = [
        "The lift in our estate broke down again, please fix it.",
        "The lift in our estate broke down again, please fix it!!",
        "公屋輪候時間太長，點解仲未有消息？",
    ]
    assert [(i, j) for i, j, _ in near_duplicate_pairs(texts)] == [(0, 1)]


@pytest.mark.parametrize("lang", LANGS)
def test_no_sentence_frame_opens_more_than_five_percent_of_a_language(lang):
    key, count, share = top_frames(corpus(), lang, top=1)[0]
    assert share <= MAX_FRAME_SHARE, f"{lang}: {count} lines open with {key!r} ({share:.1%})"


def test_frame_key_reads_english_words_and_chinese_characters():
    assert frame_key("Please, let the buses run later!", "en") == "please let the"
    assert frame_key("「希望」政府 可以", "zh-Hant") == "希望政府"


@pytest.mark.parametrize("bureau", BUREAUS)
def test_every_bureau_has_enough_chinese_and_english_lines(bureau):
    rows = [row for row in corpus() if row.bureau == bureau]
    english = sum(1 for row in rows if row.lang == "en")
    chinese = sum(1 for row in rows if row.is_chinese)
    assert english >= MIN_LINES_PER_BUREAU_AND_LANGUAGE, f"{bureau}: {english} English lines"
    assert chinese >= MIN_LINES_PER_BUREAU_AND_LANGUAGE, f"{bureau}: {chinese} Chinese lines"


def test_offtopic_set_is_large_enough_and_bilingual():
    rows = offtopic()
    assert len(rows) >= MIN_OFFTOPIC_LINES
    chinese = sum(1 for row in rows if row.is_chinese)
    assert 0.35 <= chinese / len(rows) <= 0.65, f"{chinese} of {len(rows)} off-topic lines are Chinese"
    assert {row.kind for row in rows} == set(OFFTOPIC_KINDS)


def _strings(value):
    """Every string inside a JSON value: the eval files are read without assuming their fields."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def chinese_windows(text: str) -> set[str]:
    runs = _CJK_RUN.findall(unicodedata.normalize("NFKC", text))
    n = LEAK_CHINESE_CHARS
    return {run[i : i + n] for run in runs for i in range(len(run) - n + 1)}


def english_windows(text: str) -> set[tuple[str, ...]]:
    words = _WORD.findall(unicodedata.normalize("NFKC", text).lower())
    n = LEAK_ENGLISH_WORDS
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def test_leak_windows_are_found_in_a_copied_phrase():
    source = "市民反映屋邨升降機經常故障而維修時間過長"
    assert chinese_windows("我想講" + source[2:16]) & chinese_windows(source)
    assert english_windows("so the lift in our block broke down again today") & english_windows(
        "Why the lift in our block broke down again today?"
    )
    assert not english_windows("short line of words")


def test_no_training_line_shares_a_long_window_with_the_eval_questions():
    files = sorted(EVAL_DIR.glob("*.jsonl")) if EVAL_DIR.is_dir() else []
    if not files:
        if os.environ.get("TEST_REQUIRE_EVAL") == "1":  # CI (.ci/run): the check never skips
            pytest.fail(f"TEST_REQUIRE_EVAL=1 but there are no held-out eval files under {EVAL_DIR} (set EVAL_DIR)")
        pytest.skip(f"no held-out eval files under {EVAL_DIR}: leakage cannot be checked here")
    held_out_chinese, held_out_english = set(), set()
    for path in files:
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            for text in _strings(json.loads(line)):
                held_out_chinese |= chinese_windows(text)
                held_out_english |= english_windows(text)
    leaks = []
    for row in corpus() + offtopic():
        if chinese_windows(row.text) & held_out_chinese or english_windows(row.text) & held_out_english:
            leaks.append(f"{row.where}: {row.text[:60]}")
    assert not leaks, f"{len(leaks)} lines share a long window with the eval set:\n" + "\n".join(leaks[:30])


def test_data_card_shows_the_numbers_of_the_files_as_they_are():
    card = DATA_CARD.read_text(encoding="utf-8")
    assert f"{CARD_START}\n{current_card()}{CARD_END}" in card, (
        "DATA_CARD.md is out of date: run python -m classifier.datacard --update classifier/data/DATA_CARD.md"
    )


def test_card_update_keeps_the_hand_written_part():
    card = f"# Card\nwritten by hand\n{CARD_START}\nold tables\n{CARD_END}\nfooter\n"
    assert (
        replace_generated_part(card, "new tables\n")
        == f"# Card\nwritten by hand\n{CARD_START}\nnew tables\n{CARD_END}\nfooter\n"
    )
