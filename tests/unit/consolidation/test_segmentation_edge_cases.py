"""Segmentation edge cases: empty input, one worker, ties, repeats, mismatched and bad masks."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from consolidation._common import Consensus, ConsolidationError, NoConsensus, WorkerSkill
from consolidation.segmentation import MaskAnswer, SegmentationConsolidator

LABELS = ["cat", "dog"]


def _m(rows: list[list[int]]) -> np.ndarray:
    return np.array(rows, dtype=np.uint8)


def test_segmentation_empty_input_gives_empty_run() -> None:
    run = SegmentationConsolidator().aggregate([], labels=LABELS)

    assert list(run.outcomes) == []
    assert list(run.workers) == []


def test_segmentation_one_worker_gets_a_skill_without_comparisons() -> None:
    answers = [MaskAnswer("a", "w1", _m([[1]])), MaskAnswer("b", "w1", _m([[2]]))]

    run = SegmentationConsolidator().aggregate(answers, labels=LABELS)

    assert [o.confidence for o in run.outcomes] == [0.0, 0.0]
    assert run.workers == [WorkerSkill("w1", 2, 0.0, None, {"compared": 0.0})]


def test_segmentation_one_worker_skill_falls_back_to_prior() -> None:
    prior = {"w1": WorkerSkill("w1", 9, 0.65)}

    run = SegmentationConsolidator().aggregate(
        [MaskAnswer("a", "w1", _m([[1]]))], labels=LABELS, prior=prior
    )

    assert run.workers[0].accuracy == 0.65


@pytest.mark.parametrize(
    ("second", "expected"),
    [
        ([[0]], [[0]]),  # cat vs background: background (index 0) wins the tie
        ([[2]], [[1]]),  # cat vs dog: cat (index 1) wins the tie
    ],
)
def test_segmentation_tie_goes_to_lowest_class_index(
    second: list[list[int]], expected: list[list[int]]
) -> None:
    answers = [MaskAnswer("img", "w1", _m([[1]])), MaskAnswer("img", "w2", _m(second))]

    for order in (answers, answers[::-1]):
        run = SegmentationConsolidator(smoothing="none").aggregate(order, labels=LABELS)
        outcome = run.outcomes[0]
        assert isinstance(outcome, Consensus)
        assert outcome.value["mask"].tolist() == expected
        assert outcome.confidence == 0.5


def test_segmentation_all_background_item_is_confident_and_empty() -> None:
    empty = np.zeros((2, 2), dtype=np.uint8)
    answers = [MaskAnswer("img", "w1", empty), MaskAnswer("img", "w2", empty)]

    run = SegmentationConsolidator().aggregate(answers, labels=LABELS)

    outcome = run.outcomes[0]
    assert isinstance(outcome, Consensus)
    assert outcome.confidence == 1.0
    assert outcome.value["class-confidence"] == {}
    assert outcome.evidence["pixels_labeled"] == 0
    assert [s.accuracy for s in run.workers] == [1.0, 1.0]


def test_segmentation_repeated_worker_counts_once_with_the_last_answer() -> None:
    answers = [
        MaskAnswer("a", "w1", _m([[1]])),
        MaskAnswer("a", "w2", _m([[1]])),
        MaskAnswer("a", "w1", _m([[2]])),
        MaskAnswer("b", "w1", _m([[1]])),
        MaskAnswer("b", "w2", _m([[1]])),
    ]

    run = SegmentationConsolidator().aggregate(answers, labels=LABELS)

    first, second = run.outcomes
    assert first.evidence["workers"] == 2
    assert isinstance(second, Consensus)
    assert [s.answers for s in run.workers] == [2, 2]


def test_segmentation_masks_of_different_shapes_are_no_consensus() -> None:
    answers = [
        MaskAnswer("img", "w1", np.zeros((2, 3), dtype=np.uint8)),
        MaskAnswer("img", "w2", np.zeros((2, 2), dtype=np.uint8)),
    ]

    run = SegmentationConsolidator().aggregate(answers, labels=LABELS)

    outcome = run.outcomes[0]
    assert isinstance(outcome, NoConsensus)
    assert outcome.reason == "masks have different shapes: [(2, 2), (2, 3)]"
    assert outcome.evidence == {"workers": 2, "shapes": {"w1": [2, 3], "w2": [2, 2]}}
    assert [s.answers for s in run.workers] == [0, 0]


def test_segmentation_accepts_boolean_and_wide_integer_masks() -> None:
    answers = [
        MaskAnswer("img", "w1", np.array([[True, False]])),
        MaskAnswer("img", "w2", np.array([[1, 0]], dtype=np.int64)),
    ]

    run = SegmentationConsolidator().aggregate(answers, labels=["cat"])

    assert run.outcomes[0].value["mask"].tolist() == [[1, 0]]


@pytest.mark.parametrize(
    ("mask", "message"),
    [
        (np.array([[0, 3]]), r"values must lie in 0\.\.2 .* got 0\.\.3"),
        (np.array([[-1, 0]]), r"got -1\.\.0"),
        (np.array([[0.0, 1.0]]), "integer class indices, got float64"),
        (np.array([0, 1]), "2-D"),
        (np.zeros((0, 3), dtype=np.uint8), "2-D"),
        ([[0, 1]], "2-D array, got list"),
    ],
)
def test_segmentation_invalid_mask_raises_naming_the_item(mask: Any, message: str) -> None:
    answers = [MaskAnswer("ok", "w1", _m([[0]])), MaskAnswer("bad", "w2", mask)]

    with pytest.raises(ConsolidationError, match=message) as info:
        SegmentationConsolidator().aggregate(answers, labels=LABELS)

    assert info.value.task_id == "bad"


def test_segmentation_rejects_duplicate_labels() -> None:
    with pytest.raises(ConsolidationError, match="duplicates"):
        SegmentationConsolidator().aggregate([], labels=["cat", "cat"])


@pytest.mark.parametrize(
    "params",
    [
        {"neighbour_weight": 1.0},
        {"neighbour_weight": -0.1},
        {"smoothing": "5x5"},
        {"weighting": "majority"},
        {"prior_strength": -1.0},
        {"skill_smoothing": -1.0},
        {"initial_skill": 1.5},
    ],
)
def test_segmentation_rejects_invalid_hyperparameters(params: dict[str, Any]) -> None:
    with pytest.raises(ConsolidationError):
        SegmentationConsolidator(**params)
