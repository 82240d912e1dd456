"""ClassAnswers: encoding, label vocabulary, duplicate/unknown-label/rejected policies."""

from __future__ import annotations

import numpy as np
import pytest

from consolidation import Annotation, ClassAnswers, ConsolidationError
from consolidation.answers import natural_sorted


def _decoded(answers: ClassAnswers) -> list[tuple[str, str, str]]:
    """The kept answers as (item, worker, label) triples, read back through the vocabularies."""
    return [
        (answers.items[i], answers.workers[w], answers.labels[k])
        for i, w, k in zip(
            answers.item_idx.tolist(),
            answers.worker_idx.tolist(),
            answers.label_idx.tolist(),
            strict=True,
        )
    ]


def _from_triples(*triples: str, **kwargs) -> ClassAnswers:
    return ClassAnswers.from_annotations(
        [Annotation(*t.split()) for t in triples],
        **kwargs,
    )


def _strict(*triples: str, **kwargs) -> ClassAnswers:
    return _from_triples(*triples, on_duplicate="no_consensus", **kwargs)


def test_duplicate_default_keeps_each_workers_last_answer_and_counts_the_repeats():
    answers = _from_triples("q1 w1 dog", "q1 w2 cat", "q1 w1 cat", "q2 w2 dog", "q2 w2 dog")

    assert answers.rejected == {}
    assert _decoded(answers) == [("q1", "w2", "cat"), ("q1", "w1", "cat"), ("q2", "w2", "dog")]
    assert answers.repeated == {"q1": 1, "q2": 1}
    assert answers.worker_counts.tolist() == [1, 2]


def test_from_annotations_encodes_items_and_workers_in_order_of_first_appearance():
    answers = _from_triples("q2 w9 cat", "q1 w1 dog", "q2 w1 cat")

    assert answers.items == ("q2", "q1")
    assert answers.workers == ("w9", "w1")
    assert answers.labels == ("cat", "dog")
    assert answers.item_idx.tolist() == [0, 1, 0]
    assert answers.worker_idx.tolist() == [0, 1, 1]
    assert answers.label_idx.tolist() == [0, 1, 0]
    assert (answers.n_items, answers.n_workers, answers.n_labels, answers.n_answers) == (2, 2, 2, 3)
    assert answers.rejected == {}


def test_from_annotations_uses_natural_label_order_when_labels_are_not_declared():
    answers = _from_triples("q1 w1 10", "q1 w2 b", "q1 w3 2", "q1 w4 a", "q1 w5 1.5")

    assert answers.labels == ("1.5", "2", "10", "a", "b")
    assert _decoded(answers) == [
        ("q1", "w1", "10"),
        ("q1", "w2", "b"),
        ("q1", "w3", "2"),
        ("q1", "w4", "a"),
        ("q1", "w5", "1.5"),
    ]


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        (["10", "9", "1"], ["1", "9", "10"]),
        (["b", "a", "B"], ["B", "a", "b"]),
        (["x", "3", "-1", "2.5"], ["-1", "2.5", "3", "x"]),
        ([], []),
    ],
)
def test_natural_sorted_puts_numbers_first_in_numeric_order(labels, expected):
    assert natural_sorted(labels) == expected


def test_from_annotations_keeps_declared_label_order_including_unused_labels():
    answers = _from_triples("q1 w1 dog", "q1 w2 cat", labels=["dog", "bird", "cat"])

    assert answers.labels == ("dog", "bird", "cat")
    assert answers.label_idx.tolist() == [0, 2]
    assert answers.votes.tolist() == [[1.0, 0.0, 1.0]]


def test_from_annotations_rejects_duplicate_declared_labels():
    with pytest.raises(ConsolidationError, match="duplicates"):
        _from_triples("q1 w1 cat", labels=["cat", "dog", "cat"])


def test_unknown_label_no_consensus_sets_the_item_aside_with_the_label_named():
    answers = _from_triples(
        "q1 w1 cat", "q1 w2 zebra", "q2 w1 dog", "q2 w2 dog", labels=["cat", "dog"]
    )

    assert answers.rejected == {"q1": "unknown label 'zebra'"}
    assert answers.items == ("q2",)
    assert _decoded(answers) == [("q2", "w1", "dog"), ("q2", "w2", "dog")]


def test_unknown_label_error_raises_naming_the_item():
    with pytest.raises(ConsolidationError, match=r"item 'q2'.*unknown label 'zebra'") as info:
        _from_triples(
            "q1 w1 cat",
            "q2 w1 zebra",
            labels=["cat", "dog"],
            on_unknown_label="error",
        )
    assert info.value.task_id == "q2"


def test_unknown_label_policy_does_not_apply_without_declared_labels():
    answers = _from_triples("q1 w1 zebra", on_unknown_label="error")

    assert answers.labels == ("zebra",)
    assert answers.rejected == {}


def test_duplicate_no_consensus_sets_the_item_aside_naming_the_worker():
    answers = _strict("q1 w1 cat", "q1 w2 cat", "q2 w1 cat", "q1 w1 dog")

    assert answers.rejected == {"q1": "worker 'w1' answered more than once"}
    assert answers.items == ("q2",)
    assert answers.workers == ("w1",)
    assert _decoded(answers) == [("q2", "w1", "cat")]


def test_duplicate_keep_first_keeps_each_workers_first_answer_only():
    answers = _from_triples(
        "q1 w1 dog", "q1 w2 cat", "q1 w1 cat", "q1 w1 cat", "q2 w2 dog", on_duplicate="keep_first"
    )

    assert answers.rejected == {}
    assert _decoded(answers) == [("q1", "w1", "dog"), ("q1", "w2", "cat"), ("q2", "w2", "dog")]
    assert answers.worker_counts.tolist() == [1, 2]


def test_duplicate_same_answer_twice_is_still_a_duplicate():
    answers = _strict("q1 w1 cat", "q1 w1 cat")

    assert answers.rejected == {"q1": "worker 'w1' answered more than once"}
    assert answers.n_items == 0


def test_caller_rejected_item_drops_its_other_answers_and_keeps_the_reason():
    answers = _from_triples(
        "q1 w1 cat", "q2 w2 dog", "q3 w1 dog", rejected={"q2": "unreadable answer"}
    )

    assert answers.rejected == {"q2": "unreadable answer"}
    assert answers.items == ("q1", "q3")
    assert _decoded(answers) == [("q1", "w1", "cat"), ("q3", "w1", "dog")]


def test_caller_rejected_item_without_answers_is_listed():
    answers = _from_triples("q1 w1 cat", rejected={"q9": "no readable answer"})

    assert answers.rejected == {"q9": "no readable answer"}
    assert answers.items == ("q1",)


def test_caller_reason_wins_over_a_policy_reason_for_the_same_item():
    answers = _from_triples("q1 w1 cat", "q1 w1 dog", rejected={"q1": "unreadable answer from w2"})

    assert answers.rejected == {"q1": "unreadable answer from w2"}


def test_rejection_reindexes_items_and_workers_so_every_kept_one_has_answers():
    # w2 answered only the rejected item q2, so it disappears; q3 and w3 move down one place.
    answers = _strict(
        "q1 w1 cat",
        "q2 w2 cat",
        "q2 w2 dog",
        "q3 w3 dog",
        "q3 w1 cat",
        "q4 w3 cat",
    )

    assert answers.rejected == {"q2": "worker 'w2' answered more than once"}
    assert answers.items == ("q1", "q3", "q4")
    assert answers.workers == ("w1", "w3")
    assert answers.item_idx.tolist() == [0, 1, 1, 2]
    assert answers.worker_idx.tolist() == [0, 1, 0, 1]
    assert _decoded(answers) == [
        ("q1", "w1", "cat"),
        ("q3", "w3", "dog"),
        ("q3", "w1", "cat"),
        ("q4", "w3", "cat"),
    ]
    assert answers.worker_counts.tolist() == [2, 2]
    assert answers.votes.tolist() == [[1.0, 0.0], [1.0, 1.0], [1.0, 0.0]]


def test_rejection_keeps_the_label_vocabulary_of_all_answers_seen():
    answers = _strict("q1 w1 cat", "q2 w1 dog", "q2 w1 bird")

    assert answers.labels == ("bird", "cat", "dog")
    assert _decoded(answers) == [("q1", "w1", "cat")]


def test_all_items_rejected_leaves_an_empty_table_with_every_reason():
    answers = _strict("q1 w1 cat", "q1 w1 dog", "q2 w2 zebra", labels=["cat", "dog"])

    assert answers.rejected == {
        "q1": "worker 'w1' answered more than once",
        "q2": "unknown label 'zebra'",
    }
    assert (answers.n_items, answers.n_workers, answers.n_answers) == (0, 0, 0)
    assert answers.votes.shape == (0, 2)


def test_empty_input_encodes_to_an_empty_table():
    answers = ClassAnswers.from_annotations([])

    assert (answers.n_items, answers.n_workers, answers.n_labels, answers.n_answers) == (0, 0, 0, 0)
    assert answers.votes.shape == (0, 0)
    assert answers.worker_counts.tolist() == []


def test_from_codes_matches_from_annotations_on_the_same_answers():
    # The labels_seen order differs from the final vocabulary, so the codes must be remapped.
    by_codes = ClassAnswers.from_codes(
        items=("q1", "q2"),
        workers=("w1", "w2"),
        labels_seen=("dog", "cat"),
        item_idx=np.array([0, 0, 1, 1], dtype=np.intp),
        worker_idx=np.array([0, 1, 0, 1], dtype=np.intp),
        label_idx=np.array([0, 1, 1, 1], dtype=np.intp),
    )
    by_records = _from_triples("q1 w1 dog", "q1 w2 cat", "q2 w1 cat", "q2 w2 cat")

    assert by_codes.labels == by_records.labels == ("cat", "dog")
    assert _decoded(by_codes) == _decoded(by_records)
    assert by_codes.label_idx.tolist() == [1, 0, 0, 0]


def test_votes_count_each_label_per_item():
    answers = _from_triples("q1 w1 a", "q1 w2 b", "q1 w3 a", "q2 w1 c")

    assert answers.votes.tolist() == [[2.0, 1.0, 0.0], [0.0, 0.0, 1.0]]


def test_by_item_groups_answer_positions_by_item():
    answers = _from_triples("q1 w1 a", "q2 w1 b", "q1 w2 a", "q2 w2 a", "q1 w3 b")

    order, starts = answers.by_item

    assert starts.tolist() == [0, 3]
    assert order.tolist() == [0, 2, 4, 1, 3]
