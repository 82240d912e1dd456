"""Keypoint consolidation: per-label clustering, weighted medians and support x closeness."""

from __future__ import annotations

import math

import pytest

from consolidation._common import Consensus, Outcome, WorkerSkill
from consolidation.keypoints import Keypoint, KeypointAnswer, KeypointConsolidator

SIDE = 1000
RADIUS = 0.02 * math.hypot(SIDE, SIDE)  # 28.28 pixels on a 1000 x 1000 image


def _consensus(outcome: Outcome) -> Consensus:
    assert isinstance(outcome, Consensus), outcome
    return outcome


def _face(worker: str, nose: tuple[float, float], eye: tuple[float, float]) -> KeypointAnswer:
    points = (Keypoint("nose", *nose), Keypoint("eye", *eye))
    return KeypointAnswer("img", worker, points, SIDE, SIDE)


FACES = [
    _face("w1", (100, 100), (300, 80)),
    _face("w2", (104, 100), (302, 80)),
    _face("w3", (102, 106), (500, 500)),  # w3 misplaced the eye
]


def test_keypoint_consolidator_hand_made_face() -> None:
    run = KeypointConsolidator().aggregate(FACES)

    outcome = _consensus(run.outcomes[0])
    # nose: medians x = 102, y = 100; offsets 2, 2 and 6 pixels -> closeness 1 - d / radius
    nose = sum(1 - d / RADIUS for d in (2, 2, 6)) / 3
    # eye: two of three workers, at 1 pixel each from the midpoint (301, 80)
    eye = 2 / 3 * (1 - 1 / RADIUS)
    assert outcome.value == {
        "keypoints": [
            {"label": "eye", "x": 301, "y": 80, "confidence": round(eye, 4)},
            {"label": "nose", "x": 102, "y": 100, "confidence": round(nose, 4)},
        ]
    }
    assert outcome.confidence == round((eye + nose) / 2, 4)
    assert outcome.evidence == {
        "workers": 3,
        "points_per_worker": {"w1": 2, "w2": 2, "w3": 2},
        "clusters": 3,
        "kept": 2,
        "dropped": 1,
        "radius": round(RADIUS, 4),
    }


def test_keypoint_consolidator_worker_skill_counts_matched_points() -> None:
    run = KeypointConsolidator().aggregate(FACES)

    skills = {s.worker_id: s for s in run.workers}
    assert skills["w1"].accuracy == 1.0
    assert skills["w3"].metrics["precision"] == 0.5
    assert skills["w3"].metrics["recall"] == 0.5
    assert skills["w3"].metrics["mean_distance"] == pytest.approx(6.0)
    assert skills["w1"].metrics["mean_distance"] == pytest.approx((2 + 1) / 2)


def test_keypoint_consolidator_never_mixes_labels() -> None:
    answers = [
        KeypointAnswer("img", "w1", (Keypoint("left_eye", 50, 50),), SIDE, SIDE),
        KeypointAnswer("img", "w2", (Keypoint("right_eye", 50, 50),), SIDE, SIDE),
    ]

    outcome = _consensus(KeypointConsolidator().aggregate(answers).outcomes[0])

    assert outcome.evidence["clusters"] == 2
    assert [(p["label"], p["confidence"]) for p in outcome.value["keypoints"]] == [
        ("left_eye", 0.5),
        ("right_eye", 0.5),
    ]


def test_keypoint_consolidator_uses_pixel_radius_without_image_size() -> None:
    answers = [
        KeypointAnswer("img", "w1", (Keypoint("tip", 0, 0),)),
        KeypointAnswer("img", "w2", (Keypoint("tip", 15, 0),)),
    ]

    near = KeypointConsolidator(pixel_radius=20).aggregate(answers).outcomes[0]
    far = KeypointConsolidator(pixel_radius=10).aggregate(answers).outcomes[0]

    assert near.evidence["clusters"] == 1
    assert near.evidence["radius"] == 20
    assert near.value["keypoints"][0]["x"] == 8  # midpoint 7.5, halves rounded up
    assert far.evidence["clusters"] == 2


def test_keypoint_consolidator_mean_policy_averages() -> None:
    answers = [
        KeypointAnswer("img", w, (Keypoint("tip", x, 10),), SIDE, SIDE)
        for w, x in (("w1", 100), ("w2", 101), ("w3", 120))
    ]

    median = KeypointConsolidator().aggregate(answers).outcomes[0]
    mean = KeypointConsolidator(coordinate_policy="mean").aggregate(answers).outcomes[0]

    assert median.value["keypoints"][0]["x"] == 101
    assert mean.value["keypoints"][0]["x"] == 107  # 107.0


def test_keypoint_consolidator_prior_skill_weights_the_median() -> None:
    answers = [
        KeypointAnswer("img", w, (Keypoint("tip", x, 10),), SIDE, SIDE)
        for w, x in (("w1", 100), ("w2", 110))
    ]
    prior = {"w1": WorkerSkill("w1", 30, 0.3), "w2": WorkerSkill("w2", 30, 0.9)}

    plain = KeypointConsolidator().aggregate(answers).outcomes[0]
    weighted = KeypointConsolidator().aggregate(answers, prior=prior).outcomes[0]

    assert plain.value["keypoints"][0]["x"] == 105
    assert weighted.value["keypoints"][0]["x"] == 110


def test_keypoint_consolidator_repeated_label_forms_separate_points() -> None:
    people = (Keypoint("head", 100, 100), Keypoint("head", 600, 100))
    answers = [KeypointAnswer("img", w, people, SIDE, SIDE) for w in ("w1", "w2")]

    outcome = _consensus(KeypointConsolidator().aggregate(answers).outcomes[0])

    assert [(p["x"], p["y"]) for p in outcome.value["keypoints"]] == [(100, 100), (600, 100)]
    assert outcome.confidence == 1.0


def test_keypoint_consolidator_exact_coordinates_keep_fractions() -> None:
    answers = [
        KeypointAnswer("img", "w1", (Keypoint("tip", 0.25, 0.5),)),
        KeypointAnswer("img", "w2", (Keypoint("tip", 0.5, 0.5),)),
    ]

    outcome = KeypointConsolidator(output_coordinates="exact").aggregate(answers).outcomes[0]

    assert (outcome.value["keypoints"][0]["x"], outcome.value["keypoints"][0]["y"]) == (
        0.375,
        0.5,
    )
