"""Named-entity consolidation: clustering spans, voting boundaries and labels, scoring workers."""

from __future__ import annotations

import pytest

from consolidation._common import Consensus, Outcome, WorkerSkill
from consolidation.spans import Span, SpanAnswer, SpanConsolidator

# "Amazon SageMaker launched in November 2017." with ORG = [0, 16) and DATE = [29, 42).
# w2 marks only "Amazon" (too short to match), w3 starts the date at "in " (still matches).
TEXT_ANSWERS = [
    SpanAnswer("t1", "w1", (Span("ORG", 0, 16), Span("DATE", 29, 42))),
    SpanAnswer("t1", "w2", (Span("ORG", 0, 6), Span("DATE", 29, 42))),
    SpanAnswer("t1", "w3", (Span("DATE", 26, 42), Span("ORG", 0, 16))),
]


def _consensus(outcome: Outcome) -> Consensus:
    assert isinstance(outcome, Consensus), outcome
    return outcome


def _entities(outcome: Outcome) -> list[tuple[str, int, int]]:
    return [
        (e["label"], e["startOffset"], e["endOffset"])
        for e in _consensus(outcome).value["entities"]
    ]


def test_span_consolidator_hand_made_text_entities() -> None:
    run = SpanConsolidator().aggregate(TEXT_ANSWERS)

    outcome = _consensus(run.outcomes[0])
    assert outcome.value == {
        "entities": [
            # two of three workers, both exact: 2/3 x 1.0
            {"label": "ORG", "startOffset": 0, "endOffset": 16, "confidence": 0.6667},
            # start mode 29 (two votes), end 42; Jaccards 1, 1, 13/16: 3/3 x 0.9375
            {"label": "DATE", "startOffset": 29, "endOffset": 42, "confidence": 0.9375},
        ]
    }
    assert outcome.confidence == round((2 / 3 + 0.9375) / 2, 4)
    assert outcome.evidence == {
        "workers": 3,
        "spans_per_worker": {"w1": 2, "w2": 2, "w3": 2},
        "clusters": 3,
        "kept": 2,
        "dropped": 1,
    }


def test_span_consolidator_worker_skill_is_exact_match_f1() -> None:
    run = SpanConsolidator().aggregate(TEXT_ANSWERS)

    skills = {s.worker_id: s for s in run.workers}
    assert skills["w1"].accuracy == 1.0
    assert skills["w2"].accuracy == 0.5  # the short ORG span is not an exact match
    assert skills["w3"].accuracy == 0.5  # nor is the early DATE start
    assert skills["w3"].metrics["precision"] == 0.5
    assert skills["w3"].metrics["recall"] == 0.5
    assert skills["w3"].metrics["mean_jaccard"] == pytest.approx((1 + 13 / 16) / 2)


def test_span_consolidator_without_clear_mode_takes_the_lower_median() -> None:
    answers = [
        SpanAnswer("t", "w1", (Span("PER", 3, 10),)),
        SpanAnswer("t", "w2", (Span("PER", 4, 10),)),
        SpanAnswer("t", "w3", (Span("PER", 5, 11),)),
    ]

    run = SpanConsolidator().aggregate(answers)

    # starts 3, 4, 5 have no clear mode -> median 4; ends 10, 10, 11 -> mode 10
    assert _entities(run.outcomes[0]) == [("PER", 4, 10)]


def test_span_consolidator_two_way_boundary_split_takes_the_lower_offset() -> None:
    answers = [
        SpanAnswer("t", "w1", (Span("PER", 5, 12),)),
        SpanAnswer("t", "w2", (Span("PER", 3, 10),)),
    ]

    run = SpanConsolidator().aggregate(answers)

    assert _entities(run.outcomes[0]) == [("PER", 3, 10)]


def test_span_consolidator_prior_skill_weights_the_boundary_median() -> None:
    answers = [
        SpanAnswer("t", "w1", (Span("PER", 5, 12),)),
        SpanAnswer("t", "w2", (Span("PER", 3, 10),)),
    ]
    prior = {"w1": WorkerSkill("w1", 20, 0.9), "w2": WorkerSkill("w2", 20, 0.2)}

    run = SpanConsolidator().aggregate(answers, prior=prior)

    assert _entities(run.outcomes[0]) == [("PER", 5, 12)]


def test_span_consolidator_label_is_the_majority_in_the_cluster() -> None:
    answers = [
        SpanAnswer("t", "w1", (Span("LOC", 0, 5),)),
        SpanAnswer("t", "w2", (Span("ORG", 0, 5),)),
        SpanAnswer("t", "w3", (Span("LOC", 0, 5),)),
    ]

    outcome = _consensus(SpanConsolidator().aggregate(answers).outcomes[0])

    assert outcome.value["entities"] == [
        {"label": "LOC", "startOffset": 0, "endOffset": 5, "confidence": 0.6667}
    ]


def test_span_consolidator_keeps_nested_entities_sorted_by_offset() -> None:
    spans = (Span("LOC", 10, 15), Span("ORG", 0, 20))
    answers = [SpanAnswer("t", w, spans) for w in ("w1", "w2", "w3")]

    run = SpanConsolidator().aggregate(answers)

    assert _entities(run.outcomes[0]) == [("ORG", 0, 20), ("LOC", 10, 15)]


def test_span_consolidator_clusters_hold_one_span_per_worker() -> None:
    # w1 marked the same range twice; the second copy cannot join the first.
    answers = [
        SpanAnswer("t", "w1", (Span("PER", 0, 4), Span("PER", 0, 4))),
        SpanAnswer("t", "w2", (Span("PER", 0, 4),)),
    ]

    outcome = _consensus(SpanConsolidator().aggregate(answers).outcomes[0])

    assert outcome.evidence["clusters"] == 2
    assert [e["confidence"] for e in outcome.value["entities"]] == [1.0, 0.5]


@pytest.mark.parametrize(
    ("matching", "expected"),
    [("ignore", [("LOC", 0, 5)]), ("require", [("LOC", 0, 5), ("ORG", 0, 5)])],
)
def test_span_consolidator_label_matching_policy(matching, expected) -> None:
    answers = [
        SpanAnswer("t", "w1", (Span("ORG", 0, 5),)),
        SpanAnswer("t", "w2", (Span("LOC", 0, 5),)),
    ]

    run = SpanConsolidator(label_matching=matching).aggregate(answers)

    assert _entities(run.outcomes[0]) == expected


def test_span_consolidator_overlap_threshold_controls_matching() -> None:
    answers = [
        SpanAnswer("t", "w1", (Span("PER", 0, 10),)),
        SpanAnswer("t", "w2", (Span("PER", 0, 6),)),
    ]

    loose = SpanConsolidator(overlap_threshold=0.6).aggregate(answers)
    strict = SpanConsolidator(overlap_threshold=0.7).aggregate(answers)

    assert loose.outcomes[0].evidence["clusters"] == 1  # Jaccard 0.6
    assert strict.outcomes[0].evidence["clusters"] == 2


def test_span_consolidator_counts_offsets_in_code_points() -> None:
    text = "Zoë visited Köln"
    answers = [SpanAnswer("t", w, (Span("LOC", 12, 16),)) for w in ("w1", "w2")]

    (label, start, end), *_ = _entities(SpanConsolidator().aggregate(answers).outcomes[0])

    assert text[start:end] == "Köln"
    assert label == "LOC"
