"""Weighted vote: leave-one-out agreement weights, gold anchors and prior pseudo-answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from consolidation import ConsolidationError, WeightedVote, WorkerSkill
from tests.unit.consolidation.data_classification import (
    ADVERSARY,
    ADVERSARY_GOLD,
    ADVERSARY_WITH_GOLD,
    ADVERSARY_WITHOUT_GOLD,
    BALANCED,
    encoded,
)


def _log_odds(accuracy: float, k: int) -> float:
    return math.log((k - 1) * accuracy / (1 - accuracy))


def test_weighted_vote_single_answers_keep_the_starting_accuracy_as_confidence():
    # Nobody else answered these items, so no answer is judged: every worker keeps the
    # smoothing pseudo-answers' accuracy, and under the uniform-error model that is the confidence.
    result = WeightedVote().aggregate(encoded({"q1": "cat", "q2": "- dog", "q3": "- - bird"}))

    assert result.accuracy.tolist() == pytest.approx([0.7, 0.7, 0.7])
    assert [(o.value, o.confidence) for o in result.outcomes()] == [
        ("cat", 0.7),
        ("dog", 0.7),
        ("bird", 0.7),
    ]


def test_weighted_vote_leave_one_out_by_hand():
    # One round on "cat cat dog" from the starting accuracy 0.7 (2 pseudo-answers):
    # w1's peers are w2 (cat) and w3 (dog), equally weighted: a tie, so half a right answer;
    # w2 likewise; w3's peers both say cat: wrong.
    result = WeightedVote(rounds=1).aggregate(encoded({"q1": "cat cat dog"}))

    a_majority = (0.5 + 2 * 0.7) / 3
    a_minority = (0.0 + 2 * 0.7) / 3
    assert result.accuracy.tolist() == pytest.approx([a_majority, a_majority, a_minority])
    cat = 2 * _log_odds(a_majority, 2)
    dog = _log_odds(a_minority, 2)
    expected_cat = math.exp(cat) / (math.exp(cat) + math.exp(dog))
    assert result.posteriors[0].tolist() == pytest.approx([expected_cat, 1 - expected_cat])


@pytest.mark.parametrize("rounds", [1, 2, 5])
def test_weighted_vote_skill_does_not_depend_on_label_names(rounds):
    # The same crowd with the two label names swapped must give every worker the same skill.
    table = {"q1": "a a b", "q2": "a b a", "q3": "b - b"}
    swapped = {
        item: row.replace("a", "x").replace("b", "a").replace("x", "b")
        for item, row in table.items()
    }

    plain = WeightedVote(rounds=rounds).aggregate(encoded(table))
    mirrored = WeightedVote(rounds=rounds).aggregate(encoded(swapped))

    np.testing.assert_allclose(mirrored.accuracy, plain.accuracy)
    np.testing.assert_allclose(mirrored.posteriors[:, ::-1], plain.posteriors)


def test_weighted_vote_gold_exposes_adversaries():
    answers = encoded(ADVERSARY)

    without = WeightedVote().aggregate(answers).outcomes()
    with_gold = WeightedVote().aggregate(answers, gold=ADVERSARY_GOLD).outcomes()

    assert {o.task_id: o.value for o in without if o.task_id.startswith("q")} == (
        ADVERSARY_WITHOUT_GOLD
    )
    assert {o.task_id: o.value for o in with_gold if o.task_id.startswith("q")} == (
        ADVERSARY_WITH_GOLD
    )
    assert {o.task_id: (o.value, o.confidence) for o in with_gold if o.task_id.startswith("g")} == {
        item: (label, 1.0) for item, label in ADVERSARY_GOLD.items()
    }


def test_weighted_vote_gold_lowers_the_adversaries_accuracy():
    result = WeightedVote().aggregate(encoded(ADVERSARY), gold=ADVERSARY_GOLD)

    w1, w2, w3 = result.accuracy.tolist()
    assert w1 == w2 < 0.5 < w3


def test_weighted_vote_prior_adds_pseudo_answers_at_the_earlier_accuracy():
    # A single answer is never judged, so accuracy = (2 * 0.7 + 10 * 0.95) / (2 + 10).
    prior = {"w1": WorkerSkill("w1", 50, 0.95)}

    result = WeightedVote().aggregate(encoded({"q1": "cat", "q2": "- dog"}), prior=prior)

    expected = (2 * 0.7 + 10 * 0.95) / 12
    assert result.accuracy.tolist() == pytest.approx([expected, 0.7])
    assert result.outcomes()[0].confidence == round(expected, 4)


def test_weighted_vote_prior_strength_zero_ignores_the_prior():
    prior = {"w1": WorkerSkill("w1", 50, 0.95)}

    result = WeightedVote(prior_strength=0).aggregate(encoded({"q1": "cat"}), prior=prior)

    assert result.accuracy.tolist() == pytest.approx([0.7])


def test_weighted_vote_prior_breaks_balanced_evidence():
    prior = {"w1": WorkerSkill("w1", 20, 0.55), "w2": WorkerSkill("w2", 20, 0.95)}

    without = WeightedVote().aggregate(encoded(BALANCED)).outcomes()[0]
    with_prior = WeightedVote().aggregate(encoded(BALANCED), prior=prior).outcomes()[0]

    assert (without.value, without.confidence) == ("cat", 0.5)
    assert with_prior.value == "dog"
    assert with_prior.confidence > 0.5


def test_weighted_vote_without_smoothing_a_lone_worker_keeps_the_starting_accuracy():
    # With smoothing=0 a worker nobody else overlaps has no evidence at all; they must not be
    # treated as always wrong (which would turn their answer into a vote against it).
    result = WeightedVote(smoothing=0).aggregate(encoded({"q1": "cat", "q2": "- dog dog"}))

    assert result.accuracy[0] == pytest.approx(0.7)
    assert [o.value for o in result.outcomes()] == ["cat", "dog"]


@pytest.mark.parametrize(
    "params",
    [{"rounds": 0}, {"initial_accuracy": 0.0}, {"initial_accuracy": 1.0}],
)
def test_weighted_vote_rejects_bad_hyperparameters(params):
    with pytest.raises(ConsolidationError):
        WeightedVote(**params)


def test_weighted_vote_reports_its_rounds():
    result = WeightedVote(rounds=3).aggregate(encoded({"q1": "a a b"}))

    assert result.diagnostics == {"rounds": 3}
    assert result.method == "weighted-vote"
