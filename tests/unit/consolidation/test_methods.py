"""The method registry and the automatic default."""

from __future__ import annotations

import numpy as np
import pytest

from consolidation import (
    CLASSIFICATION_METHODS,
    Annotation,
    ClassAnswers,
    HierarchicalDawidSkene,
    expected_calibration_error,
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
        "hierarchical-dawid-skene": HierarchicalDawidSkene,
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


def _simulated_crowd(
    rng: np.random.Generator, items: int, accuracy: float, *, per_item: int = 3, pool: int = 30
) -> tuple[list[Annotation], dict[str, str]]:
    """Binary items answered by ``per_item`` of ``pool`` workers, each right with ``accuracy``."""
    truth = {f"q{i}": str(rng.integers(2)) for i in range(items)}
    records = []
    for task, label in truth.items():
        for worker in rng.choice(pool, size=per_item, replace=False):
            right = rng.random() < accuracy
            records.append(Annotation(task, f"w{worker}", label if right else str(1 - int(label))))
    return records, truth


def _by_split(result: ClassificationResult, truth: dict[str, str]) -> dict[str, tuple[float, float]]:
    """Mean confidence and measured accuracy of unanimous and 2-1 items."""
    groups: dict[str, list[tuple[float, bool]]] = {"unanimous": [], "2-1": []}
    for outcome in result.outcomes():
        split = sorted(outcome.evidence["votes"].values())
        groups["unanimous" if split == [3] else "2-1"].append(
            (outcome.confidence, outcome.value == truth[outcome.task_id])
        )
    return {
        name: (float(np.mean([c for c, _ in rows])), float(np.mean([r for _, r in rows])))
        for name, rows in groups.items()
    }


def test_auto_confidence_matches_measured_accuracy_on_a_simulated_crowd():
    # 70%-accurate workers, 3 per item: a 2-1 item is right 70% of the time, a unanimous one
    # 0.343 / (0.343 + 0.027) = 92.7%. The confidence must say so, without gold.
    records, truth = _simulated_crowd(np.random.default_rng(7), 3000, 0.7)

    result = AutoMethod().aggregate(ClassAnswers.from_annotations(records))

    for name, (confidence, accuracy) in _by_split(result, truth).items():
        assert confidence == pytest.approx(accuracy, abs=0.05), name


def test_auto_small_first_batch_is_calibrated_and_orders_unanimous_above_split():
    # A new project's first batch of 50 items: confidence still tracks accuracy, and a
    # unanimous item is never less sure than a 2-1 item.
    rng = np.random.default_rng(11)
    confidences, correct = [], []
    for _ in range(40):
        records, truth = _simulated_crowd(rng, 50, 0.75)
        result = AutoMethod().aggregate(ClassAnswers.from_annotations(records))
        split = _by_split(result, truth)
        assert split["unanimous"][0] > split["2-1"][0]
        for outcome in result.outcomes():
            confidences.append(outcome.confidence)
            correct.append(outcome.value == truth[outcome.task_id])

    ece = expected_calibration_error(np.asarray(confidences), np.asarray(correct))

    assert ece <= 0.10


def test_auto_one_gold_item_does_not_make_small_batches_overconfident():
    # Batches of 10 items x 3 answers with one gold item each: the gold item must not turn a
    # batch into a confusion-matrix fit that overrules majorities with near-certainty.
    rng = np.random.default_rng(5)
    confidences, correct = [], []
    for _ in range(60):
        records, truth = _simulated_crowd(rng, 10, 0.7, pool=5)
        gold = {"q0": truth["q0"]}
        result = AutoMethod().aggregate(ClassAnswers.from_annotations(records), gold=gold)
        for outcome in result.outcomes():
            if outcome.task_id not in gold:
                confidences.append(outcome.confidence)
                correct.append(outcome.value == truth[outcome.task_id])

    confidence, right = np.asarray(confidences), np.asarray(correct)

    assert expected_calibration_error(confidence, right) <= 0.10
    assert (confidence[~right] > 0.95).mean() < 0.1


def test_auto_carried_counts_are_evidence_answer_for_answer():
    # w3 answered "a" to everything in earlier batches whatever the truth: carried counts say
    # so, and this batch's 2-1 items then follow the two reliable workers.
    spammer = {"a": {"a": 50.0}, "b": {"a": 50.0}}
    honest = {"a": {"a": 45.0, "b": 5.0}, "b": {"a": 5.0, "b": 45.0}}
    prior = {
        "w1": WorkerSkill("w1", 100, 0.9, counts=honest),
        "w2": WorkerSkill("w2", 100, 0.9, counts=honest),
        "w3": WorkerSkill("w3", 100, 0.5, counts=spammer),
    }
    answers = encoded({"q1": "b b a", "q2": "a a a", "q3": "b b a"}, ["w1", "w2", "w3"])

    result = AutoMethod().aggregate(answers, prior=prior)

    outcomes = {o.task_id: o for o in result.outcomes()}
    assert outcomes["q1"].value == outcomes["q3"].value == "b"
    assert outcomes["q1"].confidence > 0.9  # w3's "a" says nothing about the truth
    assert result.diagnostics["carried_answers"] == pytest.approx(300.0)
    skills = {s.worker_id: s for s in result.worker_skills()}
    assert skills["w3"].accuracy < skills["w1"].accuracy
    # What this batch adds is its own counts only: 3 answers per worker.
    assert sum(sum(row.values()) for row in skills["w3"].counts.values()) == pytest.approx(3.0)


def test_auto_new_worker_starts_from_the_pool():
    honest = {"a": {"a": 90.0, "b": 10.0}, "b": {"a": 10.0, "b": 90.0}}
    prior = {f"w{i}": WorkerSkill(f"w{i}", 200, 0.9, counts=honest) for i in range(1, 4)}
    answers = ClassAnswers.from_annotations([Annotation("q1", "new", "a")], labels=["a", "b"])

    result = AutoMethod().aggregate(answers, prior=prior)

    [skill] = result.worker_skills()
    assert skill.accuracy == pytest.approx(0.9, abs=0.05)


@pytest.mark.parametrize("table", [{"q1": "a", "q2": "- b"}, {}])
def test_auto_without_overlap_gives_each_worker_their_label(table):
    result = AutoMethod().aggregate(encoded(table))

    assert [o.value for o in result.outcomes()] == [v.replace("-", "").strip() for v in table.values()]
    assert result.diagnostics.get("calibration", "none") == "none"
