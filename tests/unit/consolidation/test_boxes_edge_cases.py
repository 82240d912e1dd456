"""Bounding-box consolidation at the edges: empty input, single workers, ties, bad input."""

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
from consolidation.boxes import Box, BoxAnswer, BoxConsolidator

DOG = Box("dog", 10, 20, 30, 40)


def test_box_consolidator_empty_input_gives_empty_run() -> None:
    run = BoxConsolidator().aggregate([])

    assert list(run.outcomes) == []
    assert list(run.workers) == []
    assert run.no_consensus == 0


def test_box_consolidator_one_worker_keeps_their_boxes_without_confidence() -> None:
    run = BoxConsolidator().aggregate([BoxAnswer("img", "w1", (DOG,), 640, 480)])

    outcome = run.outcomes[0]
    assert isinstance(outcome, Consensus)
    assert outcome.value == {
        "boxes": [
            {"label": "dog", "left": 10, "top": 20, "width": 30, "height": 40, "confidence": 0.0}
        ],
        "image_size": {"width": 640, "height": 480},
    }
    assert outcome.confidence == 0.0
    assert outcome.evidence["single_answer"] is True
    assert run.workers == [WorkerSkill("w1", 0, 0.0)]


def test_box_consolidator_one_worker_with_prior_gets_their_earlier_accuracy() -> None:
    prior = {"w1": WorkerSkill("w1", 50, 0.9)}
    run = BoxConsolidator().aggregate([BoxAnswer("img", "w1", (DOG,), 640, 480)], prior=prior)

    outcome = run.outcomes[0]
    assert outcome.confidence == 0.9
    assert [box["confidence"] for box in outcome.value["boxes"]] == [0.9]
    assert run.workers == [WorkerSkill("w1", 0, 0.9)]


def test_box_consolidator_lone_box_against_empty_answers_is_dropped() -> None:
    answers = [
        BoxAnswer("img", "w1", (DOG,)),
        BoxAnswer("img", "w2", ()),
        BoxAnswer("img", "w3", ()),
    ]

    outcome = BoxConsolidator().aggregate(answers).outcomes[0]

    assert isinstance(outcome, Consensus)
    assert outcome.value["boxes"] == []
    assert outcome.confidence == 0.6667  # two of three workers drew nothing
    assert outcome.evidence["dropped"] == 1


@pytest.mark.parametrize(("declared", "winner"), [(None, "cat"), (["dog", "cat"], "dog")])
def test_box_consolidator_label_tie_goes_to_first_label_in_vocabulary(declared, winner) -> None:
    answers = [
        BoxAnswer("img", "w1", (Box("dog", 0, 0, 10, 10),)),
        BoxAnswer("img", "w2", (Box("cat", 0, 0, 10, 10),)),
    ]

    outcome = BoxConsolidator().aggregate(answers, labels=declared).outcomes[0]

    assert outcome.value["boxes"][0]["label"] == winner


def test_box_consolidator_unknown_label_is_no_consensus_naming_it() -> None:
    answers = [
        BoxAnswer("img", "w1", (Box("horse", 0, 0, 10, 10),)),
        BoxAnswer("ok", "w1", (Box("dog", 0, 0, 10, 10),)),
    ]

    run = BoxConsolidator().aggregate(answers, labels=["dog", "cat"])

    rejected, accepted = run.outcomes
    assert isinstance(rejected, NoConsensus)
    assert rejected.reason == "unknown label 'horse'"
    assert isinstance(accepted, Consensus)


def test_box_consolidator_unknown_label_can_raise() -> None:
    answers = [BoxAnswer("img-7", "w1", (Box("horse", 0, 0, 10, 10),))]

    with pytest.raises(ConsolidationError, match="img-7") as info:
        BoxConsolidator(on_unknown_label="error").aggregate(answers, labels=["dog"])

    assert info.value.task_id == "img-7"


def test_box_consolidator_duplicate_answer_is_no_consensus_under_the_strict_policy() -> None:
    answers = [
        BoxAnswer("img", "w1", (DOG,)),
        BoxAnswer("img", "w2", (DOG,)),
        BoxAnswer("img", "w1", ()),
    ]

    run = BoxConsolidator(on_duplicate="no_consensus").aggregate(answers)

    outcome = run.outcomes[0]
    assert isinstance(outcome, NoConsensus)
    assert outcome.reason == "worker 'w1' answered more than once"
    assert outcome.evidence["workers"] == 3
    assert [(s.worker_id, s.answers) for s in run.workers] == [("w1", 0), ("w2", 0)]


def test_box_consolidator_duplicate_answer_keep_first_policy() -> None:
    answers = [
        BoxAnswer("img", "w1", (DOG,)),
        BoxAnswer("img", "w2", (DOG,)),
        BoxAnswer("img", "w1", ()),
    ]

    outcome = BoxConsolidator(on_duplicate="keep_first").aggregate(answers).outcomes[0]

    assert isinstance(outcome, Consensus)
    assert outcome.evidence["workers"] == 2
    assert outcome.value["boxes"][0]["confidence"] == 1.0


@pytest.mark.parametrize(
    "box",
    [
        Box("dog", 0, 0, 0, 10),
        Box("dog", 0, 0, 10, -5),
        Box("dog", math.nan, 0, 10, 10),
        Box("dog", 0, math.inf, 10, 10),
        Box("dog", 0, 0, "10", 10),  # type: ignore[arg-type]
    ],
)
def test_box_consolidator_invalid_geometry_raises_naming_the_item(box) -> None:
    answers = [BoxAnswer("good", "w1", (DOG,)), BoxAnswer("bad-1", "w1", (DOG, box))]

    with pytest.raises(ConsolidationError, match="bad-1") as info:
        BoxConsolidator().aggregate(answers)

    assert info.value.task_id == "bad-1"
    assert "w1" in str(info.value)


@pytest.mark.parametrize(("width", "height"), [(640, None), (0, 480), (640, -1)])
def test_box_consolidator_invalid_image_size_raises(width, height) -> None:
    answers = [BoxAnswer("img", "w1", (DOG,), width, height)]

    with pytest.raises(ConsolidationError, match="img"):
        BoxConsolidator().aggregate(answers)


def test_box_consolidator_image_size_disagreement_is_no_consensus() -> None:
    answers = [
        BoxAnswer("img", "w1", (DOG,), 640, 480),
        BoxAnswer("img", "w2", (DOG,), 1280, 960),
        BoxAnswer("img", "w3", (DOG,)),
    ]

    outcome = BoxConsolidator().aggregate(answers).outcomes[0]

    assert isinstance(outcome, NoConsensus)
    assert outcome.reason == "workers disagree on the image size: 640x480, 1280x960"


def test_box_consolidator_worker_without_consensus_item_keeps_prior_accuracy() -> None:
    answers = [BoxAnswer("img", "w1", (DOG,)), BoxAnswer("img", "w1", (DOG,))]
    prior = {"w1": WorkerSkill("w1", 40, 0.8)}

    run = BoxConsolidator().aggregate(answers, prior=prior)

    assert run.workers == [WorkerSkill("w1", 0, 0.8)]


@pytest.mark.parametrize(
    "params",
    [
        {"iou_threshold": 0.0},
        {"iou_threshold": 1.5},
        {"min_support": 0.0},
        {"coordinate_policy": "mode"},
        {"label_matching": "strict"},
        {"output_coordinates": "ints"},
        {"on_duplicate": "keep_every"},
    ],
)
def test_box_consolidator_rejects_bad_hyperparameters(params) -> None:
    with pytest.raises(ConsolidationError):
        BoxConsolidator(**params)


def test_box_consolidator_rejects_duplicate_declared_labels() -> None:
    with pytest.raises(ConsolidationError, match="duplicates"):
        BoxConsolidator().aggregate([BoxAnswer("img", "w1", ())], labels=["dog", "dog"])


# -- invariants ---------------------------------------------------------------------------------

_coordinate = st.sampled_from([0, 5, 10, 40])
_size = st.sampled_from([20, 30, 60])
_box = st.builds(Box, st.sampled_from(["a", "b"]), _coordinate, _coordinate, _size, _size)
_answers = st.lists(
    st.tuples(
        st.sampled_from(["i1", "i2", "i3"]),
        st.sampled_from(["w1", "w2", "w3", "w4"]),
        st.lists(_box, max_size=3).map(tuple),
    ),
    max_size=12,
    unique_by=lambda row: (row[0], row[1]),
).map(lambda rows: [BoxAnswer(t, w, b) for t, w, b in rows])


def _by_task(run: ConsolidationRun) -> dict[str, object]:
    return {o.task_id: (o.value, o.confidence, dict(o.evidence)) for o in run.outcomes}


@settings(max_examples=150, deadline=None)
@given(answers=_answers, data=st.data())
def test_box_consolidator_ignores_answer_order(answers, data) -> None:
    shuffled = data.draw(st.permutations(answers))
    for policy in ("mean", "median"):
        method = BoxConsolidator(coordinate_policy=policy)

        first, second = method.aggregate(answers), method.aggregate(shuffled)

        assert _by_task(first) == _by_task(second)
        assert {s.worker_id: s for s in first.workers} == {s.worker_id: s for s in second.workers}


@settings(max_examples=100, deadline=None)
@given(answers=_answers)
def test_box_consolidator_returns_one_outcome_per_item_with_unit_scores(answers) -> None:
    run = BoxConsolidator().aggregate(answers)

    assert [o.task_id for o in run.outcomes] == list(dict.fromkeys(a.task_id for a in answers))
    assert len(run.workers) == len({a.worker_id for a in answers})
    for outcome in run.outcomes:
        assert 0.0 <= outcome.confidence <= 1.0
        for box in outcome.value["boxes"]:
            assert 0.0 <= box["confidence"] <= 1.0
            assert box["width"] > 0
            assert box["height"] > 0
    assert all(0.0 <= s.accuracy <= 1.0 for s in run.workers)
