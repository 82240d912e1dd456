"""Numeric edge cases: empty input, one worker, ties, repeats and invalid numbers."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from consolidation._common import Consensus, ConsolidationError, NoConsensus, WorkerSkill
from consolidation.numeric import NumericAnswer, NumericConsolidator, weighted_estimate


def test_numeric_empty_input_gives_empty_run() -> None:
    run = NumericConsolidator().aggregate([])

    assert list(run.outcomes) == []
    assert list(run.workers) == []


def test_numeric_one_worker_gets_a_skill_without_comparisons() -> None:
    answers = [NumericAnswer("a", "w1", 3), NumericAnswer("b", "w1", 5)]

    run = NumericConsolidator().aggregate(answers)

    assert [o.value for o in run.outcomes] == [3, 5]
    assert run.workers == [WorkerSkill("w1", 2, 0.0, None, {"compared": 0.0})]


def test_numeric_two_disagreeing_workers_meet_in_the_middle() -> None:
    answers = [NumericAnswer("q", "w1", 3), NumericAnswer("q", "w2", 5)]

    for order in (answers, answers[::-1]):
        run = NumericConsolidator().aggregate(order)
        assert run.outcomes[0].value == 4
        assert run.outcomes[0].confidence == 0.0
        assert run.diagnostics["weights"]["w1"] == run.diagnostics["weights"]["w2"]


def test_numeric_tied_values_need_no_tie_break() -> None:
    run = NumericConsolidator().aggregate(
        [NumericAnswer("q", "w1", 2), NumericAnswer("q", "w2", 2), NumericAnswer("q", "w3", 2)]
    )

    assert run.outcomes[0].value == 2
    assert run.outcomes[0].confidence == 1.0
    assert run.outcomes[0].evidence["spread"] == 0


def test_numeric_zero_consensus_with_default_tolerance_needs_exact_answers() -> None:
    answers = [NumericAnswer("q", f"w{i}", v) for i, v in enumerate([0, 0, 1])]

    run = NumericConsolidator(weighting="equal").aggregate(answers)

    assert run.outcomes[0].value == 0
    assert run.outcomes[0].evidence["tolerance"] == 0.0
    assert run.outcomes[0].confidence == round(2 / 3, 4)


def test_numeric_negative_values() -> None:
    answers = [NumericAnswer("q", f"w{i}", v) for i, v in enumerate([-10, -10.4, -9.6])]

    run = NumericConsolidator(weighting="equal").aggregate(answers)

    assert run.outcomes[0].value == -10.0
    assert run.outcomes[0].confidence == 1.0  # all within 5 % of |-10|


def test_numeric_accepts_numpy_numbers() -> None:
    answers = [
        NumericAnswer("q", "w1", np.int64(3)),  # type: ignore[arg-type]
        NumericAnswer("q", "w2", np.int32(3)),  # type: ignore[arg-type]
        NumericAnswer("q", "w3", np.float32(4.5)),  # type: ignore[arg-type]
    ]

    run = NumericConsolidator().aggregate(answers)

    assert run.outcomes[0].value == 3.0
    assert isinstance(run.outcomes[0].value, float)


def test_numeric_repeated_worker_counts_once_with_the_last_answer() -> None:
    answers = [
        NumericAnswer("a", "w1", 1),
        NumericAnswer("a", "w2", 1),
        NumericAnswer("a", "w1", 2),
        NumericAnswer("b", "w1", 1),
        NumericAnswer("b", "w2", 1),
    ]

    run = NumericConsolidator().aggregate(answers)

    first, second = run.outcomes
    assert first.evidence["workers"] == 2
    assert isinstance(second, Consensus)
    assert [s.answers for s in run.workers] == [2, 2]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (math.nan, "not a finite number"),
        (math.inf, "not a finite number"),
        (-math.inf, "not a finite number"),
        (True, "is not a number"),
        ("4", "is not a number"),
        (None, "is not a number"),
    ],
)
def test_numeric_invalid_answer_raises_naming_the_item(value: Any, message: str) -> None:
    answers = [NumericAnswer("ok", "w1", 1), NumericAnswer("bad", "w2", value)]

    with pytest.raises(ConsolidationError, match=message) as info:
        NumericConsolidator().aggregate(answers)

    assert info.value.task_id == "bad"
    assert "'w2'" in str(info.value)


@pytest.mark.parametrize(
    "params",
    [
        {"estimator": "mode"},
        {"tolerance": -1.0},
        {"tolerance": math.inf},
        {"relative_tolerance": -0.1},
        {"trim": 0.5},
        {"trim": -0.1},
        {"weighting": "none"},
        {"skill_smoothing": -2.0},
    ],
)
def test_numeric_rejects_invalid_hyperparameters(params: dict[str, Any]) -> None:
    with pytest.raises(ConsolidationError):
        NumericConsolidator(**params)


@pytest.mark.parametrize(
    ("values", "weights", "estimator", "message"),
    [
        ([], [], "median", "at least one"),
        ([1, 2], [1], "median", "one weight per value"),
        ([1, 2], [1, 0], "median", "positive and finite"),
        ([1, 2], [1, math.nan], "mean", "positive and finite"),
        ([1, 2], [1, 1], "mode", "estimator must be one of"),
    ],
)
def test_weighted_estimate_rejects_invalid_input(
    values: list[float], weights: list[float], estimator: str, message: str
) -> None:
    with pytest.raises(ConsolidationError, match=message):
        weighted_estimate(values, weights, estimator)  # type: ignore[arg-type]
