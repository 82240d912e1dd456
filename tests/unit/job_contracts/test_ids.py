"""Job ids, labeling-job names and the keys of S3 events."""

from __future__ import annotations

import re

import pytest

from gt_contracts import ContractError
from job_contracts.ids import (
    MAX_JOB_NAME,
    check_job_id,
    event_object_key,
    job_id,
    labeling_job_name,
    name_key,
)

NAME_PATTERN = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")


@pytest.mark.parametrize(
    ("project", "job", "index", "expected"),
    [
        ("reviews", "batch-1", 0, "reviews-batch-1-0"),
        ("reviews", "2026-01.batch_1", 3, "reviews-2026-01-batch-1-3"),
        ("reviews", "--x..y__", 1, "reviews-x-y-1"),
        ("reviews", "...", 1, "reviews-1"),
    ],
)
def test_labeling_job_names_fit_the_api_pattern(
    project: str, job: str, index: int, expected: str
) -> None:
    name = labeling_job_name(project, job, index)
    assert name == expected
    assert NAME_PATTERN.fullmatch(name)


def test_long_job_ids_keep_prefix_and_index_and_stay_distinct() -> None:
    first = labeling_job_name("street-objects", "a" * 100 + "1", 12)
    second = labeling_job_name("street-objects", "a" * 100 + "2", 12)
    for name in (first, second):
        assert len(name) == MAX_JOB_NAME
        assert NAME_PATTERN.fullmatch(name)
        assert name.startswith("street-objects-")
        assert name.endswith("-12")
    assert first != second


def test_a_project_without_letters_names_no_job() -> None:
    with pytest.raises(ContractError, match="no letter or digit"):
        labeling_job_name("--", "abc", 0)


def test_job_ids_are_16_hex_characters_and_differ_per_upload() -> None:
    first = job_id("intake", "pets/a.jsonl", "v1", "e1")
    assert re.fullmatch(r"[0-9a-f]{16}", first)
    assert first == job_id("intake", "pets/a.jsonl", "v1", "e1")
    assert len({first, job_id("intake", "pets/a.jsonl", "v2", "e1")}) == 2
    assert len({first, job_id("intake", "pets/a.jsonl", "v1", "e2")}) == 2


@pytest.mark.parametrize("value", ["", "a/b", "-leading", None, 7, "x" * 129])
def test_check_job_id_names_the_field(value: object) -> None:
    with pytest.raises(ContractError, match=r"chunk\.jobId"):
        check_job_id(value, field="chunk.jobId")


def test_name_key_ignores_case_as_ground_truth_does() -> None:
    assert name_key("Pets-ABC-0") == name_key("pets-abc-0") == "pets-abc-0"


@pytest.mark.parametrize(
    ("raw", "existing", "expected"),
    [
        ("pets/a.jsonl", set(), "pets/a.jsonl"),
        ("pets/my+batch.jsonl", {"pets/my batch.jsonl"}, "pets/my batch.jsonl"),
        ("pets/a%2Bb.jsonl", {"pets/a+b.jsonl"}, "pets/a+b.jsonl"),
        ("pets/caf%C3%A9+%C3%A9t%C3%A9.jsonl", {"pets/café été.jsonl"}, "pets/café été.jsonl"),
        # The key really holds a '+': the raw key names the object, not the decoded one.
        ("pets/a+b.jsonl", {"pets/a+b.jsonl"}, "pets/a+b.jsonl"),
        # Neither exists (yet): the decoded key, as S3 encodes keys in notifications.
        ("pets/my+batch.jsonl", set(), "pets/my batch.jsonl"),
    ],
)
def test_event_object_keys_are_decoded_with_a_fallback_to_the_raw_key(
    raw: str, existing: set[str], expected: str
) -> None:
    assert event_object_key(raw, existing.__contains__) == expected
