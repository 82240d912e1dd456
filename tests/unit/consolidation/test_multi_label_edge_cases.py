"""Multi-label consolidation at the edges: empty input, single workers, bad input, invariants."""

from __future__ import annotations

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
from consolidation.multi_label import MultiLabelAnswer, MultiLabelConsolidator


def _answer(task: str, worker: str, *labels: str) -> MultiLabelAnswer:
    return MultiLabelAnswer(task, worker, frozenset(labels))


def test_multi_label_empty_input_gives_empty_run() -> None:
    run = MultiLabelConsolidator().aggregate([])

    assert list(run.outcomes) == []
    assert list(run.workers) == []
    assert run.diagnostics["labels"] == []


def test_multi_label_one_worker_gets_their_labels() -> None:
    run = MultiLabelConsolidator().aggregate([_answer("x", "w1", "b", "a")])

    outcome = run.outcomes[0]
    assert isinstance(outcome, Consensus)
    assert outcome.value == ["a", "b"]
    assert outcome.evidence["votes"] == {"a": 1, "b": 1}
    assert len(run.workers) == 1


def test_multi_label_nobody_selecting_anything_is_certain_and_empty() -> None:
    answers = [_answer("x", "w1"), _answer("x", "w2"), _answer("y", "w1")]

    run = MultiLabelConsolidator().aggregate(answers)

    assert [(o.value, o.confidence) for o in run.outcomes] == [([], 1.0), ([], 1.0)]
    assert [s.metrics["f1"] for s in run.workers] == [1.0, 1.0]


def test_multi_label_unknown_label_is_no_consensus_naming_it() -> None:
    answers = [_answer("x", "w1", "cat", "unicorn"), _answer("y", "w1", "cat")]

    run = MultiLabelConsolidator().aggregate(answers, labels=["cat", "dog"])

    rejected, accepted = run.outcomes
    assert isinstance(rejected, NoConsensus)
    assert rejected.reason == "unknown label 'unicorn'"
    assert rejected.evidence == {"workers": 1, "votes": {"cat": 1, "unicorn": 1}}
    assert isinstance(accepted, Consensus)
    assert accepted.value == ["cat"]


def test_multi_label_unknown_label_can_raise() -> None:
    with pytest.raises(ConsolidationError, match="item-5"):
        MultiLabelConsolidator(on_unknown_label="error").aggregate(
            [_answer("item-5", "w1", "unicorn")], labels=["cat"]
        )


def test_multi_label_duplicate_answer_is_no_consensus_under_the_strict_policy() -> None:
    answers = [_answer("x", "w1", "a"), _answer("x", "w2", "a"), _answer("x", "w1", "b")]

    run = MultiLabelConsolidator(on_duplicate="no_consensus").aggregate(answers)

    outcome = run.outcomes[0]
    assert isinstance(outcome, NoConsensus)
    assert outcome.reason == "worker 'w1' answered more than once"
    assert outcome.evidence["workers"] == 3
    assert [(s.worker_id, s.answers, s.accuracy) for s in run.workers] == [
        ("w1", 0, 0.0),
        ("w2", 0, 0.0),
    ]


def test_multi_label_duplicate_answer_keep_first_policy() -> None:
    answers = [_answer("x", "w1", "a"), _answer("x", "w2", "a"), _answer("x", "w1", "b")]

    outcome = (
        MultiLabelConsolidator(on_duplicate="keep_first", method="majority-vote")
        .aggregate(answers)
        .outcomes[0]
    )

    assert isinstance(outcome, Consensus)
    assert outcome.value == ["a"]
    assert outcome.confidence == 1.0


def test_multi_label_rejected_worker_reports_prior_accuracy() -> None:
    answers = [_answer("x", "w1", "a"), _answer("x", "w1", "a")]

    run = MultiLabelConsolidator(on_duplicate="no_consensus").aggregate(
        answers, prior={"w1": WorkerSkill("w1", 9, 0.85)}
    )

    assert run.workers == [WorkerSkill("w1", 0, 0.85)]


@pytest.mark.parametrize(
    "params",
    [
        {"method": "coin-flip"},
        {"method": "dawid-skene", "method_params": {"max_iter": 0}},
        {"method": "dawid-skene", "method_params": {"no_such_knob": 1}},
        {"tie_policy": "random"},
        {"on_duplicate": "keep_every"},
    ],
)
def test_multi_label_rejects_bad_hyperparameters(params) -> None:
    with pytest.raises(ConsolidationError):
        MultiLabelConsolidator(**params)


def test_multi_label_rejects_duplicate_declared_labels() -> None:
    with pytest.raises(ConsolidationError, match="duplicates"):
        MultiLabelConsolidator().aggregate([_answer("x", "w1")], labels=["a", "a"])


# -- invariants ---------------------------------------------------------------------------------

_answers = st.lists(
    st.tuples(
        st.sampled_from(["i1", "i2", "i3"]),
        st.sampled_from(["w1", "w2", "w3"]),
        st.frozensets(st.sampled_from(["a", "b", "c"])),
    ),
    max_size=9,
    unique_by=lambda row: (row[0], row[1]),
).map(lambda rows: [MultiLabelAnswer(t, w, labels) for t, w, labels in rows])


def _by_task(run: ConsolidationRun) -> dict[str, object]:
    return {o.task_id: (o.value, o.confidence, dict(o.evidence)) for o in run.outcomes}


@settings(max_examples=100, deadline=None)
@given(answers=_answers, data=st.data())
def test_multi_label_majority_vote_ignores_answer_order(answers, data) -> None:
    shuffled = data.draw(st.permutations(answers))
    method = MultiLabelConsolidator(method="majority-vote")

    first, second = method.aggregate(answers), method.aggregate(shuffled)

    assert _by_task(first) == _by_task(second)
    assert {s.worker_id: s for s in first.workers} == {s.worker_id: s for s in second.workers}


@settings(max_examples=50, deadline=None)
@given(answers=_answers, data=st.data())
def test_multi_label_default_method_choices_ignore_answer_order(answers, data) -> None:
    shuffled = data.draw(st.permutations(answers))

    first = MultiLabelConsolidator().aggregate(answers)
    second = MultiLabelConsolidator().aggregate(shuffled)

    first_values = {o.task_id: o.value for o in first.outcomes}
    assert first_values == {o.task_id: o.value for o in second.outcomes}
    for outcome in first.outcomes:
        assert set(outcome.value) <= {label for a in answers for label in a.labels}
        assert 0.5 <= outcome.confidence <= 1.0
