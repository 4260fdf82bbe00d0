"""The classifier's explanation in the words the resident typed, not the model's features."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import classifier
from classifier import surface
from classifier.text import (
    aligned_normalise,
    chinese_spans,
    chinese_terms,
    english_spans,
    english_terms,
    normalise,
)
from feedback_app.routing import services as routing

from . import factories
from .conftest import hypothesis_examples

PROPERTIES = settings(max_examples=hypothesis_examples(200), deadline=None, derandomize=True, database=None)


@pytest.fixture(scope="module")
def model(model_artifact):
    return classifier.from_bytes(model_artifact, sha256=classifier.sha256_hex(model_artifact))


def shown(text, *pulls, top_n=8):
    return surface.words(text, pulls, top_n)


# --- by kind ---------------------------------------------------------------------------------


def test_an_english_stem_is_shown_as_the_inflected_words_typed():
    text = "Roadworks are causing congestion on Nathan Road"
    assert shown(text, ("en", "caus congest", 1.0)) == (("causing congestion", 1.0),)
    assert shown(text, ("en", "congest", 0.5), ("en", "roadwork", 0.25)) == (("congestion", 0.5), ("Roadworks", 0.25))


def test_a_stem_and_the_bigrams_over_it_are_one_entry_with_their_weights_summed():
    text = "Roadworks are causing congestion on Nathan Road"
    words = shown(text, ("en", "caus congest", 1.0), ("en", "caus", 0.5), ("en", "congest", 0.25), ("en", "road", 0.5))
    assert words == (("causing congestion", 1.75), ("Road", 0.5))


def test_a_bigram_across_punctuation_and_stop_words_shows_what_lies_between():
    assert shown("Too many buses. Congestion everywhere", ("en", "buse congest", 1.0)) == (("buses. Congestion", 1.0),)
    assert shown("the bus is late", ("en", "bus late", 0.5)) == (("bus is late", 0.5),)


def test_bigrams_do_not_chain_words_into_a_long_quotation():
    text = "Apps for the elderly have few downloads. Has anyone evaluated whether seniors use them?"
    chain = [("en", "few download", 1.0), ("en", "download anyon", 0.75), ("en", "anyon evalu", 0.5)]
    chain.append(("en", "evalu whether", 0.25))
    # The strongest join first; "few downloads. Has anyone evaluated" would be too long, so
    # "anyone evaluated" counts for its two words apart.
    assert shown(text, *chain) == (("few downloads. Has anyone", 2.0), ("evaluated whether", 0.5))
    assert len("few downloads. Has anyone evaluated") > surface.LONGEST_JOINED


def test_english_words_paired_across_chinese_are_shown_apart():
    text = "Telco個customer service要等一個鐘，想cancel plan都cancel唔到"
    assert shown(text, ("en", "servic cancel", 1.0)) == (("service", 0.5), ("cancel", 0.5))


def test_a_chinese_ngram_is_shown_as_its_short_run_of_characters():
    assert shown("運輸署，請改善。", ("zh", "輸署", 1.0), ("zh", "運", 0.25)) == (("運輸署", 1.25),)


def test_a_chinese_ngram_in_a_long_run_is_shown_as_its_own_characters():
    text = "公立醫院急症室輪候時間太長"
    assert shown(text, ("zh", "輪候", 1.0), ("zh", "候時", 0.5), ("zh", "院", 0.25)) == (("輪候時", 1.5), ("院", 0.25))


def test_mixed_english_and_chinese_each_come_back_as_typed():
    text = "呢個App成日hang機，運輸署，快啲整好佢"
    words = shown(text, ("zh", "輸署", 1.0), ("en", "app", 0.75), ("zh", "機", 0.25), ("en", "hang", 0.125))
    assert words == (("運輸署", 1.0), ("App", 0.75), ("機", 0.25), ("hang", 0.125))


def test_simplified_text_is_shown_in_simplified_though_the_features_are_traditional():
    text = "运输署，请改善巴士到站时间的显示"
    assert normalise("运输署") == "運輸署"
    words = shown(text, ("zh", "運輸署", 1.0), ("zh", "時間", 0.5), ("zh", "顯示", 0.25))
    assert words == (("运输署", 1.0), ("时间", 0.5), ("显示", 0.25))
    # A phrase OpenCC converts as a whole (头发 → 頭髮, where 发 alone would be 發) maps back too.
    assert shown("剪头发的地方太少了", ("zh", "頭髮", 1.0)) == (("头发", 1.0),)


def test_full_width_latin_letters_are_shown_full_width():
    text = "ＭＴＲ trains are too crowded"
    assert shown(text, ("en", "mtr", 1.0)) == (("ＭＴＲ", 1.0),)
    assert shown(text, ("en", "mtr train", 1.0), ("en", "crowd", 0.5)) == (("ＭＴＲ trains", 1.0), ("crowded", 0.5))


def test_a_repeated_word_is_listed_once_as_first_typed_with_its_whole_weight():
    text = "Bus late again. The bus never comes, BUS!"
    assert shown(text, ("en", "bus", 1.0), ("en", "late", 0.5)) == (("Bus", 1.0), ("late", 0.5))
    # Twice in different company: each stretch gets its share.
    assert shown("bus stop and bus", ("en", "bus", 1.0), ("en", "bus stop", 1.0)) == (("bus stop", 1.5), ("bus", 0.5))


def test_a_feature_that_is_not_in_the_text_is_left_out():
    # e.g. one that came from the initiative or a table of synonyms, not from what was typed
    assert shown("The ferry is late", ("en", "hospit", 2.0), ("en", "ferri", 0.5)) == (("ferry", 0.5),)
    assert shown("The ferry is late", ("zh", "渡輪", 2.0), ("xx", "ferri", 1.0)) == ()


def test_at_most_top_n_entries_and_none_too_weak_to_show():
    words = shown(
        "one two three four", *[("en", w, 1.0 / (i + 1)) for i, w in enumerate(["one", "two", "three"])], top_n=2
    )
    assert words == (("one", 1.0), ("two", 0.5))
    assert shown("one two", ("en", "one", 0.001)) == ()


# --- the tokenisation with offsets -----------------------------------------------------------


def test_offsets_reach_the_original_through_normalisation():
    text = "ﬁre in Ｃａｕｓｅｗａｙ Bay"  # a ligature NFKC expands, full-width letters
    norm, origin = aligned_normalise(text)
    assert norm == normalise(text)
    assert [text[span.start : span.end] for span in english_spans(text)] == [
        "ﬁre",
        "Ｃａｕｓｅｗａｙ",
        "Bay",
        "ﬁre in Ｃａｕｓｅｗａｙ",
        "Ｃａｕｓｅｗａｙ Bay",
    ]
    assert len(origin) == len(norm)


def test_offsets_hold_where_the_conversion_to_traditional_changes_the_length(monkeypatch):
    # OpenCC converts phrases; were one to convert to a phrase of another length, each
    # character is converted alone there, so that every character keeps its origin.
    def convert(text):
        return text.replace("头发", "頭髮絲") if "头发" in text else text.replace("头", "頭").replace("发", "發")

    monkeypatch.setattr("classifier.text._to_traditional", lambda: convert)
    text = "ok 剪头发！"
    norm, origin = aligned_normalise(text)
    assert norm == "ok 剪頭發!"  # NFKC: the full-width ！ is "!"
    assert [text[s:e] for s, e in origin] == list(text)


LETTERS = st.sampled_from(
    list("abcXYZ019 '’.,-\n\t")
    + list("ＡＢｃｄ０１！，。")
    + list("运输署头发巴士時間車站的了")
    + ["ﬁ", "İ", "é", "e\u0301", "½", "𨋢"]
)
TEXTS = st.lists(LETTERS, max_size=40).map("".join) | st.text(max_size=40)


@PROPERTIES
@given(TEXTS)
def test_the_spans_tokenise_exactly_as_the_features_do(text):
    assert [span.term for span in english_spans(text)] == english_terms(text)
    assert [span.term for span in chinese_spans(text)] == chinese_terms(text)
    assert [span.term for span in chinese_spans(text, widen_runs_up_to=6)] == chinese_terms(text)


@PROPERTIES
@given(TEXTS, st.data())
def test_every_word_shown_is_a_stretch_of_the_original_text(text, data):
    terms = [("en", s.term) for s in english_spans(text)] + [("zh", s.term) for s in chinese_spans(text)]
    chosen = data.draw(st.lists(st.sampled_from(terms), max_size=8, unique=True)) if terms else []
    pulls = [(analyzer, term, data.draw(st.floats(0.01, 5.0))) for analyzer, term in chosen]
    words = shown(text, *pulls)
    assert all(word and word in text for word, _ in words)
    assert len({normalise(word) for word, _ in words}) == len(words)  # nothing listed twice
    assert [w for _, w in words] == sorted((w for _, w in words), reverse=True)
    # Every weight is accounted for, but for entries too light to show (each under MIN_WEIGHT:
    # a weight split over many occurrences) and those past top_n.
    every = shown(text, *pulls, top_n=len(text) + 1)
    total, listed = sum(w for *_, w in pulls), sum(w for _, w in every)
    assert listed <= total + 1e-9
    assert total - listed < surface.MIN_WEIGHT * (len(text) + 1)


# --- on the real model, and on the staff pages -----------------------------------------------


@PROPERTIES
@given(TEXTS)
def test_the_real_models_explanation_shows_only_stretches_of_the_text(model, text):
    explanation = model.explain(text)
    for terms in (explanation.bureau_terms, explanation.area_terms):
        assert all(word in text for word, _ in terms)
        assert [w for _, w in terms] == sorted((w for _, w in terms), reverse=True)


@pytest.mark.parametrize(
    "text, bureau, expected, never",
    [
        ("Roadworks are causing congestion, buses are always late on Nathan Road", "TLB", "Nathan Road", "nathan road"),
        ("运输署应该改善巴士到站时间的显示", "TLB", "运输署", "運輸署"),
        ("ＭＴＲ trains are too crowded", "TLB", "ＭＴＲ", "mtr"),
        ("公立醫院急症室輪候時間太長，希望醫管局改善。", "HHB", "公立醫院", "立醫"),
    ],
)
def test_the_real_model_names_the_words_as_typed(model, text, bureau, expected, never):
    explanation = model.explain(text)
    words = [word for word, _ in explanation.bureau_terms]
    assert explanation.bureau == bureau
    assert expected in words and never not in words
    assert all(word in text for word in words)


def test_staff_pages_show_the_words_the_resident_typed(app, client, browser, login_as, officer, moderator):
    body = "运输署应该改善巴士到站时间的显示，巴士站太少了。"
    sub = factories.submission(body, initiative_code="franchised-bus-real-time-arrival")
    assert (sub.predicted_bureau_code, sub.bureau_code) == ("TLB", officer.bureau_code)
    explanation = routing.explain(sub)
    words = [word for word, _ in explanation.bureau_terms]
    assert "运输署" in words and all(word in body for word in words)
    for user, page in ((officer, f"/bureau/submissions/{sub.id}"), (moderator, f"/moderation/submissions/{sub.id}")):
        login_as(user)
        html = client.get(page).get_data(as_text=True)
        assert '<span class="term">运输署</span>' in html, user.role
        assert '<span class="term">運輸署</span>' not in html and '<span class="term">輸署</span>' not in html
        browser.logout()
