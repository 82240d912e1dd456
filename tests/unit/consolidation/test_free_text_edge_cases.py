"""Free-text edge cases: empty input, one worker, ties, repeats and invalid answers."""

from __future__ import annotations

from typing import Any

import pytest

from consolidation._common import Consensus, ConsolidationError, NoConsensus, WorkerSkill
from consolidation.free_text import FreeTextConsolidator, TextAnswer


def test_free_text_empty_input_gives_empty_run() -> None:
    run = FreeTextConsolidator().aggregate([])

    assert list(run.outcomes) == []
    assert list(run.workers) == []


def test_free_text_one_worker_gets_a_skill_without_comparisons() -> None:
    answers = [TextAnswer("a", "w1", "x"), TextAnswer("b", "w1", "y")]

    run = FreeTextConsolidator().aggregate(answers)

    assert [o.value for o in run.outcomes] == ["x", "y"]
    assert run.workers == [WorkerSkill("w1", 2, 0.0, None, {"compared": 0.0})]


@pytest.mark.parametrize("order", [("alphb", "alpha"), ("alpha", "alphb")])
def test_free_text_tie_goes_to_the_smallest_normalised_answer(order: tuple[str, str]) -> None:
    answers = [TextAnswer("q", f"w{i}", text) for i, text in enumerate(order)]

    run = FreeTextConsolidator().aggregate(answers)

    assert run.outcomes[0].value == "alpha"
    assert run.outcomes[0].confidence == 0.8


def test_free_text_tie_does_not_favour_the_tie_winner_in_skill_weights() -> None:
    answers = [TextAnswer("q", "w1", "alpha"), TextAnswer("q", "w2", "alphb")]

    run = FreeTextConsolidator().aggregate(answers)

    assert run.diagnostics["weights"] == {"w1": pytest.approx(0.7), "w2": pytest.approx(0.7)}


def test_free_text_tie_between_spellings_of_one_answer_takes_smallest_original() -> None:
    answers = [TextAnswer("q", "w1", "hello"), TextAnswer("q", "w2", "Hello")]

    run = FreeTextConsolidator().aggregate(answers)

    assert run.outcomes[0].value == "Hello"
    assert run.outcomes[0].confidence == 1.0


def test_free_text_repeated_worker_counts_once_with_the_last_answer() -> None:
    answers = [
        TextAnswer("a", "w1", "x"),
        TextAnswer("a", "w2", "x"),
        TextAnswer("a", "w1", "z"),
        TextAnswer("b", "w1", "y"),
        TextAnswer("b", "w2", "y"),
    ]

    run = FreeTextConsolidator().aggregate(answers)

    first, second = run.outcomes
    assert first.evidence["workers"] == 2
    assert isinstance(second, Consensus)
    assert [s.answers for s in run.workers] == [2, 2]


def test_free_text_only_empty_answers_ignored_is_no_consensus() -> None:
    answers = [TextAnswer("q", "w1", ""), TextAnswer("q", "w2", " \n")]

    run = FreeTextConsolidator(empty_answers="ignore").aggregate(answers)

    outcome = run.outcomes[0]
    assert isinstance(outcome, NoConsensus)
    assert outcome.reason == "all answers are empty"
    assert outcome.evidence == {"workers": 2, "answers": {"w1": "", "w2": ""}, "empty": 2}


def test_free_text_long_answers_are_compared_in_full() -> None:
    base = ("the quick brown fox jumps over the lazy dog " * 45).rstrip()  # ~2,000 characters
    answers = [
        TextAnswer("q", "w1", base),
        TextAnswer("q", "w2", base + "!"),
        TextAnswer("q", "w3", base.replace("fox", "cat", 1)),
    ]

    run = FreeTextConsolidator(weighting="equal").aggregate(answers)

    n = len(base)
    # base: 1 edit from w2 (one insertion), 3 from w3 (three substitutions).
    assert run.outcomes[0].value == base
    assert run.outcomes[0].confidence == round(((1 - 1 / (n + 1)) + (1 - 3 / n)) / 2, 4)


@pytest.mark.parametrize("text", [None, 42, b"bytes"])
def test_free_text_non_text_answer_raises_naming_the_item(text: Any) -> None:
    answers = [TextAnswer("ok", "w1", "x"), TextAnswer("bad", "w2", text)]

    with pytest.raises(ConsolidationError, match="answer must be text") as info:
        FreeTextConsolidator().aggregate(answers)

    assert info.value.task_id == "bad"


@pytest.mark.parametrize(
    "params",
    [
        {"min_agreement": 1.5},
        {"min_agreement": -0.1},
        {"normalisation": "lower"},
        {"empty_answers": "drop"},
        {"weighting": "none"},
        {"prior_strength": -1.0},
        {"initial_skill": -0.5},
    ],
)
def test_free_text_rejects_invalid_hyperparameters(params: dict[str, Any]) -> None:
    with pytest.raises(ConsolidationError):
        FreeTextConsolidator(**params)
