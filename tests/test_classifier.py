"""The classifier library on its own: features, prediction, thresholds, artifacts, CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import classifier
from classifier.cli import InputError, read_texts
from classifier.text import chinese_terms, english_terms, normalise

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def model(model_artifact):
    return classifier.from_bytes(model_artifact, sha256=classifier.sha256_hex(model_artifact))


@pytest.fixture(scope="module")
def model_file(model, tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "model.npz"
    classifier.save(model, path)
    return path


def run_cli(*args, stdin=""):
    return subprocess.run(
        [sys.executable, "-m", "classifier", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )


def test_english_terms_are_stemmed_words_and_bigrams():
    terms = english_terms("The buses are arriving late")
    assert "buse" in terms or "bus" in terms
    assert "arriv" in terms
    assert "the" not in terms
    assert any(" " in t for t in terms)


def test_chinese_terms_are_character_ngrams_and_scripts_are_unified():
    assert "巴士" in chinese_terms("巴士遲到")
    assert normalise("医院轮候时间太长") == normalise("醫院輪候時間太長")
    assert chinese_terms("医院") == chinese_terms("醫院")


def test_the_library_does_not_import_flask():
    code = "import sys, classifier; sys.exit('flask' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0


@pytest.mark.parametrize(
    "text, area, bureau",
    [
        ("The MTR and bus arrival times on HKeMobility are often wrong at my stop in Sha Tin.", "mobility", "TLB"),
        ("公立醫院急症室輪候時間太長，希望醫管局改善。", "living", "HHB"),
        ("公立医院急症室轮候时间太长，希望医管局改善。", "living", "HHB"),
        ("My son's secondary school needs better STEM teaching and more computers for e-learning.", "people", "EDB"),
    ],
)
def test_clear_views_go_to_the_obvious_place(model, text, area, bureau):
    prediction = model.predict([text])[0]
    assert (prediction.area, prediction.bureau) == (area, bureau)


def test_predictions_carry_ranked_probabilities(model):
    [p] = model.predict(["Please add more recycling bins for plastic bottles in our estate."], top_k=3)
    assert len(p.bureau_top) == 3 and len(p.area_top) == 3
    assert p.bureau_top[0] == (p.bureau, p.bureau_p)
    assert p.area_top[0] == (p.area, p.area_p)
    probabilities = [prob for _, prob in p.bureau_top]
    assert probabilities == sorted(probabilities, reverse=True)
    assert 0 < p.bureau_p <= 1 and set(model.metadata["bureaus"]) == set(classifier.BUREAUS)


def test_explain_names_the_words_behind_a_prediction(model):
    explanation = model.explain("Franchised bus routes in Tuen Mun are always late")
    assert explanation.bureau == "TLB"
    assert any("bus" in term for term, _ in explanation.bureau_terms)


def test_thresholds_reach_the_target_precision_on_validation_predictions():
    classes = np.array(["A", "B"])
    # Confident A predictions are right, unsure ones wrong; B is too rare to trust.
    p_a = [0.95, 0.9, 0.85, 0.8, 0.75, 0.6, 0.55]
    labels = np.array(["A", "A", "A", "A", "A", "B", "B", "B"])
    probabilities = np.array([[p, 1 - p] for p in p_a] + [[0.2, 0.8]])
    thresholds = classifier.choose_thresholds(labels, classes, probabilities, target_precision=0.9)
    assert thresholds["A"] == 0.75
    assert thresholds["B"] > 1  # never routed without review


def test_artifact_loads_only_with_its_hash(model_artifact):
    with pytest.raises(classifier.ArtifactIntegrityError):
        classifier.from_bytes(model_artifact, sha256="0" * 64)
    tampered = model_artifact[:-1] + bytes([model_artifact[-1] ^ 1])
    with pytest.raises(classifier.ArtifactIntegrityError):
        classifier.from_bytes(tampered, sha256=classifier.sha256_hex(model_artifact))
    with pytest.raises(classifier.ArtifactError):
        classifier.from_bytes(b"not a model", sha256=classifier.sha256_hex(b"not a model"))


def test_saved_model_round_trips_with_its_metadata(model, model_file):
    loaded = classifier.load(model_file)
    assert loaded.metadata["training_data_hash"] == model.metadata["training_data_hash"]
    text = "Water pipes burst again on our street"
    assert loaded.predict([text])[0] == model.predict([text])[0]


def test_bad_training_line_is_reported_with_its_place(tmp_path):
    path = tmp_path / "corpus_bad.jsonl"
    path.write_text('{"text": "ok text", "area": "living", "bureau": "HB"}\n{"text": "x", "area": "moon"}\n')
    with pytest.raises(classifier.DataError, match=r"corpus_bad.jsonl:2: unknown area 'moon'"):
        classifier.load_examples([path])


def test_training_data_hash_changes_with_the_data():
    a = [classifier.Example("bus is late", "mobility", "TLB")]
    b = [classifier.Example("bus is late", "mobility", "HB")]
    assert classifier.data_hash(a) != classifier.data_hash(b)


@pytest.mark.parametrize(
    "line, message",
    [
        ("not json", "line 1: not valid JSON"),
        ('["text"]', 'line 1: expected an object with a "text" string'),
        ('{"text": 3}', 'line 1: expected an object with a "text" string'),
        ('{"text": "  "}', 'line 1: "text" is empty'),
    ],
)
def test_predict_input_errors_name_the_line(line, message):
    with pytest.raises(InputError, match=message):
        read_texts([line + "\n"])


def test_cli_predict_writes_one_line_per_input(model_file):
    texts = ["The bus to the airport was full", "公屋輪候時間太長", "eTAX login keeps failing"]
    result = run_cli(
        "predict", "--model", str(model_file), stdin="".join(json.dumps({"text": t}) + "\n" for t in texts)
    )
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 3
    for row in rows:
        assert set(row) == {"area", "area_p", "bureau", "bureau_p", "bureau_top3", "area_top3", "off_topic_p", "lang"}
        assert row["area"] in classifier.AREAS and row["bureau"] in classifier.BUREAUS
        assert row["bureau_top3"][0] == [row["bureau"], row["bureau_p"]] and len(row["area_top3"]) == 3
    assert rows[1]["bureau"] == "HB"


def test_cli_predict_refuses_a_bad_line_without_a_traceback(model_file):
    stdin = json.dumps({"text": "fine"}) + "\n" + "{broken\n"
    result = run_cli("predict", "--model", str(model_file), stdin=stdin)
    assert result.returncode == 2
    assert "line 2: not valid JSON" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_cli_predict_reports_a_missing_model(tmp_path):
    result = run_cli("predict", "--model", str(tmp_path / "nope.npz"), stdin='{"text": "hello there"}\n')
    assert result.returncode == 2 and "no such file" in result.stderr and "Traceback" not in result.stderr


def test_cli_train_writes_a_loadable_model(tmp_path):
    data = tmp_path / "corpus_small.jsonl"
    rows = [
        ("bus late again", "mobility", "TLB"),
        ("minibus route too slow", "mobility", "TLB"),
        ("hospital queue too long", "living", "HHB"),
        ("clinic waiting time", "living", "HHB"),
    ]
    data.write_text("".join(json.dumps({"text": t, "area": a, "bureau": b}) + "\n" for t, a, b in rows))
    out = tmp_path / "m.npz"
    result = run_cli("train", "--out", str(out), "--data", str(data), "--no-catalogue")
    assert result.returncode == 0, result.stderr
    assert classifier.load(out).predict(["the bus is late"])[0].bureau == "TLB"


def test_a_model_from_an_older_feature_format_is_refused(model):
    old = classifier.Model(model.features, model.area_head, model.bureau_head, {**model.metadata, "format_version": 1})
    data = classifier.to_bytes(old)
    with pytest.raises(classifier.ArtifactError, match="train a new version"):
        classifier.from_bytes(data, sha256=classifier.sha256_hex(data))


def test_cli_predict_skips_blank_lines_and_takes_context(model_file):
    stdin = (
        "\n"
        + json.dumps({"text": "The bus to the airport was full", "area": "people"})
        + "\n"
        + "   \n"
        + json.dumps({"text": "Smart lamppost data should be open", "initiative": "multi-functional-smart-lampposts"})
        + "\n\n"
    )
    result = run_cli("predict", "--model", str(model_file), stdin=stdin)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 2
    assert (rows[0]["area"], rows[0]["area_p"]) == ("people", 1.0) and rows[0]["area_top3"][0] == ["people", 1.0]
    assert rows[0]["bureau"] == "TLB"
    assert all(0.0 <= row["off_topic_p"] <= 1.0 for row in rows)


@pytest.mark.parametrize(
    "line, message",
    [
        ('{"text": "bus", "area": "moon"}', "line 2: unknown area 'moon'"),
        ('{"text": "bus", "initiative": 7}', 'line 2: "initiative" must be a non-empty string or null'),
    ],
)
def test_cli_predict_refuses_bad_context_and_writes_nothing(model_file, line, message):
    stdin = json.dumps({"text": "fine"}) + "\n" + line + "\n"
    result = run_cli("predict", "--model", str(model_file), stdin=stdin)
    assert result.returncode == 2 and message in result.stderr and result.stdout == ""


def test_blank_input_lines_are_not_requests_but_their_numbers_count():
    with pytest.raises(InputError, match="line 3: not valid JSON"):
        read_texts(["\n", '{"text": "ok"}\n', "oops\n"])
    assert read_texts(["\n", '{"text": "ok"}\n', "\n"]) == ["ok"]


def test_the_lead_bureau_of_every_catalogue_initiative_is_in_the_model(model):
    leads = model.metadata["initiative_leads"]
    assert len(leads) > 100 and set(leads.values()) <= set(classifier.BUREAUS)


def test_routing_thresholds_exist_for_every_bureau_in_both_languages(model):
    for lang in ("en", "zh"):
        for bureau in classifier.BUREAUS:
            assert model.route_threshold(bureau, lang) is not None


@pytest.mark.slow  # cross-validates and draws figures (about 15 s)
def test_cli_evaluate_writes_a_report_with_figures(tmp_path):
    rows = [(f"bus {w} late again", "TLB") for w in "red blue green gold pink grey teal navy lime plum".split()] + [
        (f"clinic {w} queue too long", "HHB") for w in "red blue green gold pink grey teal navy lime plum".split()
    ]
    data = tmp_path / "corpus_small.jsonl"
    data.write_text(
        "".join(
            json.dumps({"text": t, "bureau": b, "area": "mobility" if b == "TLB" else "living"}) + "\n" for t, b in rows
        )
    )
    held = tmp_path / "held.jsonl"
    held.write_text(
        json.dumps({"text": "the bus is late", "bureau_code": "TLB"})
        + "\n"
        + json.dumps({"text": "醫院 clinic queue", "bureau_code": "HHB"})
        + "\n"
    )
    out = tmp_path / "report"
    result = run_cli(
        "evaluate",
        "--data",
        str(data),
        "--no-catalogue",
        "--no-offtopic",
        "--folds",
        "2",
        "--eval",
        str(held),
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "corpus CV (en)" in report and "held (en)" in report and "ECE before calibration" in report
    assert (out / "reliability-en.png").stat().st_size > 1000
    assert (out / "precision-coverage-en.png").exists() and (out / "confusion-corpus-cv-en.png").exists()


@pytest.fixture(scope="module")
def scikit_learn_fit():
    """scikit-learn's own vectorisers and estimators, fitted on part of the corpus, and the plain
    numbers training keeps of them (what every prediction uses)."""
    from scipy.sparse import hstack

    from classifier import training

    examples = classifier.load_examples(classifier.default_data_paths())[::4]
    texts, labels = [e.text for e in examples if e.bureau], [e.bureau for e in examples if e.bureau]
    vectorizers = [(name, v.fit(texts)) for name, v in training.build_vectorizers(texts)]
    matrix = hstack([v.transform(texts) for _, v in vectorizers], format="csr")
    regression = training.build_estimator().fit(matrix, labels)
    bayes = training.build_naive_bayes().fit(matrix, labels)
    plain = classifier.Model(
        training.fit_features(texts),
        training.head(regression),
        training.head(regression),
        {"bureau_mix": training.BUREAU_MIX},
        bureau_nb=bayes.feature_log_prob_.T,
    )
    return vectorizers, regression, bayes, plain


TEXTS = [
    "",
    "bus late late late",
    "公立醫院急症室輪候時間太長",
    "個app成日hang機",
    "医院 医院 hospital",
    "🙂",
    "The MTR platform screen doors are broken again, please fix the doors.",
]


def test_the_plain_feature_path_equals_scikit_learns_transform(scikit_learn_fit):
    from scipy.sparse import hstack

    vectorizers, _, _, plain = scikit_learn_fit
    expected = hstack([v.transform(TEXTS) for _, v in vectorizers]).toarray()
    assert np.abs(plain.features.transform(TEXTS).toarray() - expected).max() < 1e-5


def test_raw_bureau_probabilities_are_the_estimators_own_mix(scikit_learn_fit):
    from scipy.sparse import hstack

    from classifier.calibration import softmax

    vectorizers, regression, bayes, plain = scikit_learn_fit
    matrix = hstack([v.transform(TEXTS) for _, v in vectorizers], format="csr")
    weight = plain.metadata["bureau_mix"]["nb_weight"]
    assert 0 < weight < 1
    mixed = (1 - weight) * regression.decision_function(matrix) + weight * bayes.predict_joint_log_proba(matrix)
    scores = plain.score(TEXTS)
    assert list(scores.classes) == list(regression.classes_)
    assert np.abs(scores.raw - softmax(mixed)).max() < 1e-4
    predictions = plain.predict(TEXTS, top_k=15)
    # Uncalibrated here; calibration changes confidence, never the order.
    assert [p.bureau for p in predictions] == list(regression.classes_[softmax(mixed).argmax(axis=1)])


def test_prediction_loads_no_scikit_learn(model_file):
    code = (
        "import sys; sys.modules['sklearn'] = None; import classifier; "
        f"m = classifier.load({str(model_file)!r}); print(m.predict(['The bus is late'], use_semantic=False)[0].bureau)"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == "TLB", result.stderr


def test_explain_shows_the_initiative_prior_on_the_real_model(model):
    slug, lead = next(iter(model.metadata["initiative_leads"].items()))
    explanation = model.explain("The waiting time is too long", initiative=slug)
    assert explanation.initiative_bureau == lead
    assert explanation.initiative_log_odds == pytest.approx(model.initiative_weight(model.semantic is not None))
    assert model.explain("The waiting time is too long").initiative_log_odds == 0.0


def test_a_clear_text_about_another_bureau_beats_the_initiatives_lead_on_the_real_model(model):
    assert (
        model.initiative_weight(True) > 0 and model.initiative_weight(False) > 0
    )  # learned from corpus lines that name an initiative
    text = "公立醫院急症室輪候時間太長，希望醫管局改善。"
    [plain, with_transport_initiative] = model.predict(
        [text, text],
        top_k=15,
        initiatives=[None, "traffic-data-analytics-system"],
    )
    assert model.lead_bureau("traffic-data-analytics-system") == "TLB"
    assert plain.bureau == with_transport_initiative.bureau == "HHB"
    # The prior still moved the odds toward the lead bureau, by exactly its learned weight.
    odds = [dict(p.bureau_top)["TLB"] / dict(p.bureau_top)["EEB"] for p in (plain, with_transport_initiative)]
    assert plain.semantic == (model.semantic is not None)
    assert np.log(odds[1] / odds[0]) == pytest.approx(model.initiative_weight(plain.semantic), rel=1e-3)


def test_corpus_lines_carry_initiative_and_register_and_offtopic_lines_only_text(tmp_path):
    corpus = tmp_path / "corpus_x.jsonl"
    corpus.write_text(
        json.dumps(
            {
                "text": "個app成日hang機",
                "bureau": "ITIB",
                "initiative": "iam-smart",
                "register": "mixed",
                "lang": "zh-Hant",
            }
        )
        + "\n\n",
        encoding="utf-8",
    )
    [example] = classifier.load_examples([corpus])
    assert (example.bureau, example.initiative, example.register) == ("ITIB", "iam-smart", "mixed")
    offtopic = tmp_path / "offtopic_x.jsonl"
    offtopic.write_text('{"text": "hello", "lang": "en", "kind": "chitchat"}\n{"text": ""}\n', encoding="utf-8")
    with pytest.raises(classifier.DataError, match=r"offtopic_x\.jsonl:2: empty text"):
        classifier.load_offtopic([offtopic])
    offtopic.write_text('{"text": "hello", "lang": "en", "kind": "chitchat"}\n', encoding="utf-8")
    assert classifier.load_offtopic([offtopic]) == ["hello"]
    bad = tmp_path / "corpus_bad.jsonl"
    bad.write_text(json.dumps({"text": "bus", "bureau": "TLB", "initiative": 3}) + "\n", encoding="utf-8")
    with pytest.raises(classifier.DataError, match="'initiative' must be a non-empty string"):
        classifier.load_examples([bad])
