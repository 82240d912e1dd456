"""Numbers and ratings: weighted estimators, tolerance-based confidence and worker skill."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consolidation._common import Consensus, WorkerSkill
from consolidation.numeric import NumericAnswer, NumericConsolidator, weighted_estimate


def _answers(task: str, *values: float) -> list[NumericAnswer]:
    return [NumericAnswer(task, f"w{i + 1}", v) for i, v in enumerate(values)]


def _consensus(outcome: object) -> Consensus:
    assert isinstance(outcome, Consensus)
    return outcome


@pytest.mark.parametrize(
    ("values", "weights", "estimator", "expected"),
    [
        ([1, 2, 3, 10], [1, 1, 1, 1], "median", 2.5),
        ([5, 1, 3], [1, 1, 1], "median", 3.0),
        ([1, 2, 10], [1, 1, 3], "median", 10.0),
        ([1, 2, 3], [2, 1, 1], "median", 1.5),  # cumulative weight lands exactly on half
        ([1, 2, 6], [1, 1, 1], "mean", 3.0),
        ([1, 3], [3, 1], "mean", 1.5),
        ([1, 2, 3, 4, 100], [1, 1, 1, 1, 1], "trimmed-mean", 3.0),
        ([1, 2, 3], [1, 1, 1], "trimmed-mean", 2.0),  # ends keep 0.4 of their weight
        ([1, 2, 9], [1, 1, 1], "trimmed-mean", (0.4 * 1 + 2 + 0.4 * 9) / 1.8),
    ],
)
def test_weighted_estimate_definitions(
    values: list[float], weights: list[float], estimator: str, expected: float
) -> None:
    assert weighted_estimate(values, weights, estimator) == pytest.approx(expected)  # type: ignore[arg-type]


def test_numeric_median_of_ratings_stays_an_integer() -> None:
    run = NumericConsolidator().aggregate(_answers("q", 4, 4, 2))

    outcome = _consensus(run.outcomes[0])
    assert outcome.value == 4
    assert isinstance(outcome.value, int)
    assert outcome.evidence == {
        "workers": 3,
        "values": {"w1": 4, "w2": 4, "w3": 2},
        "spread": 2,
        "tolerance": 0.2,
    }


def test_numeric_confidence_is_share_of_answers_within_tolerance() -> None:
    run = NumericConsolidator(weighting="equal").aggregate(_answers("q", 4, 4, 2))

    assert run.outcomes[0].confidence == round(2 / 3, 4)


def test_numeric_confidence_weighs_answers_by_skill() -> None:
    run = NumericConsolidator().aggregate(_answers("q", 4, 4, 2))

    agree, apart = (1 + 1.4) / 3, (0 + 1.4) / 3  # one item plus 2 pseudo-items at 0.7
    assert run.outcomes[0].confidence == round(2 * agree / (2 * agree + apart), 4)


def test_numeric_worker_skill_and_mean_absolute_error() -> None:
    run = NumericConsolidator().aggregate(_answers("q", 4, 4, 2) + _answers("r", 10, 10, 13))

    assert run.workers[0] == WorkerSkill(
        "w1", 2, 1.0, None, {"compared": 2.0, "mean_absolute_error": 0.0}
    )
    assert run.workers[2] == WorkerSkill(
        "w3", 2, 0.0, None, {"compared": 2.0, "mean_absolute_error": 2.5}
    )


def test_numeric_mean_estimator_returns_an_integer_for_whole_means() -> None:
    run = NumericConsolidator(estimator="mean", weighting="equal").aggregate(_answers("q", 1, 2, 6))

    assert run.outcomes[0].value == 3
    assert isinstance(run.outcomes[0].value, int)
    assert run.method == "numeric-mean"


def test_numeric_trimmed_mean_drops_the_outlier() -> None:
    run = NumericConsolidator(estimator="trimmed-mean", weighting="equal").aggregate(
        _answers("q", 1, 2, 3, 4, 100)
    )

    assert run.outcomes[0].value == 3


def test_numeric_even_count_median_is_a_float_between_the_middle_answers() -> None:
    run = NumericConsolidator(tolerance=1.0, weighting="equal").aggregate(_answers("q", 1, 3, 4, 5))

    outcome = _consensus(run.outcomes[0])
    assert outcome.value == 3.5
    assert isinstance(outcome.value, float)
    # Within 1 of 3.5: the answers 3 and 4.
    assert outcome.confidence == 0.5


def test_numeric_default_tolerance_is_five_percent_of_the_consensus() -> None:
    run = NumericConsolidator(weighting="equal").aggregate(_answers("q", 100, 104, 106, 110))

    outcome = _consensus(run.outcomes[0])
    assert outcome.value == 105
    assert outcome.evidence["tolerance"] == pytest.approx(5.25)
    # 100, 104, 106 and 110 are all within 5.25 of 105.
    assert outcome.confidence == 1.0


def test_numeric_float_answers_stay_floats() -> None:
    run = NumericConsolidator().aggregate(_answers("q", 2.0, 2.0, 2.5))

    assert run.outcomes[0].value == 2.0
    assert isinstance(run.outcomes[0].value, float)


def test_numeric_prior_pulls_the_mean_towards_reliable_workers() -> None:
    prior = {
        "w1": WorkerSkill("w1", 30, 1.0),
        "w2": WorkerSkill("w2", 30, 1.0),
        "w3": WorkerSkill("w3", 30, 0.0),
    }
    consolidator = NumericConsolidator(
        estimator="mean", tolerance=5.0, prior_strength=1e6, skill_smoothing=0.0
    )

    run = consolidator.aggregate(_answers("q", 10, 12, 40), prior=prior)

    # Weights are the prior accuracies (w3 floored at 0.01).
    assert run.outcomes[0].value == pytest.approx((10 + 12 + 0.01 * 40) / 2.01, rel=1e-4)
    assert run.outcomes[0].confidence == round(2 / 2.01, 4)


def test_numeric_single_answer_has_zero_confidence() -> None:
    run = NumericConsolidator().aggregate(_answers("q", 7.5))

    outcome = _consensus(run.outcomes[0])
    assert outcome.value == 7.5
    assert outcome.confidence == 0.0
    assert outcome.evidence == {
        "workers": 1,
        "values": {"w1": 7.5},
        "spread": 0.0,
        "single_answer": True,
        "tolerance": 0.375,
    }


def test_numeric_single_answer_takes_prior_accuracy_as_confidence() -> None:
    run = NumericConsolidator().aggregate(
        _answers("q", 3), prior={"w1": WorkerSkill("w1", 8, 0.75)}
    )

    assert run.outcomes[0].confidence == 0.75


def test_numeric_outcomes_follow_first_appearance() -> None:
    answers = [
        NumericAnswer("b", "w1", 1),
        NumericAnswer("a", "w1", 2),
        NumericAnswer("b", "w2", 1),
    ]

    run = NumericConsolidator().aggregate(answers)

    assert [o.task_id for o in run.outcomes] == ["b", "a"]


_VALUES = st.lists(st.integers(-50, 50), min_size=1, max_size=6)


@settings(max_examples=80, deadline=None)
@given(values=_VALUES, data=st.data())
def test_numeric_worker_order_does_not_matter(values: list[int], data: st.DataObject) -> None:
    answers = _answers("q", *values)
    shuffled = data.draw(st.permutations(answers))

    first = _consensus(NumericConsolidator().aggregate(answers).outcomes[0])
    second = _consensus(NumericConsolidator().aggregate(shuffled).outcomes[0])

    assert first.value == second.value
    assert first.confidence == pytest.approx(second.confidence, abs=1e-4)


@settings(max_examples=80, deadline=None)
@given(
    values=_VALUES,
    estimator=st.sampled_from(["median", "mean", "trimmed-mean"]),
)
def test_numeric_estimate_lies_within_the_answers(values: list[int], estimator: str) -> None:
    run = NumericConsolidator(estimator=estimator).aggregate(_answers("q", *values))  # type: ignore[arg-type]

    outcome = _consensus(run.outcomes[0])
    assert min(values) - 1e-9 <= outcome.value <= max(values) + 1e-9
    assert 0.0 <= outcome.confidence <= 1.0
