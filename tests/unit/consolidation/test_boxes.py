"""Bounding-box consolidation: matching, keeping, combining and scoring boxes."""

from __future__ import annotations

import pytest

from consolidation._common import Consensus, WorkerSkill
from consolidation.boxes import Box, BoxAnswer, BoxConsolidator

# The three workers and two images of the Ground Truth sample consolidation payload
# (payload.bbox.3workers.json), parsed into literals.
W1 = "private.us-east-1.8f3a2c1d9e7b6a54"
W2 = "private.us-east-1.2b7e9d0c4a1f3e68"
W3 = "private.us-east-1.c5d1e8a7f2b90436"
SAMPLE = [
    BoxAnswer("0", W1, (Box("dog", 100, 220, 410, 500), Box("cat", 720, 400, 260, 300)), 1280, 960),
    BoxAnswer("0", W2, (Box("cat", 712, 410, 270, 286), Box("dog", 108, 214, 400, 512)), 1280, 960),
    BoxAnswer("0", W3, (Box("dog", 96, 226, 418, 490),), 1280, 960),
    BoxAnswer("1", W1, (), 1280, 720),
    BoxAnswer("1", W2, (), 1280, 720),
    BoxAnswer("1", W3, (), 1280, 720),
]


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """IoU of two (left, top, right, bottom) boxes, written out independently of the module."""
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def _consensus(run_outcome: object) -> Consensus:
    assert isinstance(run_outcome, Consensus), run_outcome
    return run_outcome


def _skills(workers: list[WorkerSkill] | tuple[WorkerSkill, ...]) -> dict[str, WorkerSkill]:
    return {s.worker_id: s for s in workers}


def test_box_consolidator_sample_payload_averages_matched_boxes() -> None:
    run = BoxConsolidator().aggregate(SAMPLE)

    image = _consensus(run.outcomes[0])
    dog, cat = image.value["boxes"]
    # dog: edges averaged over three workers -> (101.33, 220, 510.67, 720.67), pixels rounded.
    assert {k: dog[k] for k in ("label", "left", "top", "width", "height")} == {
        "label": "dog",
        "left": 101,
        "top": 220,
        "width": 410,
        "height": 501,
    }
    # cat: drawn by two workers of three -> (716, 405, 981, 698).
    assert {k: cat[k] for k in ("label", "left", "top", "width", "height")} == {
        "label": "cat",
        "left": 716,
        "top": 405,
        "width": 265,
        "height": 293,
    }
    assert image.value["image_size"] == {"width": 1280, "height": 960}


def test_box_consolidator_sample_payload_confidence_is_support_times_mean_iou() -> None:
    run = BoxConsolidator().aggregate(SAMPLE)

    image = _consensus(run.outcomes[0])
    dog_box = ((100 + 108 + 96) / 3, 220.0, (510 + 508 + 514) / 3, (720 + 726 + 716) / 3)
    dog = (
        sum(
            _iou(dog_box, b)
            for b in ((100, 220, 510, 720), (108, 214, 508, 726), (96, 226, 514, 716))
        )
        / 3
    )
    cat_box = (716.0, 405.0, 981.0, 698.0)
    cat = 2 / 3 * (_iou(cat_box, (720, 400, 980, 700)) + _iou(cat_box, (712, 410, 982, 696))) / 2
    assert [b["confidence"] for b in image.value["boxes"]] == [round(dog, 4), round(cat, 4)]
    assert cat == pytest.approx(0.639, abs=1e-4)
    assert image.confidence == round((dog + cat) / 2, 4)


def test_box_consolidator_sample_payload_empty_image_is_unanimous() -> None:
    run = BoxConsolidator().aggregate(SAMPLE)

    empty = _consensus(run.outcomes[1])
    assert empty.value == {"boxes": [], "image_size": {"width": 1280, "height": 720}}
    assert empty.confidence == 1.0
    assert empty.evidence == {
        "workers": 3,
        "boxes_per_worker": {W1: 0, W2: 0, W3: 0},
        "clusters": 0,
        "kept": 0,
        "dropped": 0,
    }


def test_box_consolidator_sample_payload_evidence_counts_clusters() -> None:
    run = BoxConsolidator().aggregate(SAMPLE)

    assert run.outcomes[0].evidence == {
        "workers": 3,
        "boxes_per_worker": {W1: 2, W2: 2, W3: 1},
        "clusters": 2,
        "kept": 2,
        "dropped": 0,
    }
    assert run.method == "box-clustering"
    assert run.no_consensus == 0


def test_box_consolidator_sample_payload_worker_skill_is_f1() -> None:
    run = BoxConsolidator().aggregate(SAMPLE)

    skills = _skills(list(run.workers))
    assert [s.worker_id for s in run.workers] == [W1, W2, W3]
    assert skills[W1].accuracy == 1.0
    assert skills[W1].answers == 2
    # W3 missed the cat: precision 1, recall 1/2.
    assert skills[W3].metrics["precision"] == 1.0
    assert skills[W3].metrics["recall"] == 0.5
    assert skills[W3].accuracy == pytest.approx(2 / 3)
    assert 0.9 < skills[W3].metrics["mean_iou"] <= 1.0


def test_box_consolidator_median_policy_resists_an_outlier() -> None:
    answers = [
        BoxAnswer("img", "w1", (Box("car", 100, 0, 200, 100),)),
        BoxAnswer("img", "w2", (Box("car", 102, 0, 200, 100),)),
        BoxAnswer("img", "w3", (Box("car", 130, 0, 200, 100),)),
    ]

    mean = BoxConsolidator().aggregate(answers).outcomes[0].value["boxes"][0]
    median = (
        BoxConsolidator(coordinate_policy="median").aggregate(answers).outcomes[0].value["boxes"][0]
    )

    assert (mean["left"], mean["width"]) == (111, 200)  # 110.67 rounds up
    assert (median["left"], median["width"]) == (102, 200)


def test_box_consolidator_prior_skill_weights_coordinates() -> None:
    answers = [
        BoxAnswer("img", "good", (Box("car", 100, 0, 100, 100),)),
        BoxAnswer("img", "poor", (Box("car", 110, 0, 100, 100),)),
    ]
    prior = {"good": WorkerSkill("good", 50, 0.9), "poor": WorkerSkill("poor", 50, 0.1)}

    plain = BoxConsolidator().aggregate(answers).outcomes[0].value["boxes"][0]
    weighted = BoxConsolidator().aggregate(answers, prior=prior).outcomes[0].value["boxes"][0]

    assert plain["left"] == 105
    assert weighted["left"] == 101  # (0.9 * 100 + 0.1 * 110) / 1.0


def test_box_consolidator_votes_the_label_by_majority() -> None:
    answers = [
        BoxAnswer("img", "w1", (Box("dog", 0, 0, 50, 50),)),
        BoxAnswer("img", "w2", (Box("dog", 0, 0, 50, 50),)),
        BoxAnswer("img", "w3", (Box("cat", 0, 0, 50, 50),)),
    ]

    outcome = _consensus(BoxConsolidator().aggregate(answers).outcomes[0])

    box = outcome.value["boxes"][0]
    assert box["label"] == "dog"
    assert box["confidence"] == 0.6667  # two of three workers agree on the label, IoU 1
    assert _skills(list(BoxConsolidator().aggregate(answers).workers))["w3"].accuracy == 0.0


def test_box_consolidator_prior_skill_weights_the_label_vote() -> None:
    answers = [
        BoxAnswer("img", "w1", (Box("dog", 0, 0, 50, 50),)),
        BoxAnswer("img", "w2", (Box("dog", 0, 0, 50, 50),)),
        BoxAnswer("img", "expert", (Box("cat", 0, 0, 50, 50),)),
    ]
    prior = {
        "w1": WorkerSkill("w1", 10, 0.3),
        "w2": WorkerSkill("w2", 10, 0.3),
        "expert": WorkerSkill("expert", 10, 0.95),
    }

    outcome = _consensus(BoxConsolidator().aggregate(answers, prior=prior).outcomes[0])

    assert outcome.value["boxes"][0]["label"] == "cat"


def test_box_consolidator_drops_a_box_drawn_by_a_minority() -> None:
    answers = [
        BoxAnswer("img", "w1", (Box("dog", 0, 0, 100, 100), Box("dog", 500, 500, 40, 40))),
        BoxAnswer("img", "w2", (Box("dog", 2, 2, 100, 100),)),
        BoxAnswer("img", "w3", (Box("dog", 1, 1, 100, 100),)),
    ]

    outcome = _consensus(BoxConsolidator().aggregate(answers).outcomes[0])

    assert [(b["left"], b["top"]) for b in outcome.value["boxes"]] == [(1, 1)]
    assert outcome.evidence["clusters"] == 2
    assert outcome.evidence["kept"] == 1
    assert outcome.evidence["dropped"] == 1


def test_box_consolidator_min_support_one_requires_every_worker() -> None:
    answers = [
        BoxAnswer("img", "w1", (Box("dog", 0, 0, 100, 100),)),
        BoxAnswer("img", "w2", (Box("dog", 0, 0, 100, 100),)),
        BoxAnswer("img", "w3", ()),
    ]

    outcome = _consensus(BoxConsolidator(min_support=1.0).aggregate(answers).outcomes[0])

    assert outcome.value["boxes"] == []
    assert outcome.confidence == 0.3333  # one worker of three drew nothing


def test_box_consolidator_clusters_hold_one_box_per_worker() -> None:
    # w1 drew the same object twice; only one of its boxes can join w2's box.
    answers = [
        BoxAnswer("img", "w1", (Box("dog", 0, 0, 100, 100), Box("dog", 0, 0, 100, 98))),
        BoxAnswer("img", "w2", (Box("dog", 0, 0, 100, 100),)),
    ]

    outcome = _consensus(BoxConsolidator().aggregate(answers).outcomes[0])

    assert outcome.evidence["clusters"] == 2
    # The exact duplicate (IoU 1) pairs up first; the other box is a cluster of one worker
    # (support 1/2), listed first because its bottom edge is higher.
    assert [(b["height"], b["confidence"]) for b in outcome.value["boxes"]] == [
        (98, 0.5),
        (100, 1.0),
    ]


def test_box_consolidator_uses_complete_linkage_not_chaining() -> None:
    # a-b and b-c overlap enough, a-c do not: at most two of them can share a cluster.
    answers = [
        BoxAnswer("img", "a", (Box("x", 0, 0, 100, 100),)),
        BoxAnswer("img", "b", (Box("x", 25, 0, 100, 100),)),
        BoxAnswer("img", "c", (Box("x", 50, 0, 100, 100),)),
    ]
    assert _iou((0, 0, 100, 100), (25, 0, 125, 100)) >= 0.5
    assert _iou((0, 0, 100, 100), (50, 0, 150, 100)) < 0.5

    outcome = _consensus(BoxConsolidator().aggregate(answers).outcomes[0])

    assert outcome.evidence["clusters"] == 2
    assert outcome.evidence["kept"] == 1
    # a-b and b-c tie on IoU; the canonical order (worker id) pairs a with b.
    assert outcome.value["boxes"][0]["left"] == 13  # mean of 0 and 25, halves rounded up


@pytest.mark.parametrize(
    ("matching", "expected"),
    [("ignore", [("cat", 0.5)]), ("require", [("cat", 0.5), ("dog", 0.5)])],
)
def test_box_consolidator_label_matching_policy(matching, expected) -> None:
    answers = [
        BoxAnswer("img", "w1", (Box("dog", 0, 0, 50, 50),)),
        BoxAnswer("img", "w2", (Box("cat", 0, 0, 50, 50),)),
    ]

    outcome = _consensus(BoxConsolidator(label_matching=matching).aggregate(answers).outcomes[0])

    assert [(b["label"], b["confidence"]) for b in outcome.value["boxes"]] == expected


def test_box_consolidator_exact_coordinates_keep_fractions() -> None:
    answers = [
        BoxAnswer("img", "w1", (Box("dog", 0.1, 0.2, 0.3, 0.4),)),
        BoxAnswer("img", "w2", (Box("dog", 0.2, 0.2, 0.3, 0.4),)),
    ]

    outcome = _consensus(BoxConsolidator(output_coordinates="exact").aggregate(answers).outcomes[0])

    box = outcome.value["boxes"][0]
    assert (box["left"], box["top"], box["width"], box["height"]) == (0.15, 0.2, 0.3, 0.4)
    assert outcome.value["image_size"] is None


def test_box_consolidator_lists_boxes_in_reading_order() -> None:
    boxes = (Box("b", 300, 10, 20, 20), Box("a", 10, 200, 20, 20), Box("c", 10, 10, 20, 20))
    answers = [BoxAnswer("img", "w1", boxes), BoxAnswer("img", "w2", boxes[::-1])]

    outcome = _consensus(BoxConsolidator().aggregate(answers).outcomes[0])

    assert [b["label"] for b in outcome.value["boxes"]] == ["c", "b", "a"]


def test_box_consolidator_outcomes_follow_first_appearance() -> None:
    answers = [
        BoxAnswer("z", "w1", ()),
        BoxAnswer("a", "w1", ()),
        BoxAnswer("z", "w2", ()),
        BoxAnswer("m", "w2", ()),
    ]

    run = BoxConsolidator().aggregate(answers)

    assert [o.task_id for o in run.outcomes] == ["z", "a", "m"]
    assert [s.worker_id for s in run.workers] == ["w1", "w2"]
    assert run.diagnostics["items"] == 3
