"""Keypoint consolidation at the edges: empty input, single workers, bad input, invariants."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consolidation._common import (
    Consensus,
    ConsolidationError,
    ConsolidationRun,
    NoConsensus,
    WorkerSkill,
)
from consolidation.keypoints import Keypoint, KeypointAnswer, KeypointConsolidator

NOSE = Keypoint("nose", 10, 20)


def test_keypoint_consolidator_empty_input_gives_empty_run() -> None:
    run = KeypointConsolidator().aggregate([])

    assert list(run.outcomes) == []
    assert list(run.workers) == []


def test_keypoint_consolidator_one_worker_keeps_their_points_without_confidence() -> None:
    run = KeypointConsolidator().aggregate([KeypointAnswer("img", "w1", (NOSE,))])

    outcome = run.outcomes[0]
    assert isinstance(outcome, Consensus)
    assert outcome.value == {"keypoints": [{"label": "nose", "x": 10, "y": 20, "confidence": 0.0}]}
    assert outcome.evidence["single_answer"] is True
    assert run.workers[0].accuracy == 0.0


def test_keypoint_consolidator_no_points_from_anyone_is_unanimous() -> None:
    answers = [KeypointAnswer("img", w, ()) for w in ("w1", "w2")]

    outcome = KeypointConsolidator().aggregate(answers).outcomes[0]

    assert isinstance(outcome, Consensus)
    assert outcome.value == {"keypoints": []}
    assert outcome.confidence == 1.0


def test_keypoint_consolidator_lone_point_against_empty_answers_is_dropped() -> None:
    answers = [
        KeypointAnswer("img", "w1", (NOSE,)),
        KeypointAnswer("img", "w2", ()),
        KeypointAnswer("img", "w3", ()),
    ]

    outcome = KeypointConsolidator().aggregate(answers).outcomes[0]

    assert outcome.value == {"keypoints": []}
    assert outcome.confidence == 0.6667


def test_keypoint_consolidator_even_split_keeps_both_points() -> None:
    # Two workers, far apart: each cluster has support 1/2 = min_support.
    answers = [
        KeypointAnswer("img", "w1", (Keypoint("nose", 0, 0),)),
        KeypointAnswer("img", "w2", (Keypoint("nose", 500, 0),)),
    ]

    outcome = KeypointConsolidator().aggregate(answers).outcomes[0]

    assert [(p["x"], p["confidence"]) for p in outcome.value["keypoints"]] == [
        (0, 0.5),
        (500, 0.5),
    ]


def test_keypoint_consolidator_unknown_label_is_no_consensus_naming_it() -> None:
    answers = [KeypointAnswer("img", "w1", (Keypoint("tail", 1, 1),))]

    outcome = KeypointConsolidator().aggregate(answers, labels=["nose"]).outcomes[0]

    assert isinstance(outcome, NoConsensus)
    assert outcome.reason == "unknown label 'tail'"


def test_keypoint_consolidator_unknown_label_can_raise() -> None:
    answers = [KeypointAnswer("img-4", "w1", (Keypoint("tail", 1, 1),))]

    with pytest.raises(ConsolidationError, match="img-4"):
        KeypointConsolidator(on_unknown_label="error").aggregate(answers, labels=["nose"])


def test_keypoint_consolidator_duplicate_answer_is_no_consensus_under_the_strict_policy() -> None:
    answers = [KeypointAnswer("img", "w1", (NOSE,)), KeypointAnswer("img", "w1", ())]

    run = KeypointConsolidator(on_duplicate="no_consensus").aggregate(answers)

    assert isinstance(run.outcomes[0], NoConsensus)
    assert run.outcomes[0].reason == "worker 'w1' answered more than once"
    assert run.workers == [WorkerSkill("w1", 0, 0.0)]


@pytest.mark.parametrize(
    "point",
    [
        Keypoint("nose", math.nan, 1),
        Keypoint("nose", 1, -math.inf),
        Keypoint("nose", None, 1),  # type: ignore[arg-type]
        Keypoint("nose", 1, "2"),  # type: ignore[arg-type]
    ],
)
def test_keypoint_consolidator_invalid_coordinates_raise_naming_the_item(point) -> None:
    answers = [KeypointAnswer("img-2", "w1", (NOSE, point))]

    with pytest.raises(ConsolidationError, match="img-2") as info:
        KeypointConsolidator().aggregate(answers)

    assert info.value.task_id == "img-2"


def test_keypoint_consolidator_image_size_disagreement_is_no_consensus() -> None:
    answers = [
        KeypointAnswer("img", "w1", (NOSE,), 100, 100),
        KeypointAnswer("img", "w2", (NOSE,), 100, 200),
    ]

    outcome = KeypointConsolidator().aggregate(answers).outcomes[0]

    assert isinstance(outcome, NoConsensus)
    assert outcome.reason == "workers disagree on the image size: 100x100, 100x200"


@pytest.mark.parametrize(
    "params",
    [
        {"radius": 0.0},
        {"radius": 2.0},
        {"pixel_radius": 0.0},
        {"pixel_radius": math.inf},
        {"min_support": -0.5},
        {"coordinate_policy": "mode"},
    ],
)
def test_keypoint_consolidator_rejects_bad_hyperparameters(params) -> None:
    with pytest.raises(ConsolidationError):
        KeypointConsolidator(**params)


# -- invariants ---------------------------------------------------------------------------------

_point = st.builds(
    Keypoint,
    st.sampled_from(["nose", "eye"]),
    st.sampled_from([0, 4, 8, 30]),
    st.sampled_from([0, 4, 8, 30]),
)
_answers = st.lists(
    st.tuples(
        st.sampled_from(["i1", "i2"]),
        st.sampled_from(["w1", "w2", "w3", "w4"]),
        st.lists(_point, max_size=3).map(tuple),
    ),
    max_size=10,
    unique_by=lambda row: (row[0], row[1]),
).map(lambda rows: [KeypointAnswer(t, w, p) for t, w, p in rows])


def _by_task(run: ConsolidationRun) -> dict[str, object]:
    return {o.task_id: (o.value, o.confidence, dict(o.evidence)) for o in run.outcomes}


@settings(max_examples=150, deadline=None)
@given(answers=_answers, data=st.data())
def test_keypoint_consolidator_ignores_answer_order(answers, data) -> None:
    shuffled = data.draw(st.permutations(answers))
    for policy in ("median", "mean"):
        method = KeypointConsolidator(coordinate_policy=policy)

        first, second = method.aggregate(answers), method.aggregate(shuffled)

        assert _by_task(first) == _by_task(second)
        assert {s.worker_id: s for s in first.workers} == {s.worker_id: s for s in second.workers}


@settings(max_examples=100, deadline=None)
@given(answers=_answers)
def test_keypoint_consolidator_scores_stay_in_unit_interval(answers) -> None:
    run = KeypointConsolidator().aggregate(answers)

    assert len(run.outcomes) == len({a.task_id for a in answers})
    for outcome in run.outcomes:
        assert 0.0 <= outcome.confidence <= 1.0
        assert all(0.0 <= p["confidence"] <= 1.0 for p in outcome.value["keypoints"])
    assert all(0.0 <= s.accuracy <= 1.0 for s in run.workers)
