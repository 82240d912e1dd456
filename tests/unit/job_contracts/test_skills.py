"""Merging a job's batch skill documents into the project's prior (pure)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from job_contracts.skills import StoredSkills, load_skills, merge_prior


def batch(*workers: dict[str, Any]) -> bytes:
    """A batch skill document as the consolidation Lambda writes it."""
    return json.dumps(
        {"project": "pets", "job_name": "x", "method": "dawid-skene", "workers": list(workers)}
    ).encode()


def skill(worker: str, answers: int, accuracy: float, **extra: Any) -> dict[str, Any]:
    return {"worker": worker, "answers": answers, "accuracy": accuracy, **extra}


def test_a_first_merge_creates_a_prior_load_skills_reads() -> None:
    result = merge_prior(None, {"pets-j-0": [batch(skill("w1", 4, 0.75))]}, project="pets")

    assert result.body is not None
    assert result.merged == ("pets-j-0",)
    prior = load_skills(result.body)
    assert prior.error is None
    assert prior.records is not None
    assert prior.records["w1"].answers == 4
    assert prior.records["w1"].accuracy == 0.75
    assert json.loads(result.body)["mergedJobs"] == ["pets-j-0"]


def test_answers_add_up_and_accuracy_is_the_answer_weighted_mean() -> None:
    existing = merge_prior(None, {"pets-a": [batch(skill("w1", 10, 0.9))]}, project="pets").body

    result = merge_prior(
        existing,
        {"pets-b": [batch(skill("w1", 20, 0.6)), batch(skill("w1", 10, 0.3), skill("w2", 5, 1.0))]},
        project="pets",
    )

    assert result.body is not None
    skills = load_skills(result.body).records
    assert skills is not None
    assert skills["w1"].answers == 40
    # (10 * 0.9 + 20 * 0.6 + 10 * 0.3) / 40 = 24 / 40
    assert skills["w1"].accuracy == pytest.approx(0.6)
    assert (skills["w2"].answers, skills["w2"].accuracy) == (5, 1.0)
    assert json.loads(result.body)["mergedJobs"] == ["pets-a", "pets-b"]


def test_confusion_rows_and_metrics_are_answer_weighted() -> None:
    first = skill(
        "w1",
        30,
        0.9,
        confusion={"dog": {"dog": 0.9, "cat": 0.1}},
        metrics={"iou": 0.8},
    )
    second = skill(
        "w1",
        10,
        0.5,
        confusion={"dog": {"dog": 0.5, "cat": 0.5}, "cat": {"cat": 1.0}},
        metrics={"iou": 0.4},
    )

    result = merge_prior(None, {"pets-a": [batch(first), batch(second)]}, project="pets")

    assert result.body is not None
    (worker,) = json.loads(result.body)["workers"]
    assert worker["confusion"]["dog"] == pytest.approx({"dog": 0.8, "cat": 0.2})
    assert worker["confusion"]["cat"] == pytest.approx({"cat": 1.0})
    assert worker["metrics"]["iou"] == pytest.approx(0.7)
    assert worker["accuracy"] == pytest.approx(0.8)


def test_a_job_already_merged_is_not_merged_again() -> None:
    docs = {"pets-a": [batch(skill("w1", 10, 0.9))]}
    once = merge_prior(None, docs, project="pets").body

    again = merge_prior(once, docs, project="pets")

    assert again.body is None
    assert not again.changed
    assert again.already == ("pets-a",)
    assert again.merged == ()


def test_only_the_chunks_not_yet_merged_are_added() -> None:
    once = merge_prior(None, {"pets-a": [batch(skill("w1", 10, 0.9))]}, project="pets").body

    result = merge_prior(
        once,
        {"pets-a": [batch(skill("w1", 10, 0.9))], "pets-b": [batch(skill("w1", 10, 0.5))]},
        project="pets",
    )

    assert (result.merged, result.already) == (("pets-b",), ("pets-a",))
    assert result.body is not None
    skills = load_skills(result.body).records
    assert skills is not None
    assert skills["w1"].answers == 20
    assert skills["w1"].accuracy == pytest.approx(0.7)


def test_workers_with_no_answers_get_the_plain_mean() -> None:
    result = merge_prior(
        None, {"pets-a": [batch(skill("w1", 0, 0.2)), batch(skill("w1", 0, 0.6))]}, project="pets"
    )

    assert result.body is not None
    (worker,) = json.loads(result.body)["workers"]
    assert worker["answers"] == 0
    assert worker["accuracy"] == pytest.approx(0.4)


def test_a_document_that_is_not_a_skill_document_is_skipped_and_counted() -> None:
    result = merge_prior(
        None, {"pets-a": [b"not json", b"[1, 2]", batch(skill("w1", 3, 1.0))]}, project="pets"
    )

    assert result.skipped == 2
    assert result.workers == 1


def test_an_unreadable_prior_is_left_alone() -> None:
    result = merge_prior(b"{broken", {"pets-a": [batch(skill("w1", 3, 1.0))]}, project="pets")

    assert result.body is None
    assert result.error is not None
    assert "prior skill ignored" in result.error


def test_a_prior_written_as_a_bare_list_is_merged_too() -> None:
    existing = json.dumps([skill("w1", 10, 1.0)]).encode()

    result = merge_prior(existing, {"pets-a": [batch(skill("w1", 10, 0.5))]}, project="pets")

    assert result.body is not None
    skills = load_skills(result.body).records
    assert skills is not None
    assert skills["w1"].answers == 20
    assert skills["w1"].accuracy == pytest.approx(0.75)


def test_the_same_evidence_gives_the_same_bytes_whatever_the_order() -> None:
    a = {"pets-a": [batch(skill("w2", 1, 0.5)), batch(skill("w1", 2, 0.5))]}
    b = {"pets-a": [batch(skill("w1", 2, 0.5)), batch(skill("w2", 1, 0.5))]}

    assert merge_prior(None, a, project="pets").body == merge_prior(None, b, project="pets").body


def test_load_skills_reads_worker_skill_documents():
    entry = {
        "worker": "a",
        "answers": 3,
        "accuracy": 0.8,
        "confusion": {"x": {"x": 0.8, "y": 0.2}},
        "metrics": {"f1": 0.5},
    }
    text = json.dumps({"workers": [entry]})

    prior = load_skills(text)

    assert prior.error is None
    assert prior.records is not None
    skill = prior.records["a"]
    assert (skill.answers, skill.accuracy, skill.metrics) == (3, 0.8, {"f1": 0.5})
    assert skill.confusion == {"x": {"x": 0.8, "y": 0.2}}


def test_load_skills_accepts_a_bare_list_and_no_file():
    assert load_skills('[{"worker": "a", "accuracy": 1}]').records is not None
    assert load_skills(None) == StoredSkills()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{oops", "prior skill ignored: Expecting"),
        ('{"workers": 3}', "expected a 'workers' list"),
        ('[{"accuracy": 0.5}]', "workers[0].worker must be a non-empty string"),
        ('[{"worker": "a", "accuracy": 2}]', "workers[0].accuracy must be a number in [0, 1]"),
        ('[{"worker": "a", "accuracy": 1, "answers": -1}]', "answers must be a non-negative"),
        ('[{"worker": "a", "accuracy": 1, "confusion": {"x": 1}}]', "confusion must map labels"),
    ],
)
def test_load_skills_reports_a_malformed_prior_instead_of_raising(text, message):
    prior = load_skills(text)

    assert prior.records is None
    assert prior.error is not None
    assert prior.error.startswith("prior skill ignored: ")
    assert message in prior.error
