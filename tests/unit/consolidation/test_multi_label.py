"""Multi-label consolidation: one present/absent decision per label and item."""

from __future__ import annotations

import pytest

from consolidation._common import Consensus, ConsolidationError, NoConsensus, Outcome, WorkerSkill
from consolidation.multi_label import MultiLabelAnswer, MultiLabelConsolidator


def _answer(task: str, worker: str, *labels: str) -> MultiLabelAnswer:
    return MultiLabelAnswer(task, worker, frozenset(labels))


def _consensus(outcome: Outcome) -> Consensus:
    assert isinstance(outcome, Consensus), outcome
    return outcome


# Three workers, three photos, vocabulary learned as ["bird", "cat", "dog"].
PHOTOS = [
    _answer("p1", "w1", "cat", "dog"),
    _answer("p1", "w2", "cat"),
    _answer("p1", "w3", "cat", "dog"),
    _answer("p2", "w1"),
    _answer("p2", "w2", "bird"),
    _answer("p2", "w3"),
    _answer("p3", "w1", "dog"),
    _answer("p3", "w2", "dog"),
    _answer("p3", "w3", "cat"),
]

# Five items with clear majorities; w2 and w3 each miss one label once.
TRUTH = {"i1": {"a"}, "i2": {"a", "b"}, "i3": set(), "i4": {"b"}, "i5": {"a", "c"}}
SLIPS = {("w3", "i2"): {"a"}, ("w2", "i5"): {"a"}}
CLEAR = [
    MultiLabelAnswer(task, worker, frozenset(SLIPS.get((worker, task), labels)))
    for task, labels in TRUTH.items()
    for worker in ("w1", "w2", "w3")
]


def test_multi_label_majority_vote_hand_made_photos() -> None:
    run = MultiLabelConsolidator(method="majority-vote").aggregate(PHOTOS)

    assert [(o.task_id, o.value, o.confidence) for o in run.outcomes] == [
        ("p1", ["cat", "dog"], 0.6667),  # least certain decision: dog, 2 of 3
        ("p2", [], 0.6667),  # bird absent, 2 of 3
        ("p3", ["dog"], 0.6667),
    ]
    assert run.outcomes[0].evidence == {
        "workers": 3,
        "votes": {"cat": 3, "dog": 2},
        "confidence-map": {"cat": 1.0, "dog": 0.6667},
    }
    assert run.diagnostics["labels"] == ["bird", "cat", "dog"]


def test_multi_label_majority_vote_worker_skill() -> None:
    run = MultiLabelConsolidator(method="majority-vote").aggregate(PHOTOS)

    skills = {s.worker_id: s for s in run.workers}
    assert skills["w1"].accuracy == 1.0
    # w2 agreed with 7 of 9 present/absent decisions (bird on p2, dog on p1 wrong).
    assert skills["w2"].accuracy == pytest.approx(7 / 9)
    assert skills["w2"].answers == 3
    assert skills["w2"].metrics == pytest.approx({"precision": 2 / 3, "recall": 2 / 3, "f1": 2 / 3})


def test_multi_label_default_method_recovers_clear_majorities() -> None:
    run = MultiLabelConsolidator().aggregate(CLEAR)

    assert {o.task_id: o.value for o in run.outcomes} == {
        task: sorted(labels) for task, labels in TRUTH.items()
    }
    assert run.diagnostics["label_method"] == "auto"
    assert all(0.5 < o.confidence <= 1.0 for o in run.outcomes)
    skills = {s.worker_id: s for s in run.workers}
    assert skills["w1"].accuracy > skills["w2"].accuracy
    assert skills["w2"].metrics["recall"] == pytest.approx(5 / 6)


def test_multi_label_value_follows_declared_label_order() -> None:
    answers = [_answer("x", "w1", "car", "bicycle", "person")]

    outcome = _consensus(
        MultiLabelConsolidator()
        .aggregate(answers, labels=["person", "car", "bicycle", "bus"])
        .outcomes[0]
    )

    assert outcome.value == ["person", "car", "bicycle"]


def test_multi_label_gold_item_keeps_known_labels_with_full_confidence() -> None:
    run = MultiLabelConsolidator().aggregate(CLEAR, gold={"i3": frozenset({"c"})})

    gold = _consensus(run.outcomes[2])
    assert gold.value == ["c"]
    assert gold.confidence == 1.0
    assert gold.evidence["gold"] is True


def test_multi_label_gold_label_outside_declared_labels_raises() -> None:
    with pytest.raises(ConsolidationError, match="i1"):
        MultiLabelConsolidator().aggregate(
            CLEAR, labels=["a", "b", "c"], gold={"i1": frozenset({"z"})}
        )


def test_multi_label_gold_label_extends_a_learned_vocabulary() -> None:
    run = MultiLabelConsolidator().aggregate(CLEAR, gold={"i1": frozenset({"z"})})

    assert run.diagnostics["labels"] == ["a", "b", "c", "z"]
    assert run.outcomes[0].value == ["z"]


def test_multi_label_prior_skill_raises_single_answer_confidence() -> None:
    answers = [_answer("x", "w1", "a")]
    prior = {"w1": WorkerSkill("w1", 100, 0.95)}

    plain = MultiLabelConsolidator().aggregate(answers, labels=["a", "b"])
    trusted = MultiLabelConsolidator().aggregate(answers, labels=["a", "b"], prior=prior)

    assert plain.diagnostics["label_method"] == "auto"
    assert plain.outcomes[0].value == trusted.outcomes[0].value == ["a"]
    assert trusted.outcomes[0].confidence > plain.outcomes[0].confidence
    assert trusted.outcomes[0].confidence > 0.9


@pytest.mark.parametrize(("policy", "value"), [("absent", []), ("present", ["a"])])
def test_multi_label_tie_policy_decides_an_even_split(policy, value) -> None:
    answers = [_answer("x", "w1", "a"), _answer("x", "w2")]

    outcome = _consensus(
        MultiLabelConsolidator(method="majority-vote", tie_policy=policy)
        .aggregate(answers)
        .outcomes[0]
    )

    assert outcome.value == value
    assert outcome.confidence == 0.5


def test_multi_label_tie_policy_no_consensus_names_the_labels() -> None:
    answers = [_answer("x", "w1", "a", "b"), _answer("x", "w2", "c")]

    outcome = (
        MultiLabelConsolidator(method="majority-vote", tie_policy="no_consensus")
        .aggregate(answers)
        .outcomes[0]
    )

    assert isinstance(outcome, NoConsensus)
    assert outcome.reason == "tie on labels ['a', 'b', 'c']"
    assert outcome.evidence == {"workers": 2, "votes": {"a": 1, "b": 1, "c": 1}}


def test_multi_label_method_params_reach_the_method() -> None:
    answers = [_answer("x", "w1", "a")]

    run = MultiLabelConsolidator(
        method="weighted-vote", method_params={"initial_accuracy": 0.6}
    ).aggregate(answers)

    assert run.outcomes[0].confidence == 0.6
