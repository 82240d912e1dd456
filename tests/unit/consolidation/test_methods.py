"""The method registry and the automatic default."""

from __future__ import annotations

import pytest

from consolidation import (
    CLASSIFICATION_METHODS,
    DEFAULT_METHOD,
    AutoMethod,
    ClassificationResult,
    ConsolidationError,
    DawidSkene,
    MajorityVote,
    OneCoinDawidSkene,
    WeightedVote,
    WorkerSkill,
    classification_method,
)
from tests.unit.consolidation.data_classification import (
    NOISY_CROWD,
    NOISY_TRUTH,
    NOISY_WORKERS,
    encoded,
)


def test_classification_methods_registry_lists_every_method():
    assert dict(CLASSIFICATION_METHODS) == {
        "auto": AutoMethod,
        "majority-vote": MajorityVote,
        "weighted-vote": WeightedVote,
        "dawid-skene": DawidSkene,
        "one-coin-dawid-skene": OneCoinDawidSkene,
    }
    assert DEFAULT_METHOD == "auto"


@pytest.mark.parametrize("name", sorted(CLASSIFICATION_METHODS))
def test_classification_method_builds_the_named_method(name):
    method = classification_method(name)

    assert isinstance(method, CLASSIFICATION_METHODS[name])
    assert method.name == name
    assert isinstance(method.aggregate(encoded({"q1": "a a b"})), ClassificationResult)


def test_classification_method_defaults_to_auto():
    assert isinstance(classification_method(), AutoMethod)


def test_classification_method_passes_hyperparameters():
    method = classification_method("dawid-skene", {"smoothing": 0.5, "tie_policy": "no_consensus"})

    assert method == DawidSkene(smoothing=0.5, tie_policy="no_consensus")


def test_classification_method_unknown_name_lists_the_choices():
    with pytest.raises(ConsolidationError) as info:
        classification_method("median")

    message = str(info.value)
    assert "unknown method 'median'" in message
    for name in CLASSIFICATION_METHODS:
        assert repr(name) in message


@pytest.mark.parametrize(
    ("name", "params"),
    [("majority-vote", {"smoothing": 1}), ("auto", {"rounds": 2}), ("dawid-skene", {"x": 1})],
)
def test_classification_method_unknown_hyperparameter_names_the_method(name, params):
    with pytest.raises(ConsolidationError, match=f"bad parameters for method '{name}'"):
        classification_method(name, params)


def test_classification_method_invalid_hyperparameter_value_is_a_consolidation_error():
    with pytest.raises(ConsolidationError, match="max_iter"):
        classification_method("dawid-skene", {"max_iter": 0})


# Two copies of every noisy item: 24 answers per worker, above max(20, 2 K^2) = 20.
NOISY_TWICE = {f"{item}-{copy}": row for item, row in NOISY_CROWD.items() for copy in "ab"}


@pytest.mark.parametrize("tie_policy", ["lowest_label", "no_consensus"])
def test_auto_method_chooses_dawid_skene_when_workers_have_enough_answers(tie_policy):
    chosen = AutoMethod(tie_policy=tie_policy).choose(encoded(NOISY_TWICE, NOISY_WORKERS))

    assert chosen == DawidSkene(tie_policy=tie_policy)


@pytest.mark.parametrize("tie_policy", ["lowest_label", "no_consensus"])
def test_auto_method_chooses_majority_vote_on_little_evidence(tie_policy):
    chosen = AutoMethod(tie_policy=tie_policy).choose(encoded(NOISY_CROWD, NOISY_WORKERS))

    assert chosen == MajorityVote(tie_policy=tie_policy)


def test_auto_method_counts_prior_skill_as_evidence():
    answers = encoded({"q1": "a b", "q2": "- a"})
    prior = {w: WorkerSkill(w, 100, 0.8) for w in answers.workers}

    assert AutoMethod().choose(answers) == MajorityVote()
    assert AutoMethod().choose(answers, prior) == DawidSkene()


def test_auto_method_chooses_dawid_skene_when_gold_anchors_the_answers():
    answers = encoded({"q1": "a b", "q2": "- a"})

    assert AutoMethod().choose(answers, gold={"q1": "a"}) == DawidSkene()
    assert AutoMethod().choose(answers, gold={"elsewhere": "a"}) == MajorityVote()


@pytest.mark.parametrize("table", [{"q1": "a", "q2": "- b"}, {}])
def test_auto_method_chooses_weighted_vote_without_overlap(table):
    chosen = AutoMethod(tie_policy="no_consensus").choose(encoded(table))

    assert chosen == WeightedVote(tie_policy="no_consensus", rounds=1)


def test_auto_method_records_its_choice_and_keeps_the_chosen_result():
    answers = encoded(NOISY_TWICE, NOISY_WORKERS)

    auto = AutoMethod().aggregate(answers)
    direct = DawidSkene().aggregate(answers)

    assert auto.diagnostics["auto"] == "dawid-skene"
    assert auto.method == "dawid-skene"
    assert auto.outcomes() == direct.outcomes()
    assert {o.task_id: o.value for o in auto.outcomes()} == {
        item: NOISY_TRUTH[item.rsplit("-", 1)[0]] for item in NOISY_TWICE
    }


def test_auto_method_single_answers_report_each_workers_prior_accuracy():
    # No item has two answers: weighted vote with one round, so each confidence is the worker's
    # smoothed accuracy: 2 pseudo-answers at 0.7 plus 10 at the earlier accuracy.
    answers = encoded({"q1": "cat", "q2": "- dog", "q3": "- - cat"})
    prior = {"w1": WorkerSkill("w1", 40, 0.9), "w2": WorkerSkill("w2", 40, 0.6)}

    result = AutoMethod().aggregate(answers, prior=prior)

    assert result.diagnostics["auto"] == "weighted-vote"
    assert [(o.value, o.confidence) for o in result.outcomes()] == [
        ("cat", round((1.4 + 9.0) / 12, 4)),
        ("dog", round((1.4 + 6.0) / 12, 4)),
        ("cat", 0.7),
    ]
