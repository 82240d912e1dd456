"""Dawid-Skene EM: recovering the truth from reliable workers, confusion matrices, gold, prior."""

from __future__ import annotations

import numpy as np
import pytest

from consolidation import (
    ConsolidationError,
    DawidSkene,
    MajorityVote,
    WorkerSkill,
)
from consolidation.classification import prior_confusion_counts
from tests.unit.consolidation.data_classification import (
    ADVERSARY,
    ADVERSARY_GOLD,
    ADVERSARY_WITH_GOLD,
    ADVERSARY_WITHOUT_GOLD,
    BALANCED,
    CALIBRATION,
    CALIBRATION_LABELS,
    NOISY_CROWD,
    NOISY_TRUTH,
    NOISY_WORKERS,
    TOY,
    encoded,
)


def _labels(result) -> dict[str, str]:
    return {o.task_id: o.value for o in result.outcomes()}


@pytest.mark.parametrize("calibration", ["loo-temperature", "none"])
def test_dawid_skene_recovers_the_truth_where_majority_vote_fails(calibration):
    answers = encoded(NOISY_CROWD, NOISY_WORKERS)

    majority = _labels(MajorityVote().aggregate(answers))
    dawid_skene = _labels(DawidSkene(calibration=calibration).aggregate(answers))

    assert dawid_skene == NOISY_TRUTH
    assert sum(majority[i] == NOISY_TRUTH[i] for i in NOISY_TRUTH) == 9


def test_dawid_skene_learns_who_is_reliable():
    result = DawidSkene().aggregate(encoded(NOISY_CROWD, NOISY_WORKERS))
    skills = {s.worker_id: s for s in result.worker_skills()}

    assert skills["r1"].accuracy > 0.99
    assert skills["r2"].accuracy > 0.99
    for noisy in ("n1", "n2", "n3"):
        assert skills[noisy].accuracy < 0.7
        # Their signature error: "cat" for a dog.
        confusion = skills[noisy].confusion
        assert confusion is not None
        assert confusion["dog"]["cat"] > 0.5
    assert {s.answers for s in skills.values()} == {12}


@pytest.mark.parametrize(
    ("table", "workers"),
    [(TOY, None), (NOISY_CROWD, NOISY_WORKERS), (CALIBRATION, None), ({"q1": "a b c"}, None)],
)
@pytest.mark.parametrize("smoothing", [0.0, 0.01, 1.0])
def test_dawid_skene_confusion_rows_sum_to_one(table, workers, smoothing):
    answers = encoded(table, workers) if workers else encoded(table)

    result = DawidSkene(smoothing=smoothing).aggregate(answers)

    assert result.confusion is not None
    assert result.confusion.shape == (answers.n_workers, answers.n_labels, answers.n_labels)
    np.testing.assert_allclose(result.confusion.sum(axis=2), 1.0)
    assert np.all(result.confusion >= 0)
    np.testing.assert_allclose(result.posteriors.sum(axis=1), 1.0)
    assert np.all((result.accuracy >= 0) & (result.accuracy <= 1))
    for skill in result.worker_skills():
        assert skill.confusion is not None
        for row in skill.confusion.values():
            assert sum(row.values()) == pytest.approx(1.0)


def test_dawid_skene_calibration_never_changes_labels():
    answers = encoded(CALIBRATION)

    calibrated = DawidSkene().aggregate(answers)
    raw = DawidSkene(calibration="none").aggregate(answers)

    assert _labels(calibrated) == _labels(raw) == CALIBRATION_LABELS
    np.testing.assert_array_equal(calibrated.label_index, raw.label_index)


def test_dawid_skene_calibration_tempers_over_confident_posteriors():
    answers = encoded(CALIBRATION)

    calibrated = DawidSkene().aggregate(answers)
    raw = DawidSkene(calibration="none").aggregate(answers)

    assert calibrated.diagnostics["temperature"] < 1.0
    assert raw.diagnostics["temperature"] == 1.0
    assert np.all(calibrated.confidence <= raw.confidence + 1e-12)
    assert calibrated.confidence[0] < raw.confidence[0]


def test_dawid_skene_gold_exposes_adversaries():
    answers = encoded(ADVERSARY)

    without = _labels(DawidSkene().aggregate(answers))
    result = DawidSkene().aggregate(answers, gold=ADVERSARY_GOLD)
    with_gold = {o.task_id: o for o in result.outcomes()}

    assert {i: without[i] for i in ADVERSARY_WITHOUT_GOLD} == ADVERSARY_WITHOUT_GOLD
    assert {i: with_gold[i].value for i in ADVERSARY_WITH_GOLD} == ADVERSARY_WITH_GOLD
    for item, label in ADVERSARY_GOLD.items():
        assert (with_gold[item].value, with_gold[item].confidence) == (label, 1.0)
        assert with_gold[item].evidence["gold"] is True
    w1, w2, w3 = result.accuracy.tolist()
    assert w1 < 0.1 and w2 < 0.1 and w3 > 0.9


def test_dawid_skene_gold_label_outside_the_vocabulary_names_the_item():
    with pytest.raises(ConsolidationError, match=r"item 't1'.*'maybe'"):
        DawidSkene().aggregate(encoded(TOY), gold={"t1": "maybe"})


def test_dawid_skene_gold_for_an_unknown_item_is_ignored():
    answers = encoded(TOY)

    with_extra = DawidSkene().aggregate(answers, gold={"elsewhere": "yes"})
    plain = DawidSkene().aggregate(answers)

    assert with_extra.outcomes() == plain.outcomes()
    assert with_extra.gold.tolist() == []


@pytest.mark.parametrize(
    "prior",
    [
        {"w1": WorkerSkill("w1", 20, 0.55), "w2": WorkerSkill("w2", 20, 0.95)},
        {
            "w2": WorkerSkill(
                "w2", 20, 0.95, {"cat": {"cat": 0.95, "dog": 0.05}, "dog": {"dog": 0.95}}
            )
        },
    ],
    ids=["accuracy", "confusion"],
)
def test_dawid_skene_prior_breaks_balanced_evidence(prior):
    without = DawidSkene().aggregate(encoded(BALANCED)).outcomes()[0]
    with_prior = DawidSkene().aggregate(encoded(BALANCED), prior=prior).outcomes()[0]

    assert (without.value, without.confidence) == ("cat", 0.5)
    assert with_prior.value == "dog"
    assert with_prior.confidence > 0.9


def test_prior_confusion_counts_spreads_accuracy_evenly_over_errors():
    answers = encoded({"q1": "a b c"})

    counts = prior_confusion_counts(answers, {"w2": WorkerSkill("w2", 5, 0.8)}, strength=10.0)

    assert counts is not None
    np.testing.assert_allclose(counts[0], 0.0)
    np.testing.assert_allclose(counts[1], [[8, 1, 1], [1, 8, 1], [1, 1, 8]])
    np.testing.assert_allclose(counts[2], 0.0)


def test_prior_confusion_counts_rescales_confusion_rows_and_fills_missing_rows_evenly():
    answers = encoded({"q1": "a b"})
    skill = WorkerSkill("w1", 5, 0.9, {"a": {"a": 3.0, "b": 1.0, "z": 4.0}})

    counts = prior_confusion_counts(answers, {"w1": skill}, strength=4.0)

    assert counts is not None
    # Row "a": the labels outside the vocabulary are dropped, the rest rescaled to 4 answers;
    # row "b" is missing, so its 4 answers are spread evenly.
    np.testing.assert_allclose(counts[0], [[3.0, 1.0], [2.0, 2.0]])
    np.testing.assert_allclose(counts[1], 0.0)


@pytest.mark.parametrize(
    ("prior", "strength"),
    [
        (None, 10.0),
        ({}, 10.0),
        ({"stranger": WorkerSkill("stranger", 1, 0.9)}, 10.0),
        ({"w1": WorkerSkill("w1", 1, 0.9)}, 0.0),
    ],
)
def test_prior_confusion_counts_is_none_when_no_prior_applies(prior, strength):
    assert prior_confusion_counts(encoded({"q1": "a b"}), prior, strength) is None


def test_dawid_skene_diagnostics_report_the_run():
    result = DawidSkene().aggregate(encoded(NOISY_CROWD, NOISY_WORKERS))
    diagnostics = result.diagnostics

    assert diagnostics["converged"] is True
    assert 1 <= diagnostics["iterations"] <= 100
    assert np.isfinite(diagnostics["log_likelihood"])
    assert sum(diagnostics["class_prior"].values()) == pytest.approx(1.0)
    assert set(diagnostics["class_prior"]) == {"cat", "dog"}
    assert result.method == "dawid-skene"


def test_dawid_skene_max_iter_one_stops_without_converging():
    result = DawidSkene(max_iter=1).aggregate(encoded(TOY))

    assert result.diagnostics["iterations"] == 1
    assert result.diagnostics["converged"] is False


@pytest.mark.parametrize(
    "params",
    [{"max_iter": 0}, {"smoothing": -0.1}, {"tol": -1.0}, {"prior_strength": -1.0}],
)
def test_dawid_skene_rejects_bad_hyperparameters(params):
    with pytest.raises(ConsolidationError):
        DawidSkene(**params)
