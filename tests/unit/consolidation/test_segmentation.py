"""Per-pixel vote: consensus masks, confidences and worker skill on hand-made masks."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from consolidation._common import Consensus, WorkerSkill
from consolidation.segmentation import MaskAnswer, SegmentationConsolidator

LABELS = ["cat", "dog"]


def _m(rows: list[list[int]]) -> np.ndarray:
    return np.array(rows, dtype=np.uint8)


def _consensus(outcome: object) -> Consensus:
    assert isinstance(outcome, Consensus)
    return outcome


THREE_WORKERS = [
    MaskAnswer("img", "w1", _m([[1, 1, 0], [2, 2, 2]])),
    MaskAnswer("img", "w2", _m([[1, 1, 0], [2, 2, 0]])),
    MaskAnswer("img", "w3", _m([[1, 0, 0], [2, 2, 2]])),
]


def test_segmentation_majority_mask_of_three_workers() -> None:
    run = SegmentationConsolidator(smoothing="none", weighting="equal").aggregate(
        THREE_WORKERS, labels=LABELS
    )

    outcome = _consensus(run.outcomes[0])
    assert outcome.value["mask"].dtype == np.uint8
    assert outcome.value["mask"].tolist() == [[1, 1, 0], [2, 2, 2]]


def test_segmentation_confidence_is_mean_winner_share_over_labeled_pixels() -> None:
    run = SegmentationConsolidator(smoothing="none", weighting="equal").aggregate(
        THREE_WORKERS, labels=LABELS
    )

    # Labeled pixels have winner shares 1, 2/3, 1, 1, 2/3.
    assert _consensus(run.outcomes[0]).confidence == round(13 / 15, 4)


def test_segmentation_class_confidence_per_label() -> None:
    run = SegmentationConsolidator(smoothing="none", weighting="equal").aggregate(
        THREE_WORKERS, labels=LABELS
    )

    assert _consensus(run.outcomes[0]).value["class-confidence"] == {
        "cat": round(5 / 6, 4),
        "dog": round(8 / 9, 4),
    }


def test_segmentation_evidence_shape() -> None:
    run = SegmentationConsolidator(smoothing="none").aggregate(THREE_WORKERS, labels=LABELS)

    assert run.outcomes[0].evidence == {"workers": 3, "shape": [2, 3], "pixels_labeled": 5}


def test_segmentation_worker_skill_is_mean_iou_with_consensus() -> None:
    run = SegmentationConsolidator(smoothing="none", weighting="equal").aggregate(
        THREE_WORKERS, labels=LABELS
    )

    by_worker = {s.worker_id: s for s in run.workers}
    # w2: cat IoU 1, dog IoU 2/3. w3: cat IoU 1/2, dog IoU 1.
    assert by_worker["w1"].accuracy == 1.0
    assert by_worker["w2"].accuracy == pytest.approx(5 / 6)
    assert by_worker["w3"].accuracy == pytest.approx(3 / 4)
    assert by_worker["w3"].metrics == {"compared": 1.0, "mean_iou": pytest.approx(3 / 4)}
    assert [s.answers for s in run.workers] == [1, 1, 1]


def _skill_answers() -> list[MaskAnswer]:
    cat, empty = _m([[1]]), _m([[0]])
    answers = []
    # Three items where w1-w3 paint the cat and w4, w5 miss it.
    for task in ("i1", "i2", "i4"):
        answers += [MaskAnswer(task, w, cat) for w in ("w1", "w2", "w3")]
        answers += [MaskAnswer(task, w, empty) for w in ("w4", "w5")]
    # One item where the two unreliable workers outvote w1.
    answers += [MaskAnswer("i3", "w1", cat), MaskAnswer("i3", "w4", empty)]
    answers += [MaskAnswer("i3", "w5", empty)]
    return answers


def test_segmentation_skill_weighting_overrules_unreliable_majority() -> None:
    consolidator = SegmentationConsolidator(smoothing="none", skill_smoothing=0.0)

    run = consolidator.aggregate(_skill_answers(), labels=["cat"])

    i3 = _consensus(run.outcomes[3])
    assert i3.task_id == "i3"
    # Skills after pass 1: w1 = 3/4 (IoU 1, 1, 1, 0), w4 = w5 = 1/4 (0, 0, 0, 1).
    assert i3.value["mask"].tolist() == [[1]]
    assert i3.confidence == round(0.75 / (0.75 + 0.25 + 0.25), 4)
    assert run.diagnostics["weights"]["w1"] == pytest.approx(0.75)


def test_segmentation_equal_weighting_keeps_the_majority() -> None:
    run = SegmentationConsolidator(smoothing="none", weighting="equal").aggregate(
        _skill_answers(), labels=["cat"]
    )

    i3 = _consensus(run.outcomes[3])
    assert i3.value["mask"].tolist() == [[0]]
    assert i3.confidence == round(2 / 3, 4)


def test_segmentation_prior_skill_outweighs_majority() -> None:
    answers = [
        MaskAnswer("img", "w1", _m([[1, 0]])),
        MaskAnswer("img", "w2", _m([[0, 2]])),
        MaskAnswer("img", "w3", _m([[0, 2]])),
    ]
    prior = {
        "w1": WorkerSkill("w1", 50, 1.0),
        "w2": WorkerSkill("w2", 50, 0.0),
        "w3": WorkerSkill("w3", 50, 0.0),
    }
    consolidator = SegmentationConsolidator(
        smoothing="none", prior_strength=100.0, skill_smoothing=0.0
    )

    run = consolidator.aggregate(answers, labels=LABELS, prior=prior)

    outcome = _consensus(run.outcomes[0])
    assert outcome.value["mask"].tolist() == [[1, 0]]
    w1, w_low = 100 / 101, 0.01  # w2, w3: (1 + 0) / 101 < 0.01, the weight floor
    assert outcome.confidence == round(w1 / (w1 + 2 * w_low), 4)
    assert [s.accuracy for s in run.workers] == [1.0, 0.0, 0.0]


def test_segmentation_smoothing_settles_a_contested_pixel_by_its_neighbours() -> None:
    full = np.ones((3, 3), dtype=np.uint8)
    hole = full.copy()
    hole[1, 1] = 0
    answers = [
        MaskAnswer("img", "w1", hole),
        MaskAnswer("img", "w2", hole),
        MaskAnswer("img", "w3", full),
    ]

    smooth = SegmentationConsolidator(smoothing="3x3", weighting="equal").aggregate(
        answers, labels=["cat"]
    )
    plain = SegmentationConsolidator(smoothing="none", weighting="equal").aggregate(
        answers, labels=["cat"]
    )

    # Centre: background 2/3 alone vs cat (1/3 + 0.5 * 1) / 1.5 with all neighbours cat.
    assert _consensus(smooth.outcomes[0]).value["mask"].tolist() == full.tolist()
    assert _consensus(plain.outcomes[0]).value["mask"].tolist() == hole.tolist()
    # The confidence reports the crowd's share behind the winner: 1/3 at the centre.
    assert smooth.outcomes[0].confidence == round((8 + 1 / 3) / 9, 4)


def test_segmentation_smoothing_never_changes_a_unanimous_pixel() -> None:
    speck = np.zeros((3, 3), dtype=np.uint8)
    speck[1, 1] = 1
    answers = [MaskAnswer("img", w, speck) for w in ("w1", "w2", "w3")]

    run = SegmentationConsolidator(smoothing="3x3").aggregate(answers, labels=["cat"])

    outcome = _consensus(run.outcomes[0])
    assert outcome.value["mask"].tolist() == speck.tolist()
    assert outcome.confidence == 1.0


def test_segmentation_single_worker_item_has_zero_confidence() -> None:
    mask = _m([[0, 1], [2, 2]])

    run = SegmentationConsolidator().aggregate([MaskAnswer("img", "w1", mask)], labels=LABELS)

    outcome = _consensus(run.outcomes[0])
    assert outcome.value["mask"].tolist() == mask.tolist()
    assert outcome.confidence == 0.0
    assert outcome.value["class-confidence"] == {"cat": 0.0, "dog": 0.0}
    assert outcome.evidence == {
        "workers": 1,
        "shape": [2, 2],
        "pixels_labeled": 3,
        "single_answer": True,
    }


def test_segmentation_single_worker_item_takes_prior_accuracy_as_confidence() -> None:
    prior = {"w1": WorkerSkill("w1", 20, 0.8)}

    run = SegmentationConsolidator().aggregate(
        [MaskAnswer("img", "w1", _m([[1]]))], labels=["cat"], prior=prior
    )

    assert run.outcomes[0].confidence == 0.8
    assert run.outcomes[0].value["class-confidence"] == {"cat": 0.8}


def test_segmentation_outcomes_follow_first_appearance() -> None:
    answers = [
        MaskAnswer("b", "w1", _m([[1]])),
        MaskAnswer("a", "w1", _m([[0]])),
        MaskAnswer("b", "w2", _m([[1]])),
        MaskAnswer("c", "w2", _m([[1]])),
    ]

    run = SegmentationConsolidator().aggregate(answers, labels=["cat"])

    assert [o.task_id for o in run.outcomes] == ["b", "a", "c"]
    assert run.method == "pixel-vote"


def test_segmentation_value_mask_does_not_alias_the_input() -> None:
    mask = _m([[1, 0]])

    run = SegmentationConsolidator().aggregate([MaskAnswer("img", "w1", mask)], labels=["cat"])
    run.outcomes[0].value["mask"][0, 0] = 0

    assert mask.tolist() == [[1, 0]]


def test_segmentation_worker_iou_with_many_labels() -> None:
    labels = [f"l{k}" for k in range(30)]
    answers = [
        MaskAnswer("img", "w1", _m([[30, 29, 0]])),
        MaskAnswer("img", "w2", _m([[30, 29, 0]])),
        MaskAnswer("img", "w3", _m([[30, 28, 0]])),
    ]

    run = SegmentationConsolidator(smoothing="none", weighting="equal").aggregate(
        answers, labels=labels
    )

    assert run.outcomes[0].value["mask"].tolist() == [[30, 29, 0]]
    assert run.outcomes[0].value["class-confidence"] == {"l28": round(2 / 3, 4), "l29": 1.0}
    # Mask value k + 1 is labels[k]. w3: value 30 IoU 1, 29 IoU 0 (missed), 28 IoU 0 (extra).
    assert run.workers[2].accuracy == pytest.approx(1 / 3)


def _reference_vote(masks: list[np.ndarray], smoothing: str) -> np.ndarray:
    """Plain per-pixel vote over whole arrays, equal weights, neighbour weight 0.5."""
    classes = np.unique(np.stack(masks))
    height, width = masks[0].shape

    def box(a: np.ndarray) -> np.ndarray:
        p = np.pad(a, 1)
        rows: np.ndarray = p[:-2] + p[1:-1] + p[2:]
        total: np.ndarray = rows[:, :-2] + rows[:, 1:-1] + rows[:, 2:]
        return total

    ones = np.ones((height, width))
    count = np.maximum(box(ones) - ones, 1)
    scores = []
    for c in classes:
        raw = sum((m == c).astype(float) for m in masks) / len(masks)
        if smoothing == "3x3":
            raw = (raw + 0.5 * (box(raw) - raw) / count) / 1.5
        scores.append(raw)
    stacked = np.stack(scores)
    pick = np.argmax(stacked >= stacked.max(axis=0) - 1e-5, axis=0)
    winners: np.ndarray = classes[pick]
    return winners


_MASKS = arrays(np.uint8, (4, 5), elements=st.integers(0, 2))


@settings(max_examples=60, deadline=None)
@given(
    masks=st.lists(arrays(np.uint8, (5, 6), elements=st.integers(0, 3)), min_size=2, max_size=5),
    smoothing=st.sampled_from(["none", "3x3"]),
)
def test_segmentation_vote_matches_whole_image_reference(
    masks: list[np.ndarray], smoothing: str
) -> None:
    answers = [MaskAnswer("img", f"w{i}", m) for i, m in enumerate(masks)]
    consolidator = SegmentationConsolidator(smoothing=smoothing, weighting="equal")  # type: ignore[arg-type]

    run = consolidator.aggregate(answers, labels=["a", "b", "c"])

    expected = _reference_vote(masks, smoothing)
    assert _consensus(run.outcomes[0]).value["mask"].tolist() == expected.tolist()


@settings(max_examples=30, deadline=None)
@given(masks=st.lists(_MASKS, min_size=2, max_size=4), data=st.data())
def test_segmentation_worker_order_does_not_matter(
    masks: list[np.ndarray], data: st.DataObject
) -> None:
    answers = [MaskAnswer("img", f"w{i}", m) for i, m in enumerate(masks)]
    shuffled = data.draw(st.permutations(answers))

    first = SegmentationConsolidator().aggregate(answers, labels=LABELS)
    second = SegmentationConsolidator().aggregate(shuffled, labels=LABELS)

    a, b = _consensus(first.outcomes[0]), _consensus(second.outcomes[0])
    assert np.array_equal(a.value["mask"], b.value["mask"])
    assert a.confidence == pytest.approx(b.confidence, abs=1e-4)


@settings(max_examples=30, deadline=None)
@given(masks=st.lists(_MASKS, min_size=1, max_size=4))
def test_segmentation_scores_stay_in_unit_interval(masks: list[np.ndarray]) -> None:
    answers = [MaskAnswer("img", f"w{i}", m) for i, m in enumerate(masks)]

    run = SegmentationConsolidator().aggregate(answers, labels=LABELS)

    outcome = _consensus(run.outcomes[0])
    assert 0.0 <= outcome.confidence <= 1.0
    assert all(0.0 <= c <= 1.0 for c in outcome.value["class-confidence"].values())
    assert all(0.0 <= s.accuracy <= 1.0 for s in run.workers)
    assert set(np.unique(outcome.value["mask"])) <= set(np.unique(np.stack(masks)))
