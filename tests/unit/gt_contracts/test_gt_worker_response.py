from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from gt_contracts import (
    ContractError,
    WorkerIdentity,
    boxes_from_content,
    dataset_object_id_from_key,
    parse_worker_response_file,
)


def test_parse_worker_response_file_reads_the_sample_file(load_event):
    (response,) = parse_worker_response_file(load_event("worker-response.bbox.object0.json"))

    assert response.worker_id == "private.us-east-1.8f3a2c1d9e7b6a54"
    assert response.acceptance_time == datetime(2024, 5, 3, 13, 58, 2, 114000, tzinfo=UTC)
    assert response.submission_time == datetime(2024, 5, 3, 13, 58, 41, 903000, tzinfo=UTC)
    assert response.time_spent_seconds == pytest.approx(39.789)
    assert response.identity == WorkerIdentity(
        "Cognito",
        "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbCdEf123",
        "3f1c2a9e-6b7d-4e21-9a55-0c8d7e6f1a2b",
    )
    assert len(boxes_from_content(response.answer_content).boxes) == 2


def test_parse_worker_response_file_keeps_optional_fields_empty():
    doc = {"answers": [{"workerId": "w1", "answerContent": {"q": {"label": "a"}}}]}

    (response,) = parse_worker_response_file(json.dumps(doc))

    assert response.answer_content == {"q": {"label": "a"}}
    assert response.acceptance_time is None
    assert response.time_spent_seconds is None
    assert response.identity is None


def test_parse_worker_response_file_decodes_string_answer_content():
    doc = {"answers": [{"workerId": "w1", "answerContent": '{"q": {"label": "a"}}'}]}

    assert parse_worker_response_file(doc)[0].answer_content == {"q": {"label": "a"}}


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({}, "'answers' must be a list"),
        ({"answers": [{"answerContent": {}}]}, r"answers\[0\]\.workerId is missing"),
        ({"answers": [{"workerId": "w"}]}, r"answers\[0\]\.answerContent is missing"),
        (
            {"answers": [{"workerId": "w", "answerContent": "[1]"}]},
            "answerContent: content is a JSON array",
        ),
        (
            {"answers": [{"workerId": "w", "answerContent": {}, "submissionTime": "yesterday"}]},
            "submissionTime is not an ISO-8601 time",
        ),
        (
            {"answers": [{"workerId": "w", "answerContent": {}, "timeSpentInSeconds": "5"}]},
            "timeSpentInSeconds must be a number",
        ),
    ],
)
def test_parse_worker_response_file_names_the_broken_field(doc, message):
    with pytest.raises(ContractError, match=message):
        parse_worker_response_file(doc)


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("out/job/annotations/worker-response/iteration-1/7/2024-05-03_13:58:41.json", "7"),
        ("annotations/worker-response/iteration-12/0/x.json", "0"),
        ("C:\\data\\job\\annotations\\worker-response\\iteration-1\\3\\a.json", "3"),
        ("out/job/annotations/consolidated-annotation/output/0_x.png", None),
    ],
)
def test_dataset_object_id_from_key_reads_the_documented_layout(key, expected):
    assert dataset_object_id_from_key(key) == expected
