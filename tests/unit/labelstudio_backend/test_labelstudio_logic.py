"""Decisions of the Label Studio backend: no AWS, no Label Studio."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from gt_contracts import ContractError, ProjectConfig, parse_worker_response_file
from labelstudio_backend.logic import (
    EXPIRED_REASON,
    LINE_KEY,
    WaitingJob,
    WebhookCall,
    authenticate,
    build_tasks,
    chunk_source_kind,
    header,
    instructions_html,
    labeling_job_arn,
    output_manifest,
    plan_finish,
    project_title,
    readiness,
    template_key,
    user_id,
    worker_id,
)
from labelstudio_backend.settings import Settings, SettingsError

TONE = ProjectConfig(
    name="reviews",
    task_type="text-classification",
    labels=("positive", "negative"),
    workers_per_item=2,
)
JOB = WaitingJob(
    job_name="reviews-abc-0",
    task_token="token",
    job_id="abc",
    project="reviews",
    label_studio_project=7,
    deadline=1_000,
    manifest_uri="s3://results/jobs/abc/chunks/0.manifest",
    stored_at=0,
)


@pytest.mark.parametrize(
    ("counts", "now", "expected"),
    [
        ([2, 2], 0, "complete"),
        ([2, 3], 5_000, "complete"),
        ([], 0, "complete"),
        ([2, 1], 999, "waiting"),
        ([2, 1], 1_000, "deadline"),
        ([0, 0], 2_000, "deadline"),
    ],
)
def test_readiness(counts, now, expected):
    assert readiness(counts, workers_per_item=2, deadline=1_000, now=now) == expected


@pytest.mark.parametrize(
    ("presented", "status"), [(None, 401), ("", 401), ("wrong", 403), ("s3cret", 200)]
)
def test_authenticate(presented, status):
    assert authenticate(presented, "s3cret") == status


def test_header_lookup_ignores_case():
    assert header({"x-labelflow-secret": "v"}, "X-LabelFlow-Secret") == "v"
    assert header(None, "X-LabelFlow-Secret") is None


def _event(body: Any, *, encode: bool = False) -> dict[str, Any]:
    text = json.dumps(body)
    if encode:
        return {"body": base64.b64encode(text.encode()).decode(), "isBase64Encoded": True}
    return {"body": text, "isBase64Encoded": False}


@pytest.mark.parametrize("encode", [False, True])
def test_webhook_project_comes_from_the_project_object(encode):
    body = {"action": "ANNOTATION_CREATED", "project": {"id": 12}, "annotation": {"project": 3}}

    assert WebhookCall.from_request(_event(body, encode=encode)) == WebhookCall(
        "ANNOTATION_CREATED", 12
    )


def test_bulk_webhook_project_comes_from_its_annotations():
    body = {"action": "ANNOTATIONS_CREATED", "annotation": [{"id": 1, "project": 4}]}

    assert WebhookCall.from_request(_event(body)).project_id == 4


@pytest.mark.parametrize(
    "event",
    [
        {},
        {"body": "not json"},
        _event([1]),
        _event({"project": {"id": 1}}),
        _event({"action": "X"}),
    ],
)
def test_malformed_webhook_bodies_are_refused(event):
    with pytest.raises(ContractError):
        WebhookCall.from_request(event)


def test_chunk_kind_and_template_key():
    text_lines = [{"source": "a"}, {"source": "b"}]
    free = ProjectConfig(name="captions", task_type="free-text")

    assert chunk_source_kind(TONE, text_lines) == "text"
    assert template_key(TONE, "text") == "templates/reviews.labelstudio.xml"
    assert chunk_source_kind(free, [{"source-ref": "s3://b/k.png"}]) == "s3"
    assert template_key(free, "s3") == "templates/captions.image.labelstudio.xml"
    assert template_key(free, "text") == "templates/captions.text.labelstudio.xml"


@pytest.mark.parametrize(
    ("task_type", "lines"),
    [
        ("text-classification", [{"source-ref": "s3://b/k"}]),
        ("free-text", [{"source": "a"}, {"source-ref": "s3://b/k"}]),
        ("text-classification", [{"source": "a", "source-ref": "s3://b/k"}]),
        ("text-classification", []),
    ],
)
def test_chunks_the_project_cannot_label_are_refused(task_type, lines):
    project = ProjectConfig(name="p", task_type=task_type, labels=("a", "b"))
    with pytest.raises(ContractError):
        chunk_source_kind(project, lines)


def test_tasks_keep_the_line_index_and_source():
    lines = [{"source-ref": "s3://b/0.png"}, {"source-ref": "s3://b/1.png", "camera": "x"}]

    tasks = build_tasks(
        lines, "s3", presign=lambda uri: "https://signed/" + uri[5:], skip=frozenset({0})
    )

    assert tasks == [
        {"data": {"image": "https://signed/b/1.png", LINE_KEY: 1, "source-ref": "s3://b/1.png"}}
    ]


def test_instructions_are_escaped_paragraphs_and_titles_fit_label_studio():
    project = ProjectConfig(
        name="p", task_type="free-text", short_instruction="<b>x</b>", full_instruction="a\n\nb"
    )

    assert instructions_html(project) == "<p>&lt;b&gt;x&lt;/b&gt;</p><p>a</p><p>b</p>"
    assert len(project_title("p" * 63)) == 50


def test_labeling_job_arn_uses_the_functions_partition_region_and_account():
    arn = labeling_job_arn("arn:aws:lambda:eu-west-1:111122223333:function:f", "reviews-1-0")

    assert arn == "arn:aws:sagemaker:eu-west-1:111122223333:labeling-job/reviews-1-0"


def _annotation(worker: int, label: str, **extra: Any) -> dict[str, Any]:
    return {
        "completed_by": worker,
        "result": [
            {
                "from_name": "answer",
                "to_name": "text",
                "type": "choices",
                "value": {"choices": [label]},
            }
        ],
        "was_cancelled": False,
        "created_at": "2026-11-28T09:00:00.000000Z",
        "updated_at": "2026-11-28T09:00:10.250000Z",
        "lead_time": 10.25,
        **extra,
    }


LINES = [{"source": "good"}, {"source": "bad", "id": "r-2"}, {"source": "gone"}, {"source": "?"}]
EXPORT = [
    {
        "id": 100,
        "data": {"text": "good", LINE_KEY: 0},
        "annotations": [_annotation(1, "positive"), _annotation(2, "positive")],
    },
    {
        "id": 101,
        "data": {"text": "bad", LINE_KEY: 1},
        "annotations": [
            _annotation(1, "negative"),
            _annotation(3, "x", was_cancelled=True),
            {**_annotation(2, "negative"), "result": []},
        ],
    },
    {"id": 103, "data": {"text": "?", LINE_KEY: 3}, "annotations": []},
]


def test_plan_writes_ground_truth_worker_responses_and_payload():
    plan = plan_finish(JOB, TONE, LINES, EXPORT, issuer="https://ls.example")

    # Worker responses in Ground Truth's layout and shape
    assert plan.response_keys["0"] == (
        "jobs/abc/gt/reviews-abc-0/annotations/worker-response/iteration-1/0/"
        "2026-11-28_09:00:10.json"
    )
    (first, _second) = parse_worker_response_file(json.dumps(plan.responses["0"]))
    assert first.worker_id == "labelstudio.1"
    assert first.answer_content == {"answer": {"label": "positive"}}
    assert first.time_spent_seconds == 10.25
    assert first.submission_time == datetime(2026, 11, 28, 9, 0, 10, 250000, tzinfo=UTC)
    assert first.acceptance_time == datetime(2026, 11, 28, 9, 0, 0, tzinfo=UTC)
    assert first.identity is not None
    assert (first.identity.issuer, first.identity.sub) == ("https://ls.example", "1")
    # The skipped answer is not an answer; the empty one is an unconvertible {}
    answers = plan.responses["1"]["answers"]
    assert [a["answerContent"] for a in answers] == [{"answer": {"label": "negative"}}, {}]
    assert (plan.skipped, plan.unconvertible) == (1, 1)
    # The consolidation request, as Ground Truth writes it
    assert [entry["datasetObjectId"] for entry in plan.payload] == ["0", "1"]
    assert plan.payload[1]["dataObject"] == {"content": "bad"}
    assert json.loads(plan.payload[0]["annotations"][0]["annotationData"]["content"]) == {
        "answer": {"label": "positive"}
    }
    assert plan.request_key.endswith(
        "/annotations/consolidated-annotation/consolidation-request/iteration-1/"
        "2026-11-28_09:00:10.json"
    )
    # Nobody answered line 3; line 2's task was deleted
    assert (plan.expired, plan.deleted) == (("3",), ("2",))


def test_output_manifest_and_counters_follow_ground_truth():
    plan = plan_finish(JOB, TONE, LINES, EXPORT, issuer="https://ls.example")
    consolidated = [
        {
            "datasetObjectId": "0",
            "consolidatedAnnotation": {"content": {"reviews": {"class-name": "positive"}}},
        },
        {"datasetObjectId": "1", "consolidatedAnnotation": {"content": {"other": 1}}},
    ]

    body, counters = output_manifest(
        LINES,
        plan,
        consolidated,
        attribute="reviews",
        job_name=JOB.job_name,
        created=datetime(2026, 11, 28, tzinfo=UTC),
    )

    rows = [json.loads(line) for line in body.decode().splitlines()]
    assert rows[0]["reviews"] == {"class-name": "positive"}
    assert rows[0]["reviews-metadata"] == {
        "type": "groundtruth/custom",
        "job-name": "labeling-job/reviews-abc-0",
        "human-annotated": "yes",
        "creation-date": "2026-11-28T00:00:00",
    }
    assert rows[1]["id"] == "r-2"
    assert "reviews" not in rows[1]
    assert rows[1]["reviews-metadata"]["failure-reason"].startswith("ClientError")
    assert rows[2] == {"source": "gone"}
    assert rows[3]["reviews-metadata"]["failure-reason"] == EXPIRED_REASON
    assert counters == {
        "TotalLabeled": 1,
        "HumanLabeled": 1,
        "MachineLabeled": 0,
        "FailedNonRetryableError": 2,
        "Unlabeled": 1,
    }


def test_an_exported_task_without_a_line_index_is_refused():
    with pytest.raises(ContractError, match=LINE_KEY):
        plan_finish(JOB, TONE, LINES, [{"id": 9, "data": {"text": "x"}}], issuer="x")


def test_waiting_job_needs_the_label_studio_backend():
    with pytest.raises(ContractError, match="not a label-studio job"):
        WaitingJob.from_item(
            {"jobName": {"S": "j"}, "taskToken": {"S": "t"}, "storedAt": {"N": "1"}}
        )


ENV = {
    "LABELFLOW_PROJECTS": json.dumps({"reviews": {"task_type": "free-text"}}),
    "RESULTS_BUCKET": "results",
    "ARTIFACTS_BUCKET": "artifacts",
    "TOKENS_TABLE": "tokens",
    "SKILLS_TABLE": "skills",
    "LABEL_STUDIO_URL": "https://labels.example.org",
    "LABEL_STUDIO_TOKEN_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:1:secret:ls",
    "WEBHOOK_URL": "https://hook.example.org/",
    "WEBHOOK_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:1:secret:hook",
}


def test_settings_from_env():
    settings = Settings.from_env(ENV)

    assert settings.label_studio_url == "https://labels.example.org"
    assert settings.image_url_seconds == 3600
    assert Settings.from_env({**ENV, "IMAGE_URL_SECONDS": "600"}).image_url_seconds == 600


def test_only_the_start_function_needs_the_webhook_url():
    assert Settings.from_env({**ENV, "WEBHOOK_URL": ""}).webhook_url == ""


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("WEBHOOK_URL", "hooks.example.org"),
        ("LABEL_STUDIO_URL", "labels.example.org"),
        ("WEBHOOK_SECRET_ARN", "hook"),
        ("RESULTS_BUCKET", "s3://results"),
        ("IMAGE_URL_SECONDS", "10"),
        ("IMAGE_URL_SECONDS", "soon"),
    ],
)
def test_settings_name_the_invalid_variable(name, value):
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({**ENV, name: value})


def test_a_label_studio_user_is_a_worker_id_and_back() -> None:
    assert worker_id(7) == "labelstudio.7"
    assert user_id(worker_id(7)) == 7


@pytest.mark.parametrize("worker", ["private.us-east-1.abc", "labelstudio.", "labelstudio.x1"])
def test_other_worker_ids_are_no_label_studio_user(worker: str) -> None:
    assert user_id(worker) is None
