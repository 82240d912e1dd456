"""One-coin Dawid-Skene: one accuracy per worker, gold anchors and prior pseudo-answers."""

from __future__ import annotations

import numpy as np
import pytest

from consolidation import ConsolidationError, OneCoinDawidSkene, WorkerSkill
from tests.unit.consolidation.data_classification import (
    ADVERSARY,
    ADVERSARY_GOLD,
    ADVERSARY_WITH_GOLD,
    ADVERSARY_WITHOUT_GOLD,
    BALANCED,
    CALIBRATION,
    CALIBRATION_LABELS,
    encoded,
)


def test_one_coin_unanimous_crowd_keeps_every_label_and_raises_every_accuracy():
    result = OneCoinDawidSkene().aggregate(encoded({"q1": "a a a", "q2": "b b b", "q3": "c c c"}))

    assert [o.value for o in result.outcomes()] == ["a", "b", "c"]
    assert np.all(result.accuracy > 0.7)
    assert np.all(result.confidence > 0.99)


def test_one_coin_follows_the_clear_majorities():
    result = OneCoinDawidSkene().aggregate(encoded(CALIBRATION))

    assert {o.task_id: o.value for o in result.outcomes()} == CALIBRATION_LABELS


def test_one_coin_has_one_accuracy_and_no_confusion_matrix():
    result = OneCoinDawidSkene().aggregate(encoded(CALIBRATION))

    assert result.confusion is None
    assert all(s.confusion is None for s in result.worker_skills())
    assert np.all((result.accuracy > 0) & (result.accuracy < 1))
    # Outside the two tied items, w1 and w3 always side with the majority; w2 and w4 break
    # from a clear majority twice each.
    w1, w2, w3, w4 = result.accuracy.tolist()
    assert w1 == pytest.approx(w3)
    assert w2 == pytest.approx(w4)
    assert w1 > w2


def test_one_coin_gold_exposes_adversaries():
    answers = encoded(ADVERSARY)

    without = OneCoinDawidSkene().aggregate(answers).outcomes()
    result = OneCoinDawidSkene().aggregate(answers, gold=ADVERSARY_GOLD)
    with_gold = {o.task_id: o for o in result.outcomes()}

    assert {o.task_id: o.value for o in without if o.task_id in ADVERSARY_WITHOUT_GOLD} == (
        ADVERSARY_WITHOUT_GOLD
    )
    assert {i: with_gold[i].value for i in ADVERSARY_WITH_GOLD} == ADVERSARY_WITH_GOLD
    for item, label in ADVERSARY_GOLD.items():
        assert (with_gold[item].value, with_gold[item].confidence) == (label, 1.0)
    w1, w2, w3 = result.accuracy.tolist()
    assert w1 < 0.5 and w2 < 0.5 and w3 > 0.5


def test_one_coin_prior_breaks_balanced_evidence():
    prior = {"w1": WorkerSkill("w1", 20, 0.55), "w2": WorkerSkill("w2", 20, 0.95)}

    without = OneCoinDawidSkene().aggregate(encoded(BALANCED)).outcomes()[0]
    with_prior = OneCoinDawidSkene().aggregate(encoded(BALANCED), prior=prior).outcomes()[0]

    assert (without.value, without.confidence) == ("cat", 0.5)
    assert with_prior.value == "dog"
    assert with_prior.confidence > 0.5


def test_one_coin_stronger_prior_means_more_confidence():
    prior = {"w2": WorkerSkill("w2", 20, 0.95)}
    answers = encoded(BALANCED)

    weak = OneCoinDawidSkene(prior_strength=2).aggregate(answers, prior=prior)
    strong = OneCoinDawidSkene(prior_strength=50).aggregate(answers, prior=prior)

    assert weak.outcomes()[0].value == strong.outcomes()[0].value == "dog"
    assert strong.confidence[0] > weak.confidence[0]


def test_one_coin_diagnostics_report_the_run():
    result = OneCoinDawidSkene().aggregate(encoded(CALIBRATION))

    assert result.diagnostics["converged"] is True
    assert result.diagnostics["iterations"] >= 1
    assert np.isfinite(result.diagnostics["log_likelihood"])
    assert result.method == "one-coin-dawid-skene"


@pytest.mark.parametrize(
    "params",
    [
        {"initial_accuracy": 0.0},
        {"initial_accuracy": 1.0},
        {"max_iter": 0},
        {"smoothing": -1.0},
        {"prior_strength": -1.0},
    ],
)
def test_one_coin_rejects_bad_hyperparameters(params):
    with pytest.raises(ConsolidationError):
        OneCoinDawidSkene(**params)
