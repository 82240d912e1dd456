"""Edge cases and invariants shared by every single-label classification method."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consolidation import (
    Annotation,
    AutoMethod,
    ClassAnswers,
    ClassificationMethod,
    Consensus,
    ConsolidationError,
    DawidSkene,
    MajorityVote,
    NoConsensus,
    OneCoinDawidSkene,
    Outcome,
    WeightedVote,
    WorkerSkill,
)
from tests.unit.consolidation.data_classification import (
    ADVERSARY,
    ADVERSARY_GOLD,
    ADVERSARY_WITH_GOLD,
    BALANCED,
    TIE_NUMERIC,
    TIE_TWO_OF_FOUR,
    crowd,
    encoded,
)

MethodFactory = Callable[..., ClassificationMethod]

METHODS: dict[str, MethodFactory] = {
    "majority-vote": MajorityVote,
    "weighted-vote": WeightedVote,
    "dawid-skene": DawidSkene,
    "dawid-skene-raw": lambda **kw: DawidSkene(calibration="none", **kw),
    "one-coin": OneCoinDawidSkene,
    "auto": AutoMethod,
}
# Methods that learn worker skill (majority vote does not).
LEARNING = {name: factory for name, factory in METHODS.items() if name != "majority-vote"}
TIE_POLICIES = ("lowest_label", "no_consensus")

all_methods = pytest.mark.parametrize("make", METHODS.values(), ids=METHODS.keys())
learning_methods = pytest.mark.parametrize("make", LEARNING.values(), ids=LEARNING.keys())
both_tie_policies = pytest.mark.parametrize("tie_policy", TIE_POLICIES)

# Derandomized so every run explores the same crowds (no flaky CI), without a deadline.
PROPERTY_SETTINGS = settings(max_examples=40, deadline=None, derandomize=True)


def _outcomes(make: MethodFactory, answers: ClassAnswers, **kwargs) -> dict[str, Outcome]:
    tie_policy = kwargs.pop("tie_policy", "lowest_label")
    return {
        o.task_id: o for o in make(tie_policy=tie_policy).aggregate(answers, **kwargs).outcomes()
    }


# -- empty input, one worker ---------------------------------------------------------------------


@all_methods
@pytest.mark.parametrize("labels", [None, ["cat", "dog"]])
def test_classification_empty_input_gives_an_empty_result(make, labels):
    answers = ClassAnswers.from_annotations([], labels=labels)

    run = make().aggregate(answers).to_run()

    assert list(run.outcomes) == []
    assert list(run.workers) == []
    assert run.no_consensus == 0


@all_methods
def test_classification_one_worker_gets_their_own_labels(make):
    answers = encoded({"q1": "cat", "q2": "dog", "q3": "cat"})

    result = make().aggregate(answers)

    assert [(o.task_id, o.value) for o in result.outcomes()] == [
        ("q1", "cat"),
        ("q2", "dog"),
        ("q3", "cat"),
    ]
    assert all(0.5 <= o.confidence <= 1.0 for o in result.outcomes())
    [skill] = result.worker_skills()
    assert (skill.worker_id, skill.answers) == ("w1", 3)
    assert 0.0 <= skill.accuracy <= 1.0


@all_methods
def test_classification_single_label_vocabulary_is_certain(make):
    result = make().aggregate(encoded({"q1": "yes yes", "q2": "- yes"}))

    assert [(o.value, o.confidence) for o in result.outcomes()] == [("yes", 1.0), ("yes", 1.0)]


# -- ties ----------------------------------------------------------------------------------------


@all_methods
@pytest.mark.parametrize(
    ("table", "first", "tied"),
    [
        (TIE_NUMERIC, "2", ["2", "10"]),
        (TIE_TWO_OF_FOUR, "b", ["b", "c"]),
        (BALANCED, "cat", ["cat", "dog"]),
    ],
    ids=["numeric", "two-of-four", "balanced"],
)
def test_classification_exact_tie_lowest_label_takes_the_first_tied_label(make, table, first, tied):
    for answers in (crowd(table), crowd(table)[::-1]):
        result = make(tie_policy="lowest_label").aggregate(ClassAnswers.from_annotations(answers))
        [outcome] = result.outcomes()
        position = {label: k for k, label in enumerate(result.answers.labels)}
        tied_posteriors = [result.posteriors[0, position[label]] for label in tied]

        assert isinstance(outcome, Consensus)
        assert outcome.value == first
        assert tied_posteriors == pytest.approx([tied_posteriors[0]] * len(tied), abs=1e-12)
        assert outcome.confidence == round(tied_posteriors[0], 4)


@all_methods
@pytest.mark.parametrize(
    ("table", "tied"),
    [(TIE_NUMERIC, ["2", "10"]), (TIE_TWO_OF_FOUR, ["b", "c"]), (BALANCED, ["cat", "dog"])],
    ids=["numeric", "two-of-four", "balanced"],
)
def test_classification_exact_tie_no_consensus_names_the_tied_labels(make, table, tied):
    for answers in (crowd(table), crowd(table)[::-1]):
        result = make(tie_policy="no_consensus").aggregate(ClassAnswers.from_annotations(answers))
        [outcome] = result.outcomes()

        assert isinstance(outcome, NoConsensus)
        assert outcome.reason == f"tie between {tied}"
        assert (outcome.value, outcome.confidence) == (None, 0.0)
        assert result.label_index.tolist() == [-1]
        assert result.confidence.tolist() == [0.0]
        assert result.to_run().no_consensus == 1


@all_methods
def test_classification_tie_policy_leaves_clear_winners_alone(make):
    answers = encoded({"q1": "a a a b", "q2": "a b - -"})

    lowest = _outcomes(make, answers, tie_policy="lowest_label")
    refuse = _outcomes(make, answers, tie_policy="no_consensus")

    assert lowest["q1"] == refuse["q1"]
    assert lowest["q1"].value == "a"


# -- input policies: unknown labels, duplicates, rejected items ------------------------------------


@all_methods
def test_classification_unknown_label_no_consensus_refuses_only_that_item(make):
    answers = ClassAnswers.from_annotations(
        crowd({"q1": "cat cat", "q2": "cat zebra"}), labels=["cat", "dog"]
    )

    outcomes = _outcomes(make, answers)

    assert outcomes["q1"].value == "cat"
    assert outcomes["q2"] == NoConsensus("q2", "unknown label 'zebra'", {})


def test_classification_unknown_label_error_raises_before_any_method_runs():
    with pytest.raises(ConsolidationError, match="item 'q2'"):
        ClassAnswers.from_annotations(
            crowd({"q1": "cat", "q2": "zebra"}), labels=["cat", "dog"], on_unknown_label="error"
        )


@all_methods
def test_classification_duplicate_no_consensus_refuses_the_item_with_the_reason(make):
    answers = ClassAnswers.from_annotations(
        [*crowd({"q1": "cat dog", "q2": "dog dog"}), Annotation("q1", "w2", "cat")],
        on_duplicate="no_consensus",
    )

    outcomes = _outcomes(make, answers)

    assert outcomes["q1"] == NoConsensus("q1", "worker 'w2' answered more than once", {})
    assert outcomes["q2"].value == "dog"


@all_methods
def test_classification_duplicate_by_default_counts_the_workers_last_answer_once(make):
    answers = ClassAnswers.from_annotations(
        [*crowd({"q1": "cat dog", "q2": "dog dog"}), Annotation("q1", "w2", "cat")]
    )

    outcomes = _outcomes(make, answers)

    assert outcomes["q1"].value == "cat"
    assert outcomes["q1"].evidence == {"workers": 2, "votes": {"cat": 2}, "repeated": 1}
    assert outcomes["q2"].value == "dog"


@all_methods
def test_classification_duplicate_keep_first_uses_the_first_answer(make):
    answers = ClassAnswers.from_annotations(
        [
            *crowd({"q1": "cat dog dog", "q2": "dog dog dog"}),
            Annotation("q1", "w2", "cat"),
            Annotation("q1", "w3", "cat"),
        ],
        on_duplicate="keep_first",
    )

    outcomes = _outcomes(make, answers)

    assert outcomes["q1"].value == "dog"
    assert outcomes["q1"].evidence["votes"] == {"cat": 1, "dog": 2}


@all_methods
def test_classification_rejected_items_come_back_as_no_consensus_after_the_others(make):
    answers = ClassAnswers.from_annotations(
        crowd({"q1": "cat cat", "q2": "dog cat", "q3": "dog dog"}),
        rejected={"q2": "unreadable answer from w3", "q9": "no readable answer"},
    )

    outcomes = make().aggregate(answers).outcomes()

    assert [o.task_id for o in outcomes] == ["q1", "q3", "q2", "q9"]
    assert outcomes[2:] == [
        NoConsensus("q2", "unreadable answer from w3", {}),
        NoConsensus("q9", "no readable answer", {}),
    ]


@all_methods
@both_tie_policies
def test_classification_all_items_rejected_still_reports_every_item(make, tie_policy):
    answers = ClassAnswers.from_annotations(
        crowd({"q1": "cat", "q2": "dog"}) * 2, on_duplicate="no_consensus"
    )

    run = make(tie_policy=tie_policy).aggregate(answers).to_run()

    assert [(o.task_id, o.reason) for o in run.outcomes if isinstance(o, NoConsensus)] == [
        ("q1", "worker 'w1' answered more than once"),
        ("q2", "worker 'w1' answered more than once"),
    ]
    assert run.no_consensus == 2
    assert list(run.workers) == []


# -- gold and prior --------------------------------------------------------------------------------


@all_methods
def test_classification_gold_items_keep_their_label_with_confidence_one(make):
    outcomes = _outcomes(make, encoded(ADVERSARY), gold=ADVERSARY_GOLD)

    for item, label in ADVERSARY_GOLD.items():
        assert outcomes[item] == Consensus(
            item,
            label,
            1.0,
            {"workers": 3, "votes": outcomes[item].evidence["votes"], "gold": True},
        )


@learning_methods
def test_classification_gold_reveals_confident_looking_adversaries(make):
    outcomes = _outcomes(make, encoded(ADVERSARY), gold=ADVERSARY_GOLD)

    assert {item: outcomes[item].value for item in ADVERSARY_WITH_GOLD} == ADVERSARY_WITH_GOLD


@learning_methods
def test_classification_prior_skill_decides_balanced_evidence(make):
    prior = {"w1": WorkerSkill("w1", 30, 0.55), "w2": WorkerSkill("w2", 30, 0.95)}

    without = _outcomes(make, encoded(BALANCED))["q1"]
    with_prior = _outcomes(make, encoded(BALANCED), prior=prior)["q1"]

    assert without.value == "cat"
    assert with_prior.value == "dog"
    assert with_prior.confidence > without.confidence


@learning_methods
def test_classification_prior_for_unknown_workers_changes_nothing(make):
    answers = encoded(BALANCED)

    plain = _outcomes(make, answers)
    with_prior = _outcomes(make, answers, prior={"someone-else": WorkerSkill("x", 9, 0.99)})

    assert with_prior == plain


# -- output shapes -------------------------------------------------------------------------------


def test_worker_skill_to_json_rounds_and_includes_the_confusion_matrix():
    [skill, *_] = DawidSkene().aggregate(encoded({"q1": "a a", "q2": "b b"})).worker_skills()

    document = skill.to_json()

    assert set(document) == {"worker", "answers", "accuracy", "confusion"}
    assert document["worker"] == "w1"
    assert document["answers"] == 2
    assert set(document["confusion"]) == {"a", "b"}
    assert all(round(p, 4) == p for row in document["confusion"].values() for p in row.values())


def test_worker_skill_to_json_omits_missing_confusion():
    [skill] = MajorityVote().aggregate(encoded({"q1": "a"})).worker_skills()

    assert skill.to_json() == {"worker": "w1", "answers": 1, "accuracy": 1.0}


# -- properties ----------------------------------------------------------------------------------

LABELS = ("a", "b", "c", "2", "10")


@st.composite
def crowds(draw, max_items: int = 6, max_workers: int = 5) -> list[Annotation]:
    """Arbitrary crowds: each item answered by a non-empty set of distinct workers."""
    labels = draw(st.lists(st.sampled_from(LABELS), min_size=1, max_size=4, unique=True))
    n_workers = draw(st.integers(1, max_workers))
    out: list[Annotation] = []
    for item in range(draw(st.integers(1, max_items))):
        workers = draw(
            st.lists(st.integers(0, n_workers - 1), min_size=1, max_size=n_workers, unique=True)
        )
        out.extend(Annotation(f"q{item}", f"w{w}", draw(st.sampled_from(labels))) for w in workers)
    return out


@st.composite
def clear_crowds(draw) -> list[Annotation]:
    """Five workers answer every item; at most one of them disagrees with the others."""
    labels = draw(st.lists(st.sampled_from(LABELS), min_size=2, max_size=3, unique=True))
    out: list[Annotation] = []
    for item in range(draw(st.integers(2, 8))):
        row = [draw(st.sampled_from(labels))] * 5
        if draw(st.booleans()):
            row[draw(st.integers(0, 4))] = draw(st.sampled_from(labels))
        out.extend(Annotation(f"q{item}", f"w{w}", label) for w, label in enumerate(row))
    return out


def _summary(make: MethodFactory, answers: list[Annotation], tie_policy: str = "lowest_label"):
    result = make(tie_policy=tie_policy).aggregate(ClassAnswers.from_annotations(answers))
    posteriors = dict(zip(result.answers.items, result.posteriors, strict=True))
    labels = {o.task_id: o.value for o in result.outcomes()}
    return labels, posteriors


@all_methods
@both_tie_policies
@PROPERTY_SETTINGS
@given(answers=crowds(), extra=st.lists(st.integers(0, 40), max_size=3))
def test_property_every_item_comes_back_once_with_confidence_in_unit_interval(
    make, tie_policy, answers, extra
):
    # Repeat a few answers so the duplicate policy sets some items aside as well.
    answers = answers + [answers[i % len(answers)] for i in extra]
    encoded_answers = ClassAnswers.from_annotations(answers)

    result = make(tie_policy=tie_policy).aggregate(encoded_answers)
    outcomes = result.outcomes()

    assert sorted(o.task_id for o in outcomes) == sorted({a.task_id for a in answers})
    assert all(0.0 <= o.confidence <= 1.0 for o in outcomes)
    np.testing.assert_allclose(result.posteriors.sum(axis=1), 1.0)
    assert np.all(np.isfinite(result.accuracy))
    assert all(0.0 <= s.accuracy <= 1.0 for s in result.worker_skills())
    for outcome in outcomes:
        if isinstance(outcome, Consensus):
            assert outcome.value in encoded_answers.labels


@both_tie_policies
@PROPERTY_SETTINGS
@given(answers=crowds())
def test_property_majority_vote_label_is_one_of_the_items_answers(tie_policy, answers):
    given_labels: dict[str, set[str]] = {}
    for a in answers:
        given_labels.setdefault(a.task_id, set()).add(a.label)

    labels, _ = _summary(MajorityVote, answers, tie_policy)

    for item, label in labels.items():
        assert label is None or label in given_labels[item]


ORDER_FREE = {name: METHODS[name] for name in ("majority-vote", "weighted-vote", "one-coin")}


@pytest.mark.parametrize("make", ORDER_FREE.values(), ids=ORDER_FREE.keys())
@both_tie_policies
@PROPERTY_SETTINGS
@given(answers=crowds(), order=st.randoms(use_true_random=False))
def test_property_results_do_not_depend_on_answer_order(make, tie_policy, answers, order):
    shuffled = list(answers)
    order.shuffle(shuffled)

    labels, posteriors = _summary(make, answers, tie_policy)
    labels_shuffled, posteriors_shuffled = _summary(make, shuffled, tie_policy)

    assert labels_shuffled == labels
    for item, row in posteriors.items():
        np.testing.assert_allclose(posteriors_shuffled[item], row, atol=1e-9)


@pytest.mark.parametrize(
    "make", [METHODS["dawid-skene"], METHODS["dawid-skene-raw"]], ids=["calibrated", "raw"]
)
@PROPERTY_SETTINGS
@given(answers=clear_crowds(), order=st.randoms(use_true_random=False))
def test_property_dawid_skene_labels_do_not_depend_on_answer_order(make, answers, order):
    # EM can land in different optima on crowds too small to identify each worker's confusion
    # matrix, so the property is stated for crowds with clear majorities.
    shuffled = list(answers)
    order.shuffle(shuffled)

    assert _summary(make, shuffled)[0] == _summary(make, answers)[0]


@all_methods
@PROPERTY_SETTINGS
@given(answers=crowds())
def test_property_results_do_not_depend_on_worker_ids(make, answers):
    renamed = [Annotation(a.task_id, f"annotator-{a.worker_id[::-1]}", a.label) for a in answers]

    original = make().aggregate(ClassAnswers.from_annotations(answers))
    other = make().aggregate(ClassAnswers.from_annotations(renamed))

    assert other.outcomes() == original.outcomes()
    assert [s.accuracy for s in other.worker_skills()] == [
        s.accuracy for s in original.worker_skills()
    ]
    assert [s.worker_id for s in other.worker_skills()] == [
        f"annotator-{s.worker_id[::-1]}" for s in original.worker_skills()
    ]


@all_methods
@both_tie_policies
@PROPERTY_SETTINGS
@given(answers=crowds())
def test_property_results_are_deterministic(make, tie_policy, answers):
    first = make(tie_policy=tie_policy).aggregate(ClassAnswers.from_annotations(answers))
    second = make(tie_policy=tie_policy).aggregate(ClassAnswers.from_annotations(answers))

    assert second.outcomes() == first.outcomes()
    assert second.worker_skills() == first.worker_skills()
    np.testing.assert_array_equal(second.posteriors, first.posteriors)


@both_tie_policies
@PROPERTY_SETTINGS
@given(answers=crowds())
def test_property_calibration_never_changes_labels(tie_policy, answers):
    encoded_answers = ClassAnswers.from_annotations(answers)

    calibrated = DawidSkene(tie_policy=tie_policy).aggregate(encoded_answers)
    raw = DawidSkene(tie_policy=tie_policy, calibration="none").aggregate(encoded_answers)

    np.testing.assert_array_equal(calibrated.label_index, raw.label_index)
    assert np.all(calibrated.confidence <= raw.confidence + 1e-9)
