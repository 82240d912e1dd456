"""Majority vote on hand-made crowds with exact expected labels, confidences and skills."""

from __future__ import annotations

import pytest

from consolidation import Consensus, MajorityVote, WorkerSkill
from tests.unit.consolidation.data_classification import (
    ADVERSARY,
    ADVERSARY_GOLD,
    ADVERSARY_WITHOUT_GOLD,
    NOISY_CROWD,
    NOISY_MAJORITY_WRONG,
    NOISY_TRUTH,
    NOISY_WORKERS,
    TOY,
    TOY_MAJORITY,
    TOY_MAJORITY_ACCURACY,
    encoded,
)


def test_majority_vote_toy_labels_and_confidences_are_the_vote_shares():
    outcomes = MajorityVote().aggregate(encoded(TOY)).outcomes()

    assert {o.task_id: (o.value, o.confidence) for o in outcomes} == TOY_MAJORITY
    assert all(isinstance(o, Consensus) for o in outcomes)


def test_majority_vote_toy_worker_accuracy_is_agreement_with_the_majority():
    skills = MajorityVote().aggregate(encoded(TOY)).worker_skills()

    assert {s.worker_id: s.accuracy for s in skills} == pytest.approx(TOY_MAJORITY_ACCURACY)
    assert {s.answers for s in skills} == {5}
    assert all(s.confusion is None for s in skills)


def test_majority_vote_evidence_reports_the_split():
    outcome = MajorityVote().aggregate(encoded(TOY)).outcomes()[0]

    assert outcome.evidence == {"workers": 5, "votes": {"no": 1, "yes": 4}}


def test_majority_vote_posteriors_are_vote_shares():
    result = MajorityVote().aggregate(encoded({"q1": "a b a c"}))

    assert result.posteriors.tolist() == [[0.5, 0.25, 0.25]]
    assert result.method == "majority-vote"


def test_majority_vote_is_outvoted_by_noisy_workers():
    result = MajorityVote().aggregate(encoded(NOISY_CROWD, NOISY_WORKERS))

    wrong = sorted(o.task_id for o in result.outcomes() if o.value != NOISY_TRUTH[o.task_id])
    assert wrong == list(NOISY_MAJORITY_WRONG)


def test_majority_vote_gold_items_keep_their_label_with_confidence_one():
    outcomes = MajorityVote().aggregate(encoded(ADVERSARY), gold=ADVERSARY_GOLD).outcomes()
    by_item = {o.task_id: o for o in outcomes}

    for item, label in ADVERSARY_GOLD.items():
        assert (by_item[item].value, by_item[item].confidence) == (label, 1.0)
        assert by_item[item].evidence["gold"] is True
    # Majority vote does not learn skill, so the other items keep the plain vote.
    assert {i: by_item[i].value for i in ADVERSARY_WITHOUT_GOLD} == ADVERSARY_WITHOUT_GOLD
    assert "gold" not in by_item["q1"].evidence


def test_majority_vote_gold_counts_in_worker_accuracy():
    result = MajorityVote().aggregate(encoded(ADVERSARY), gold=ADVERSARY_GOLD)

    # w1 and w2 are wrong on the three gold items and agree with the vote on the other three.
    assert [s.accuracy for s in result.worker_skills()] == [0.5, 0.5, 0.5]


def test_majority_vote_ignores_prior_skill():
    answers = encoded({"q1": "cat dog"})
    prior = {"w2": WorkerSkill("w2", 100, 0.99)}

    with_prior = MajorityVote().aggregate(answers, prior=prior).outcomes()
    without = MajorityVote().aggregate(answers).outcomes()

    assert with_prior == without
