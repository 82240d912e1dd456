"""Named-entity consolidation at the edges: empty input, single workers, ties, bad input."""

from __future__ import annotations

import numpy as np
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
from consolidation.spans import Span, SpanAnswer, SpanConsolidator


def test_span_consolidator_empty_input_gives_empty_run() -> None:
    run = SpanConsolidator().aggregate([])

    assert list(run.outcomes) == []
    assert list(run.workers) == []


def test_span_consolidator_one_worker_keeps_their_spans_without_confidence() -> None:
    run = SpanConsolidator().aggregate([SpanAnswer("t", "w1", (Span("PER", 2, 7),))])

    outcome = run.outcomes[0]
    assert isinstance(outcome, Consensus)
    assert outcome.value == {
        "entities": [{"label": "PER", "startOffset": 2, "endOffset": 7, "confidence": 0.0}]
    }
    assert outcome.confidence == 0.0
    assert outcome.evidence["single_answer"] is True
    assert run.workers == [WorkerSkill("w1", 0, 0.0)]


def test_span_consolidator_no_entities_from_anyone_is_unanimous() -> None:
    answers = [SpanAnswer("t", w, ()) for w in ("w1", "w2", "w3")]

    outcome = SpanConsolidator().aggregate(answers).outcomes[0]

    assert isinstance(outcome, Consensus)
    assert outcome.value == {"entities": []}
    assert outcome.confidence == 1.0


def test_span_consolidator_lone_span_is_dropped() -> None:
    answers = [
        SpanAnswer("t", "w1", (Span("PER", 0, 3),)),
        SpanAnswer("t", "w2", ()),
        SpanAnswer("t", "w3", ()),
    ]

    run = SpanConsolidator().aggregate(answers)

    outcome = run.outcomes[0]
    assert isinstance(outcome, Consensus)
    assert outcome.value == {"entities": []}
    assert outcome.confidence == 0.6667
    skills = {s.worker_id: s for s in run.workers}
    assert skills["w1"].metrics["precision"] == 0.0
    assert skills["w2"].accuracy == 1.0


@pytest.mark.parametrize(("declared", "winner"), [(None, "LOC"), (["PER", "LOC"], "PER")])
def test_span_consolidator_label_tie_goes_to_first_label_in_vocabulary(declared, winner) -> None:
    answers = [
        SpanAnswer("t", "w1", (Span("PER", 0, 5),)),
        SpanAnswer("t", "w2", (Span("LOC", 0, 5),)),
    ]

    outcome = SpanConsolidator().aggregate(answers, labels=declared).outcomes[0]

    assert outcome.value["entities"][0]["label"] == winner


def test_span_consolidator_unknown_label_is_no_consensus_naming_it() -> None:
    answers = [SpanAnswer("t", "w1", (Span("MISC", 0, 5),))]

    outcome = SpanConsolidator().aggregate(answers, labels=["PER", "LOC"]).outcomes[0]

    assert isinstance(outcome, NoConsensus)
    assert outcome.reason == "unknown label 'MISC'"
    assert outcome.evidence == {"workers": 1, "spans_per_worker": {"w1": 1}}


def test_span_consolidator_unknown_label_can_raise() -> None:
    answers = [SpanAnswer("doc-3", "w1", (Span("MISC", 0, 5),))]

    with pytest.raises(ConsolidationError, match="doc-3"):
        SpanConsolidator(on_unknown_label="error").aggregate(answers, labels=["PER"])


def test_span_consolidator_duplicate_answer_is_no_consensus_under_the_strict_policy() -> None:
    answers = [
        SpanAnswer("t", "w1", (Span("PER", 0, 5),)),
        SpanAnswer("t", "w1", (Span("PER", 0, 5),)),
        SpanAnswer("u", "w1", (Span("PER", 0, 5),)),
        SpanAnswer("u", "w2", (Span("PER", 0, 5),)),
    ]

    run = SpanConsolidator(on_duplicate="no_consensus").aggregate(answers)

    assert isinstance(run.outcomes[0], NoConsensus)
    assert run.outcomes[0].reason == "worker 'w1' answered more than once"
    assert isinstance(run.outcomes[1], Consensus)
    assert run.workers[0].answers == 1


@pytest.mark.parametrize(
    "span",
    [
        Span("PER", 5, 5),
        Span("PER", 6, 5),
        Span("PER", -1, 5),
        Span("PER", 0.0, 5),  # type: ignore[arg-type]
        Span("PER", True, 5),
        Span("PER", 0, None),  # type: ignore[arg-type]
    ],
)
def test_span_consolidator_invalid_offsets_raise_naming_the_item(span) -> None:
    answers = [SpanAnswer("doc-9", "w2", (Span("PER", 0, 3), span))]

    with pytest.raises(ConsolidationError, match="doc-9") as info:
        SpanConsolidator().aggregate(answers)

    assert info.value.task_id == "doc-9"
    assert "w2" in str(info.value)


def test_span_consolidator_accepts_numpy_integer_offsets() -> None:
    answers = [SpanAnswer("t", "w1", (Span("PER", np.int64(1), np.int64(4)),))]  # type: ignore[arg-type]

    outcome = SpanConsolidator().aggregate(answers).outcomes[0]

    assert outcome.value["entities"][0]["startOffset"] == 1


@pytest.mark.parametrize(
    "params",
    [
        {"overlap_threshold": 0.0},
        {"min_support": 2.0},
        {"label_matching": "any"},
        {"on_unknown_label": "ignore"},
    ],
)
def test_span_consolidator_rejects_bad_hyperparameters(params) -> None:
    with pytest.raises(ConsolidationError):
        SpanConsolidator(**params)


# -- invariants ---------------------------------------------------------------------------------

_span = st.builds(
    lambda label, start, length: Span(label, start, start + length),
    st.sampled_from(["PER", "ORG"]),
    st.integers(0, 12),
    st.integers(1, 6),
)
_answers = st.lists(
    st.tuples(
        st.sampled_from(["t1", "t2"]),
        st.sampled_from(["w1", "w2", "w3", "w4"]),
        st.lists(_span, max_size=3).map(tuple),
    ),
    max_size=10,
    unique_by=lambda row: (row[0], row[1]),
).map(lambda rows: [SpanAnswer(t, w, s) for t, w, s in rows])


def _by_task(run: ConsolidationRun) -> dict[str, object]:
    return {o.task_id: (o.value, o.confidence, dict(o.evidence)) for o in run.outcomes}


@settings(max_examples=150, deadline=None)
@given(answers=_answers, data=st.data())
def test_span_consolidator_ignores_answer_order(answers, data) -> None:
    shuffled = data.draw(st.permutations(answers))

    first = SpanConsolidator().aggregate(answers)
    second = SpanConsolidator().aggregate(shuffled)

    assert _by_task(first) == _by_task(second)
    assert {s.worker_id: s for s in first.workers} == {s.worker_id: s for s in second.workers}


@settings(max_examples=100, deadline=None)
@given(answers=_answers)
def test_span_consolidator_entities_are_valid_ranges_chosen_by_workers(answers) -> None:
    run = SpanConsolidator().aggregate(answers)

    for outcome in run.outcomes:
        starts = {s.start for a in answers if a.task_id == outcome.task_id for s in a.spans}
        ends = {s.end for a in answers if a.task_id == outcome.task_id for s in a.spans}
        entities = outcome.value["entities"]
        assert entities == sorted(entities, key=lambda e: (e["startOffset"], e["endOffset"]))
        for entity in entities:
            assert entity["startOffset"] < entity["endOffset"]
            assert entity["startOffset"] in starts
            assert entity["endOffset"] in ends
            assert 0.0 <= entity["confidence"] <= 1.0
