"""Text the platform will really receive: both scripts, Cantonese, mixed, empty, huge."""

from __future__ import annotations

import time

import pytest

import classifier
from classifier.text import chinese_terms, english_terms, language


@pytest.fixture(scope="module")
def model(model_artifact):
    return classifier.from_bytes(model_artifact, sha256=classifier.sha256_hex(model_artifact))


@pytest.mark.parametrize(
    "text, lang",
    [
        ("The bus is late again", "en"),
        ("巴士又遲到", "zh"),
        ("巴士又迟到", "zh"),
        ("架巴士成日遲到，搞乜嘢？", "zh"),
        ("個app成日hang機", "zh"),
        ("I called 1823 about the 垃圾站 smell but nobody came", "en"),
        ("", "en"),
        ("🙂🙂", "en"),
    ],
)
def test_language_follows_the_script_that_dominates(text, lang):
    assert language(text) == lang


def test_cantonese_and_mixed_text_give_chinese_and_english_terms():
    mixed = "個app成日hang機，唔該改善下"
    assert "hang" in english_terms(mixed)
    assert "唔該" in chinese_terms(mixed)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "🙂🙂🙂",
        "！？。",
        "架巴士成日遲到，搞乜嘢？",
        "個app成日hang機",
        "医院轮候时间太长",
        "x" * 5,
    ],
)
def test_any_text_gets_a_prediction_with_probabilities(model, text):
    [p] = model.predict([text])
    assert p.bureau in classifier.BUREAUS and 0.0 <= p.bureau_p <= 1.0
    assert 0.0 <= p.off_topic_p <= 1.0 and p.lang in ("en", "zh")
    assert sum(prob for _, prob in model.predict([text], top_k=15)[0].bureau_top) == pytest.approx(1.0)


def test_simplified_and_traditional_get_the_same_prediction(model):
    [traditional, simplified] = model.predict(["公共圖書館的網上預約系統經常當機", "公共图书馆的网上预约系统经常当机"])
    assert traditional.bureau == simplified.bureau
    assert traditional.bureau_p == pytest.approx(simplified.bureau_p)


def test_a_huge_text_is_predicted_in_reasonable_time(model):
    huge = "The MTR platform screen doors at my station are broken again. " * 3000 + "港鐵月台幕門又壞了。" * 3000
    started = time.perf_counter()
    [p] = model.predict([huge])
    assert time.perf_counter() - started < 10
    assert p.bureau in classifier.BUREAUS
