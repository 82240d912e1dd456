"""Merging a job's batch skill documents into the project's prior (pure)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from job_contracts.skills import StoredSkills, add_counts, batch_records, load_skills


def batch(*workers: dict[str, Any]) -> bytes:
    """A batch skill document as the consolidation Lambda writes it."""
    return json.dumps(
        {"project": "pets", "job_name": "x", "method": "dawid-skene", "workers": list(workers)}
    ).encode()


def skill(worker: str, answers: int, accuracy: float, **extra: Any) -> dict[str, Any]:
    return {"worker": worker, "answers": answers, "accuracy": accuracy, **extra}


def test_batch_records_read_the_workers_of_a_batch_document() -> None:
    document = json.loads(batch(skill("w1", 4, 0.75, counts={"a": {"a": 3, "b": 1}})))

    (record,) = batch_records(document)

    assert (record.worker_id, record.answers, record.accuracy) == ("w1", 4, 0.75)
    assert record.counts == {"a": {"a": 3.0, "b": 1.0}}


def test_counts_add_cell_by_cell() -> None:
    total = add_counts({"a": {"a": 3.0, "b": 1.0}}, {"a": {"a": 1.0}, "b": {"b": 2.0}})

    assert total == {"a": {"a": 4.0, "b": 1.0}, "b": {"b": 2.0}}


def test_counts_round_trip_and_negative_counts_are_refused() -> None:
    record = load_skills(json.dumps([skill("w", 2, 1.0, counts={"a": {"a": 2}})])).records
    assert record is not None
    assert record["w"].to_json()["counts"] == {"a": {"a": 2.0}}
    bad = load_skills(json.dumps([skill("w", 2, 1.0, counts={"a": {"a": -1}})]))
    assert bad.records is None
    assert bad.error is not None and "counts must map labels" in bad.error


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
        ("{oops", "skill document ignored: Expecting"),
        ('{"workers": 3}', "expected a 'workers' list"),
        ('[{"accuracy": 0.5}]', "workers[0].worker must be a non-empty string"),
        ('[{"worker": "a", "accuracy": 2}]', "workers[0].accuracy must be a number in [0, 1]"),
        ('[{"worker": "a", "accuracy": 1, "answers": -1}]', "answers must be a non-negative"),
        ('[{"worker": "a", "accuracy": 1, "confusion": {"x": 1}}]', "confusion must map labels"),
    ],
)
def test_load_skills_reports_a_malformed_document_instead_of_raising(text, message):
    prior = load_skills(text)

    assert prior.records is None
    assert prior.error is not None
    assert prior.error.startswith("skill document ignored: ")
    assert message in prior.error
