"""Calibration, routing thresholds, the held-out split, off-topic texts and the initiative prior.

Most tests use small toy sets whose right answers are known, so a failure points at the
method, not at the corpus.
"""

from __future__ import annotations

import numpy as np
import pytest

import classifier
from classifier.calibration import expected_calibration_error, fit_prior_weight, fit_temperature, softmax
from classifier.holdout import split_examples
from classifier.thresholds import NEVER, route_thresholds

TOPICS = {
    "TLB": "bus minibus ferry tram railway MTR traffic parking road junction taxi".split(),
    "HHB": "hospital clinic doctor nurse medicine vaccine dentist ambulance surgery patient".split(),
    "EEB": "recycling waste plastic pollution smoke trees noise sewage landfill glass".split(),
}
FILLER = "the service needs better data app online smart district residents system improve faster".split()
LEADS = {"smart-buses": "TLB", "smart-clinics": "HHB", "green-bins": "EEB"}
AREA = {"TLB": "mobility", "HHB": "living", "EEB": "environment"}


def toy_text(rng, bureau: str | None, topical_words: int = 2) -> str:
    words = list(rng.choice(FILLER, 4))
    if bureau:
        words += list(rng.choice(TOPICS[bureau], topical_words))
    rng.shuffle(words)
    return " ".join(words)


def toy_examples(seed: int = 0) -> list[classifier.Example]:
    """Topical texts per bureau, plus texts about an initiative: mostly vague and owned by its lead
    bureau, sometimes clearly about another bureau (the ask belongs elsewhere)."""
    rng = np.random.default_rng(seed)
    examples = [classifier.Example(toy_text(rng, b), AREA[b], b) for b in TOPICS for _ in range(60)]
    slugs = list(LEADS)
    for i in range(150):
        slug = slugs[i % 3]
        if i % 5 == 4:
            other = [b for b in TOPICS if b != LEADS[slug]][i % 2]
            examples.append(classifier.Example(toy_text(rng, other), AREA[other], other, initiative=slug))
        else:
            examples.append(classifier.Example(toy_text(rng, None), AREA[LEADS[slug]], LEADS[slug], initiative=slug))
    return examples


OFF_TOPIC = [
    "hello there",
    "thanks a lot",
    "test test test",
    "asdf qwer zxcv",
    "great football match last night",
    "who won the singing contest",
    "buy cheap watches now",
    "lol",
    "good morning everyone",
    "nice weather today",
    "my cat is cute",
    "the drama on tv was boring",
    "click here for free coins",
    "123 456",
    "hi hi hi",
    "happy birthday",
    "see you tomorrow",
    "that movie was long",
    "best noodles in town",
    "ok ok",
]


@pytest.fixture(scope="module")
def toy_model():
    # TF-IDF alone: these tests are about calibration and the prior, on toy words.
    return classifier.train(toy_examples(), offtopic=OFF_TOPIC * 3, initiative_leads=LEADS, use_semantic=False)


# --- calibration on known data ---------------------------------------------------------


def test_temperature_is_recovered_from_labels_drawn_at_a_known_temperature():
    rng = np.random.default_rng(1)
    logits = rng.normal(0, 3, size=(6000, 5))
    probabilities = softmax(logits / 2.5)
    truth = np.array([rng.choice(5, p=row) for row in probabilities])
    assert fit_temperature(logits, truth) == pytest.approx(2.5, rel=0.1)


def test_expected_calibration_error_of_known_cases():
    confident = np.full(100, 0.9)
    half_right = np.arange(100) % 2 == 0
    assert expected_calibration_error(confident, half_right) == pytest.approx(0.4)
    assert expected_calibration_error(np.full(10, 0.7), np.arange(10) < 7) == pytest.approx(0.0)


def test_prior_weight_is_positive_when_the_lead_is_usually_right_and_zero_when_never():
    rng = np.random.default_rng(2)
    logits = rng.normal(0, 0.5, size=(400, 3))
    lead = np.zeros(400, dtype=int)
    usually = np.where(rng.random(400) < 0.8, 0, 1)
    never = np.ones(400, dtype=int)
    assert fit_prior_weight(logits, usually, lead) > 1.0
    assert fit_prior_weight(logits, never, lead) == pytest.approx(0.0, abs=0.01)


# --- thresholds ------------------------------------------------------------------------


def test_shared_threshold_reaches_the_target_and_rare_classes_share_it():
    # 100 predictions of A and 3 of B, confident ones right, unsure ones wrong.
    confidence = np.concatenate([np.linspace(0.99, 0.5, 100), [0.97, 0.96, 0.6]])
    predicted = np.array(["A"] * 100 + ["B"] * 3)
    correct = np.concatenate([np.arange(100) < 60, [True, True, False]])
    chosen = route_thresholds(predicted, confidence, correct, ["A", "B", "C"], target_precision=0.95)
    routed = confidence >= chosen["shared"]
    assert correct[routed].mean() >= 0.95
    assert chosen["shared"] < 0.8  # most of the 60 right ones are routed
    assert chosen["per_class"]["B"] == chosen["shared"]  # 3 predictions: too few for its own
    assert chosen["per_class"]["C"] == chosen["shared"]  # never predicted: still routable
    assert chosen["per_class"]["A"] < NEVER


def test_a_well_supported_unreliable_class_gets_a_stricter_threshold():
    rng = np.random.default_rng(3)
    confidence = rng.uniform(0.5, 1.0, 400)
    predicted = np.where(np.arange(400) % 4 == 0, "BAD", "GOOD")
    # GOOD is right whenever confident; BAD is right only above 0.95.
    correct = np.where(predicted == "GOOD", confidence > 0.6, confidence > 0.95)
    chosen = route_thresholds(predicted, confidence, correct, ["GOOD", "BAD"], target_precision=0.95)
    assert chosen["per_class"]["BAD"] > chosen["per_class"]["GOOD"]
    bad = predicted == "BAD"
    assert correct[bad & (confidence >= chosen["per_class"]["BAD"])].mean() >= 0.9


# --- the held-out split ----------------------------------------------------------------


def test_held_out_split_is_fixed_stratified_and_never_takes_catalogue_lines():
    examples = toy_examples() + [classifier.Example("official remit text", bureau="TLB", register="catalogue")] * 5
    first, second = split_examples(examples), split_examples(examples)
    assert first == second
    training, held = first
    assert not set(training) & set(held) and len(training) + len(held) == len(examples)
    assert all(examples[i].register != "catalogue" for i in held)
    for bureau in TOPICS:
        share = sum(examples[i].bureau == bureau for i in held) / sum(e.bureau == bureau for e in examples)
        assert 0.2 < share < 0.4


def test_realistic_lines_are_held_out_more_often():
    long_formal = " ".join(["formal question about the railway"] * 10)
    examples = [classifier.Example(long_formal + str(i), bureau="TLB", register="formal") for i in range(200)] + [
        classifier.Example(f"bus late again {i}", bureau="TLB", register="colloquial") for i in range(200)
    ]
    _, held = split_examples(examples)
    colloquial = sum(examples[i].register == "colloquial" for i in held)
    assert colloquial > 0.6 * len(held)


# --- the trained toy model ---------------------------------------------------------------


def test_training_records_calibration_thresholds_and_split(toy_model):
    meta = toy_model.metadata
    assert meta["calibration"]["fitted"] and meta["calibration"]["temperature"]["en"] > 0
    assert meta["held_out"]["examples"] > 0 and len(meta["held_out"]["data_hash"]) == 64
    for bureau in TOPICS:
        threshold = toy_model.route_threshold(bureau, "en")
        assert threshold is not None and threshold < NEVER
        assert toy_model.threshold("bureau", bureau) == pytest.approx(threshold)


def test_initiative_prior_is_learned_and_helps_vague_texts(toy_model):
    assert toy_model.initiative_weight() > 0.5
    vague = "the app service needs better online data"
    [without, with_prior] = toy_model.predict([vague, vague], initiatives=[None, "smart-clinics"])
    assert with_prior.bureau == "HHB"
    assert with_prior.bureau_p > dict(without.bureau_top).get("HHB", 0.0)


def test_a_text_clearly_about_another_bureau_beats_the_initiative_prior(toy_model):
    [p] = toy_model.predict(["the hospital clinic doctor nurse vaccine patient"], initiatives=["smart-buses"])
    assert p.bureau == "HHB"


def test_explain_reports_the_prior_beside_the_words(toy_model):
    explanation = toy_model.explain("the hospital clinic doctor app", initiative="smart-buses")
    assert explanation.initiative_bureau == "TLB"
    assert explanation.initiative_log_odds == pytest.approx(toy_model.initiative_weight())
    assert explanation.bureau == "HHB" and any("hospit" in term for term, _ in explanation.bureau_terms)
    assert classifier.Model.explain(toy_model, "bus ferry").initiative_log_odds == 0.0


def test_off_topic_texts_are_recognised(toy_model):
    [owned, chat] = toy_model.predict(["the minibus and ferry service needs better data", "hello thanks a lot lol"])
    assert owned.off_topic_p < 0.5 < chat.off_topic_p
    assert not toy_model.routes(chat)


def test_without_off_topic_texts_the_probability_is_zero_and_metadata_says_so():
    model = classifier.train(toy_examples(), initiative_leads=LEADS, use_semantic=False)
    assert model.off_topic_head is None
    assert model.predict(["hello thanks a lot"])[0].off_topic_p == 0.0
    assert "no off-topic texts" in model.metadata["off_topic"]["note"]


def test_the_chosen_area_is_returned_as_certain(toy_model):
    [p] = toy_model.predict(["bus ferry traffic"], areas=["people"])
    assert (p.area, p.area_p) == ("people", 1.0) and p.area_top[0] == ("people", 1.0)


def test_off_topic_model_and_calibration_survive_the_artifact(toy_model):
    data = classifier.to_bytes(toy_model)
    loaded = classifier.from_bytes(data, sha256=classifier.sha256_hex(data))
    texts, initiatives = ["hello thanks a lot lol", "the clinic app"], [None, "smart-buses"]
    assert loaded.predict(texts, initiatives=initiatives) == toy_model.predict(texts, initiatives=initiatives)
    assert loaded.route_threshold("TLB", "en") == toy_model.route_threshold("TLB", "en")


def test_a_tiny_training_set_trains_uncalibrated_without_thresholds():
    examples = [classifier.Example("bus late", "mobility", "TLB"), classifier.Example("clinic queue", "living", "HHB")]
    model = classifier.train(examples)
    assert model.route_threshold("TLB", "en") is None and not model.routes(model.predict(["bus late"])[0])
    assert model.predict(["bus late"])[0].bureau == "TLB"
