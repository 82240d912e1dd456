"""Free text: normalisation, edit distance and the closest-to-consensus answer."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consolidation._common import Consensus, NoConsensus, WorkerSkill
from consolidation.free_text import (
    FreeTextConsolidator,
    TextAnswer,
    levenshtein,
    normalise_text,
    similarity,
)


def _answers(task: str, *texts: str) -> list[TextAnswer]:
    return [TextAnswer(task, f"w{i + 1}", text) for i, text in enumerate(texts)]


def _reference_levenshtein(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  Main   St. ", "main st."),
        ("Line one\nline\ttwo", "line one line two"),
        ("\uff2d\uff41\uff49\uff4e", "main"),  # full-width letters (NFKC)
        ("Stra\u00dfe", "strasse"),  # case folding, not just lower()
        ("caf\u0065\u0301", "caf\u00e9"),  # combining accent composed (NFKC)
        ("\u00a0 \u2003", ""),  # whitespace-only text is empty
    ],
)
def test_normalise_text_casefold_whitespace(text: str, expected: str) -> None:
    assert normalise_text(text) == expected


@pytest.mark.parametrize(("text", "expected"), [(" Main  St. ", " Main  St. "), ("  \t", "")])
def test_normalise_text_exact_keeps_text_but_empties_whitespace(text: str, expected: str) -> None:
    assert normalise_text(text, "exact") == expected


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [
        ("kitten", "sitting", 3),
        ("flaw", "lawn", 2),
        ("", "abc", 3),
        ("abc", "", 3),
        ("same", "same", 0),
        ("caf\u00e9", "cafe", 1),
        ("a" * 100, "a" * 99 + "b", 1),
        ("ab" * 50, "ba" * 50, 2),
        ("x" * 70 + "middle" + "y" * 70, "x" * 70 + "muddle" + "y" * 70, 1),
    ],
)
def test_levenshtein_known_distances(a: str, b: str, distance: int) -> None:
    assert levenshtein(a, b) == distance


@settings(max_examples=300, deadline=None)
@given(a=st.text(alphabet="abcé ", max_size=80), b=st.text(alphabet="abcé ", max_size=80))
def test_levenshtein_matches_dynamic_programming(a: str, b: str) -> None:
    assert levenshtein(a, b) == _reference_levenshtein(a, b)
    assert levenshtein(b, a) == levenshtein(a, b)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [("abcd", "abcf", 0.75), ("", "", 1.0), ("", "a", 0.0), ("main st.", "main street", 7 / 11)],
)
def test_similarity_is_one_minus_normalised_distance(a: str, b: str, expected: float) -> None:
    assert similarity(a, b) == pytest.approx(expected)


MAIN_STREET = _answers("q", "Main St.", "main st.", "Main Street")


def test_free_text_picks_the_answer_closest_to_the_others() -> None:
    run = FreeTextConsolidator(weighting="equal").aggregate(MAIN_STREET)

    outcome = run.outcomes[0]
    assert isinstance(outcome, Consensus)
    # "main st." twice: (1 + 7/11) / 2; "Main St." beats "main st." on original text order.
    assert outcome.value == "Main St."
    assert outcome.confidence == round(9 / 11, 4)


def test_free_text_evidence_holds_normalised_answers() -> None:
    run = FreeTextConsolidator().aggregate(MAIN_STREET)

    assert run.outcomes[0].evidence == {
        "workers": 3,
        "answers": {"w1": "main st.", "w2": "main st.", "w3": "main street"},
        "empty": 0,
    }


def test_free_text_worker_skill_is_mean_similarity_to_consensus() -> None:
    run = FreeTextConsolidator(weighting="equal").aggregate(MAIN_STREET)

    assert run.workers[0] == WorkerSkill(
        "w1", 1, 1.0, None, {"compared": 1.0, "mean_similarity": 1.0}
    )
    assert run.workers[2].accuracy == pytest.approx(7 / 11)
    assert run.workers[2].metrics["mean_similarity"] == pytest.approx(7 / 11)


def test_free_text_skill_weighting_keeps_a_clear_majority() -> None:
    run = FreeTextConsolidator().aggregate(MAIN_STREET)

    w_agree, w_apart = (1 + 1.4) / 3, (7 / 11 + 1.4) / 3  # smoothed by 2 items at 0.7
    assert run.outcomes[0].value == "Main St."
    assert run.outcomes[0].confidence == round(
        (w_agree + w_apart * 7 / 11) / (w_agree + w_apart), 4
    )


def test_free_text_prior_decides_between_two_camps() -> None:
    answers = _answers("q", "red car", "red car", "blue bus", "blue bus")
    prior = {
        "w1": WorkerSkill("w1", 40, 0.9),
        "w2": WorkerSkill("w2", 40, 0.9),
        "w3": WorkerSkill("w3", 40, 0.1),
        "w4": WorkerSkill("w4", 40, 0.1),
    }
    consolidator = FreeTextConsolidator(
        min_agreement=0.0, prior_strength=100.0, skill_smoothing=0.0
    )

    without = consolidator.aggregate(answers)
    run = consolidator.aggregate(answers, prior=prior)

    # Without a prior the camps tie and the smaller text wins; the tie teaches no skill.
    assert without.outcomes[0].value == "blue bus"
    s = similarity("red car", "blue bus")
    assert run.outcomes[0].value == "red car"
    assert run.outcomes[0].confidence == round((0.9 + 0.1 * s + 0.1 * s) / 1.1, 4)


def test_free_text_disagreement_is_no_consensus_with_normalised_answers() -> None:
    run = FreeTextConsolidator().aggregate(_answers("q", "Cat", "dog"))

    outcome = run.outcomes[0]
    assert isinstance(outcome, NoConsensus)
    assert outcome.reason == "answers disagree (best agreement 0.00 < min_agreement 0.50)"
    assert outcome.evidence == {"workers": 2, "answers": {"w1": "cat", "w2": "dog"}, "empty": 0}
    assert [s.metrics["compared"] for s in run.workers] == [0.0, 0.0]


def test_free_text_min_agreement_is_inclusive() -> None:
    run = FreeTextConsolidator(min_agreement=0.75).aggregate(_answers("q", "abcd", "abcf"))

    assert isinstance(run.outcomes[0], Consensus)
    assert run.outcomes[0].confidence == 0.75


def test_free_text_single_answer_has_zero_confidence() -> None:
    run = FreeTextConsolidator().aggregate(_answers("q", "  Hello "))

    outcome = run.outcomes[0]
    assert isinstance(outcome, Consensus)
    assert outcome.value == "  Hello "
    assert outcome.confidence == 0.0
    assert outcome.evidence == {
        "workers": 1,
        "answers": {"w1": "hello"},
        "empty": 0,
        "single_answer": True,
    }


def test_free_text_single_answer_takes_prior_accuracy_as_confidence() -> None:
    run = FreeTextConsolidator().aggregate(
        _answers("q", "Hello"), prior={"w1": WorkerSkill("w1", 12, 0.9)}
    )

    assert run.outcomes[0].confidence == 0.9


def test_free_text_empty_answers_vote_for_nothing() -> None:
    run = FreeTextConsolidator(weighting="equal").aggregate(_answers("q", "", "   ", "x"))

    outcome = run.outcomes[0]
    assert isinstance(outcome, Consensus)
    assert outcome.value == ""
    assert outcome.confidence == 0.5
    assert outcome.evidence == {
        "workers": 3,
        "answers": {"w1": "", "w2": "", "w3": "x"},
        "empty": 2,
    }


def test_free_text_ignored_empty_answers_leave_a_single_answer() -> None:
    run = FreeTextConsolidator(empty_answers="ignore").aggregate(_answers("q", "", "   ", "x"))

    outcome = run.outcomes[0]
    assert isinstance(outcome, Consensus)
    assert outcome.value == "x"
    assert outcome.confidence == 0.0
    assert outcome.evidence["empty"] == 2
    assert outcome.evidence["single_answer"] is True
    assert [s.answers for s in run.workers] == [0, 0, 1]


@pytest.mark.parametrize(
    ("normalisation", "value", "confidence"),
    [("casefold-whitespace", "Cat", 1.0), ("exact", "Cat", round((1 + 2 / 3) / 2, 4))],
)
def test_free_text_normalisation_decides_what_counts_as_equal(
    normalisation: str, value: str, confidence: float
) -> None:
    consolidator = FreeTextConsolidator(normalisation=normalisation, weighting="equal")  # type: ignore[arg-type]

    run = consolidator.aggregate(_answers("q", "Cat", "cat", "Cat"))

    assert run.outcomes[0].value == value
    assert run.outcomes[0].confidence == confidence


def test_free_text_outcomes_follow_first_appearance() -> None:
    answers = [TextAnswer("b", "w1", "x"), TextAnswer("a", "w1", "y"), TextAnswer("b", "w2", "x")]

    run = FreeTextConsolidator().aggregate(answers)

    assert [o.task_id for o in run.outcomes] == ["b", "a"]
    assert run.method == "closest-text"


@settings(max_examples=60, deadline=None)
@given(
    texts=st.lists(st.text(alphabet="ab c", max_size=6), min_size=2, max_size=5),
    data=st.data(),
)
def test_free_text_worker_order_does_not_matter(texts: list[str], data: st.DataObject) -> None:
    answers = _answers("q", *texts)
    shuffled = data.draw(st.permutations(answers))

    first = FreeTextConsolidator().aggregate(answers).outcomes[0]
    second = FreeTextConsolidator().aggregate(shuffled).outcomes[0]

    assert first.value == second.value
    assert first.confidence == pytest.approx(second.confidence, abs=1e-4)
    if isinstance(first, Consensus):
        assert first.value in texts or first.value == ""
