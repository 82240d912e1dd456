"""The Label Studio backend end to end: a real local Label Studio, moto for AWS.

Jobs are started by the start handler, answered by annotator accounts through Label Studio's
task stream, and finished by the webhook handler called with the very calls Label Studio made
(caught by a local receiver and turned into function-URL events) or by the sweep. Step
Functions is :class:`Tokens`, which accepts each open task token once.
"""

from __future__ import annotations

import http.server
import json
import os
import threading
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

import handler_support
from gt_contracts import ContractError, parse_worker_response_file
from infra.config import ProjectConfig, projects_setting
from job_contracts.skill_store import table_definition
from label_studio_api import LabelStudioClient, LabelStudioError, LabelStudioUnavailable
from labelflow.local.label_studio import Account, LocalLabelStudio
from labelstudio_backend import aws, finish, start, sweep, webhook
from labelstudio_backend.settings import get_settings
from tests.handlers.fakes import fake_clients
from worker_ui import label_studio_config

REGION = "us-east-1"
ACCOUNT = "123456789012"
RESULTS = "results"
ARTIFACTS = "artifacts"
TABLE = "tokens"
SKILLS_TABLE = "skills"
WEBHOOK_SECRET = "hook-" + uuid.uuid4().hex
PROJECT = ProjectConfig(
    name="reviews",
    task_type="text-classification",
    labels=("positive", "negative", "neutral"),
    short_instruction="Choose the tone of the review.",
    full_instruction="Read the whole review.\nPick the tone the writer expresses.",
    workers_per_item=3,
)
BOXES = ProjectConfig(
    name="pets",
    task_type="bounding-box",
    labels=("dog", "cat"),
    short_instruction="Box every pet.",
    full_instruction="Draw one tight box around each dog and cat.",
    workers_per_item=2,
)
TEXTS = ["Great value, would buy again", "Broke in a day"]
# Majority vote: a worker's accuracy is their agreement with the majority.
WATCHED = {
    removal: ProjectConfig(
        name=f"watched-{removal}",
        task_type="text-classification",
        labels=("positive", "negative"),
        method="majority-vote",
        short_instruction="Choose the tone of the review.",
        full_instruction="Pick the tone the writer expresses.",
        workers_per_item=3,
        backend="labelstudio",
        worker_alert={"min_accuracy": 0.6, "min_answers": 5, "removal": removal},
    )
    for removal in ("organization", "project")
}
PROJECTS = (PROJECT, BOXES, *WATCHED.values())


@dataclass
class Context:
    remaining_ms: int = 300_000
    function_name: str = "labelstudio"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:labelstudio"
    aws_request_id: str = "request-1"

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


class Tokens:
    """Step Functions' task-token calls: each open token resumes its step once."""

    def __init__(self) -> None:
        self.open: set[str] = set()
        self.sent: list[dict[str, Any]] = []

    def send_task_success(self, **kwargs: Any) -> None:
        if kwargs["taskToken"] not in self.open:
            raise ClientError({"Error": {"Code": "TaskTimedOut"}}, "SendTaskSuccess")
        self.open.remove(kwargs["taskToken"])
        self.sent.append(kwargs)

    def send_task_failure(self, **kwargs: Any) -> None:  # pragma: no cover - never expected
        raise AssertionError(f"unexpected SendTaskFailure {kwargs}")


@dataclass
class Receiver:
    """Label Studio's webhook calls to the local receiver: path, headers and body."""

    url: str
    calls: list[dict[str, Any]] = field(default_factory=list)

    def events(self, action: str = "ANNOTATION_CREATED") -> list[dict[str, Any]]:
        """The calls of ``action`` as function-URL events (lower-cased headers, raw body)."""
        out = []
        for call in self.calls:
            if json.loads(call["body"]).get("action") != action:
                continue
            query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(call["path"]).query))
            out.append(
                {
                    "version": "2.0",
                    "rawPath": urllib.parse.urlsplit(call["path"]).path,
                    "headers": {k.lower(): v for k, v in call["headers"].items()},
                    "queryStringParameters": query,
                    "body": call["body"],
                    "isBase64Encoded": False,
                }
            )
        return out


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    box = Receiver(url="")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            box.calls.append(
                {
                    "path": self.path,
                    "headers": dict(self.headers.items()),
                    "body": self.rfile.read(length).decode(),
                }
            )
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    box.url = f"http://127.0.0.1:{server.server_address[1]}/labelflow/webhook"
    try:
        yield box
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def aws_env(
    monkeypatch: pytest.MonkeyPatch, label_studio: LocalLabelStudio, receiver: Receiver
) -> Iterator[Tokens]:
    tokens = Tokens()
    with mock_aws():
        _clear()
        s3 = boto3.client("s3", region_name=REGION)
        for bucket in (RESULTS, ARTIFACTS):
            s3.create_bucket(Bucket=bucket)
        for project in PROJECTS:
            s3.put_object(
                Bucket=ARTIFACTS,
                Key=f"templates/{project.name}.labelstudio.xml",
                Body=label_studio_config(project).encode(),
            )
        boto3.client("dynamodb", region_name=REGION).create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "jobName", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "jobName", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        boto3.client("dynamodb", region_name=REGION).create_table(**table_definition(SKILLS_TABLE))
        secrets = boto3.client("secretsmanager", region_name=REGION)
        assert label_studio.admin is not None
        ls_arn = secrets.create_secret(
            Name="ls-token", SecretString=json.dumps({"token": label_studio.admin.token})
        )["ARN"]
        hook_arn = secrets.create_secret(Name="hook", SecretString=WEBHOOK_SECRET)["ARN"]
        for name, value in {
            "LABELFLOW_PROJECTS": projects_setting(
                PROJECTS,
                f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:workteam/private-crowd/team",
            ),
            "RESULTS_BUCKET": RESULTS,
            "ARTIFACTS_BUCKET": ARTIFACTS,
            "TOKENS_TABLE": TABLE,
            "SKILLS_TABLE": SKILLS_TABLE,
            "LABEL_STUDIO_URL": label_studio.url,
            "LABEL_STUDIO_TOKEN_SECRET_ARN": ls_arn,
            "WEBHOOK_URL": receiver.url,
            "WEBHOOK_SECRET_ARN": hook_arn,
        }.items():
            monkeypatch.setenv(name, value)
        fake_clients(monkeypatch, finish, stepfunctions=tokens)
        try:
            yield tokens
        finally:
            _clear()


def _clear() -> None:
    get_settings.cache_clear()
    aws.forget_secrets()
    handler_support.reset_clients()


def start_job(
    tokens: Tokens,
    texts: list[str] = TEXTS,
    *,
    token: str | None = None,
    job_id: str | None = None,
    project: str = "reviews",
) -> tuple[str, dict[str, Any]]:
    """Upload a chunk and run the start handler; return the job id and the handler's result."""
    job_id = job_id or uuid.uuid4().hex[:16]
    key = f"jobs/{job_id}/chunks/0.manifest"
    body = "".join(
        json.dumps({"source": text, "review-id": f"r{n}"}) + "\n" for n, text in enumerate(texts)
    )
    boto3.client("s3").put_object(Bucket=RESULTS, Key=key, Body=body.encode())
    task_token = token or f"token-{uuid.uuid4().hex}"
    tokens.open.add(task_token)
    event = {
        "taskToken": task_token,
        "jobId": job_id,
        "project": project,
        "chunk": {"index": 0, "manifestUri": f"s3://{RESULTS}/{key}"},
    }
    return job_id, start.lambda_handler(event, Context())  # type: ignore[arg-type]


def item(job_name: str) -> dict[str, Any] | None:
    found: dict[str, Any] | None = (
        boto3.client("dynamodb")
        .get_item(TableName=TABLE, Key={"jobName": {"S": job_name}}, ConsistentRead=True)
        .get("Item")
    )
    return found


def answer(
    label_studio: LocalLabelStudio,
    workers: list[Account],
    project_id: int,
    pick: dict[str, list[str]],
) -> int:
    """Workers take turns on the task stream; ``pick[text][n]`` is worker n's label."""
    clients = [label_studio.client(worker) for worker in workers]
    answered = 0
    active = set(range(len(workers)))
    while active:
        for n, studio in enumerate(clients):
            if n not in active:
                continue
            task = studio.next_task(project_id)
            if task is None:
                active.discard(n)
                continue
            label = pick[task.data["text"]][n]
            region = {
                "from_name": "answer",
                "to_name": "text",
                "type": "choices",
                "value": {"choices": [label]},
            }
            studio.create_annotation(task.id, [region], lead_time=2.5)
            answered += 1
    return answered


def _job_events(receiver: Receiver, job_name: str, since: int = 0) -> list[dict[str, Any]]:
    calls = Receiver(receiver.url, receiver.calls[since:])
    return [e for e in calls.events() if e["queryStringParameters"].get("job") == job_name]


def _logged(caplog: pytest.LogCaptureFixture) -> str:
    """Every captured record with all its attributes (the structured keys included)."""
    return "\n".join(json.dumps(vars(record), default=str) for record in caplog.records)


def deliver(event: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    response = webhook.lambda_handler(event, Context())  # type: ignore[arg-type]
    return response["statusCode"], json.loads(response["body"])


def read(key: str) -> bytes:
    body: bytes = boto3.client("s3").get_object(Bucket=RESULTS, Key=key)["Body"].read()
    return body


def test_a_text_classification_job_runs_on_label_studio_like_on_ground_truth(
    aws_env: Tokens,
    label_studio: LocalLabelStudio,
    admin: LabelStudioClient,
    annotators: list[Account],
    receiver: Receiver,
) -> None:
    # Given a started job
    job_id, started = start_job(aws_env)
    name = started["jobName"]
    assert name == f"reviews-{job_id}-0"
    project_id = started["labelStudioProjectId"]
    project = admin.get_project(project_id)
    assert (project.title, project.description, project.maximum_annotations) == (name, name, 3)
    assert (
        "Pick the tone the writer expresses."
        in admin._call("GET", f"/api/projects/{project_id}/")["expert_instruction"]
    )
    tasks = admin.list_tasks(project_id)
    assert sorted((t.data["labelflowLine"], t.data["text"], t.data["source"]) for t in tasks) == [
        (0, TEXTS[0], TEXTS[0]),
        (1, TEXTS[1], TEXTS[1]),
    ]
    stored = item(name)
    assert stored is not None
    assert stored["backend"] == {"S": "label-studio"}
    assert stored["labelStudioProjectId"] == {"N": str(project_id)}
    assert int(stored["deadline"]["N"]) > time.time() + 800_000  # the 10-day default
    (hook,) = admin.list_webhooks(project_id)
    assert hook.url == f"{receiver.url}?job={name}"

    # When a retried step starts it again, nothing is duplicated and the new token waits
    retried_token = "token-retried-" + uuid.uuid4().hex
    _, again = start_job(aws_env, token=retried_token, job_id=job_id)
    assert (again["labelStudioProjectId"], again["reused"], again["imported"]) == (
        project_id,
        True,
        0,
    )
    assert len(admin.list_tasks(project_id)) == 2
    assert len(admin.list_webhooks(project_id)) == 1
    assert item(name)["taskToken"] == {"S": retried_token}  # type: ignore[index]

    # When the first annotator's first answer arrives, the job waits for the others
    before = len(receiver.calls)
    pick = {TEXTS[0]: ["positive", "positive", "negative"], TEXTS[1]: ["negative"] * 3}
    first = label_studio.client(annotators[0])
    task = first.next_task(project_id)
    assert task is not None
    region = {
        "from_name": "answer",
        "to_name": "text",
        "type": "choices",
        "value": {"choices": [pick[task.data["text"]][0]]},
    }
    first.create_annotation(task.id, [region], lead_time=2.5)
    (early,) = _job_events(receiver, name, since=before)
    assert early["headers"]["x-labelflow-secret"] == WEBHOOK_SECRET
    status, body = deliver(early)
    assert (status, body["outcome"]) == (200, "waiting")
    assert aws_env.sent == []

    # When the three annotators answer everything else through the task stream
    assert answer(label_studio, annotators, project_id, pick) == 5
    events = _job_events(receiver, name, since=before)
    assert len(events) == 6
    # then Label Studio's call for the last answer finishes the job
    status, body = deliver(events[-1])
    assert (status, body["outcome"], body["readiness"]) == (200, "finished", "complete")

    # Then the step is resumed exactly as job_events would resume it
    (sent,) = aws_env.sent
    assert sent["taskToken"] == retried_token
    output = json.loads(sent["output"])
    folder = f"jobs/{job_id}/gt/{name}"
    assert output == {
        "jobName": name,
        "status": "Completed",
        "outputManifestUri": f"s3://{RESULTS}/{folder}/manifests/output/output.manifest",
        "labelCounters": {
            "TotalLabeled": 2,
            "HumanLabeled": 2,
            "MachineLabeled": 0,
            "FailedNonRetryableError": 0,
            "Unlabeled": 0,
        },
    }
    # the output manifest is the input lines plus the consolidated labels
    rows = [
        json.loads(line)
        for line in read(f"{folder}/manifests/output/output.manifest").decode().splitlines()
    ]
    assert [row["review-id"] for row in rows] == ["r0", "r1"]
    assert rows[0]["reviews"]["class-name"] == "positive"
    assert rows[0]["reviews"]["workers"] == 3
    assert rows[1]["reviews"]["class-name"] == "negative"
    assert rows[1]["reviews"]["class-id"] == 1
    assert rows[0]["reviews-metadata"]["job-name"] == f"labeling-job/{name}"
    # the worker responses are Ground Truth's files, one per item, with each annotator's answer
    listed = boto3.client("s3").list_objects_v2(
        Bucket=RESULTS, Prefix=f"{folder}/annotations/worker-response/iteration-1/"
    )
    keys = sorted(entry["Key"] for entry in listed["Contents"])
    assert [key.split("/")[-2] for key in keys] == ["0", "1"]
    responses = parse_worker_response_file(read(keys[0]))
    assert sorted(r.worker_id for r in responses) == sorted(
        f"labelstudio.{a.user_id}" for a in annotators
    )
    assert sorted(r.answer_content["answer"]["label"] for r in responses) == [
        "negative",
        "positive",
        "positive",
    ]
    assert all(r.time_spent_seconds == 2.5 for r in responses)
    # the consolidation request was written where Publish looks for it
    requests = boto3.client("s3").list_objects_v2(
        Bucket=RESULTS,
        Prefix=f"{folder}/annotations/consolidated-annotation/consolidation-request/",
    )
    assert requests["KeyCount"] == 1
    # and the token is gone
    assert item(name) is None

    # When Label Studio repeats the call, nothing is finished twice
    status, body = deliver(events[-1])
    assert status == 404
    assert len(aws_env.sent) == 1


def test_calls_without_or_with_a_wrong_secret_are_refused_without_logging_it(
    aws_env: Tokens,
    caplog: pytest.LogCaptureFixture,
) -> None:
    body = json.dumps({"action": "ANNOTATION_CREATED", "project": {"id": 1}})
    wrong = "wrong-" + uuid.uuid4().hex

    missing = deliver({"headers": {}, "body": body})
    refused = deliver({"headers": {"x-labelflow-secret": wrong}, "body": body})

    assert missing[0] == 401
    assert refused[0] == 403
    logged = _logged(caplog)
    assert "webhook call refused" in logged
    assert wrong not in logged
    assert WEBHOOK_SECRET not in logged


def test_an_unknown_project_is_404_and_logged(
    aws_env: Tokens, caplog: pytest.LogCaptureFixture
) -> None:
    body = json.dumps({"action": "ANNOTATION_CREATED", "project": {"id": 987654}})

    status, answer_body = deliver({"headers": {"x-labelflow-secret": WEBHOOK_SECRET}, "body": body})

    assert status == 404
    assert "987654" in answer_body["message"]
    assert "no waiting job has this Label Studio project" in _logged(caplog)


def test_a_task_deleted_in_label_studio_is_reported_unlabeled(
    aws_env: Tokens,
    label_studio: LocalLabelStudio,
    admin: LabelStudioClient,
    annotators: list[Account],
    receiver: Receiver,
) -> None:
    texts = ["keep me", "drop me", "and me"]
    job_id, started = start_job(aws_env, texts)
    project_id = started["labelStudioProjectId"]
    dropped = next(t.id for t in admin.list_tasks(project_id) if t.data["text"] == "drop me")
    admin.delete_task(dropped)
    answer(
        label_studio,
        annotators,
        project_id,
        {"keep me": ["positive"] * 3, "and me": ["neutral"] * 3},
    )

    # The webhook call of the last answer, found by the project (no job parameter)
    event = [
        e for e in receiver.events() if e["queryStringParameters"].get("job") == started["jobName"]
    ][-1]
    event["queryStringParameters"] = {}
    status, body = deliver(event)

    assert (status, body["outcome"], body["deleted"]) == (200, "finished", ["1"])
    output = json.loads(aws_env.sent[-1]["output"])
    assert output["labelCounters"]["TotalLabeled"] == 2
    assert output["labelCounters"]["Unlabeled"] == 1
    rows = read(f"jobs/{job_id}/gt/{started['jobName']}/manifests/output/output.manifest")
    assert json.loads(rows.decode().splitlines()[1]) == {"source": "drop me", "review-id": "r1"}


def test_label_studio_down_during_export_fails_clearly_and_loses_nothing(
    aws_env: Tokens,
    label_studio: LocalLabelStudio,
    annotators: list[Account],
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a complete job
    job_id, started = start_job(aws_env, ["only one"])
    name = started["jobName"]
    answer(label_studio, annotators, started["labelStudioProjectId"], {"only one": ["neutral"] * 3})
    event = [e for e in receiver.events() if e["queryStringParameters"].get("job") == name][-1]
    # and a Label Studio that stops answering when the export is asked for (a closed port)
    down = LabelStudioClient("http://127.0.0.1:9", "unused", max_attempts=3, backoff=0.0)
    export = LabelStudioClient.export_annotations
    monkeypatch.setattr(
        LabelStudioClient,
        "export_annotations",
        lambda self, project_id, **kw: export(down, project_id, **kw),
    )

    # When the webhook arrives
    status, body = deliver(event)

    # Then it fails clearly, resumes nothing, writes nothing and keeps the token
    assert status == 503
    assert "Label Studio" in body["message"]
    assert aws_env.sent == []
    stored = item(name)
    assert stored is not None
    assert "finishingSince" not in stored
    listed = boto3.client("s3").list_objects_v2(Bucket=RESULTS, Prefix=f"jobs/{job_id}/gt/")
    assert listed["KeyCount"] == 0

    # When Label Studio is back, the sweep finishes the job
    monkeypatch.setattr(LabelStudioClient, "export_annotations", export)
    result = sweep.lambda_handler({}, Context())  # type: ignore[arg-type]
    assert result["finished"] >= 1
    assert json.loads(aws_env.sent[-1]["output"])["labelCounters"]["TotalLabeled"] == 1
    assert item(name) is None


def test_the_client_retries_before_the_export_is_declared_down() -> None:
    down = LabelStudioClient("http://127.0.0.1:9", "unused", max_attempts=3, backoff=0.0)

    with pytest.raises(LabelStudioUnavailable) as failed:
        down.export_annotations(1)

    assert failed.value.attempts == 3


def test_the_deadline_finishes_a_job_with_missing_answers(
    aws_env: Tokens,
    label_studio: LocalLabelStudio,
    annotators: list[Account],
) -> None:
    # Given a job where one annotator answered the first item only
    job_id, started = start_job(aws_env, ["answered once", "never answered"])
    name = started["jobName"]
    worker = label_studio.client(annotators[0])
    task = worker.next_task(started["labelStudioProjectId"])
    assert task is not None
    assert task.data["text"] == "answered once"
    worker.create_annotation(
        task.id,
        [
            {
                "from_name": "answer",
                "to_name": "text",
                "type": "choices",
                "value": {"choices": ["positive"]},
            }
        ],
    )
    # Before the deadline the sweep leaves it waiting
    assert sweep.lambda_handler({}, Context())["waiting"] >= 1  # type: ignore[arg-type]
    assert aws_env.sent == []

    # When its deadline has passed
    boto3.client("dynamodb").update_item(
        TableName=TABLE,
        Key={"jobName": {"S": name}},
        UpdateExpression="SET deadline = :d",
        ExpressionAttributeValues={":d": {"N": str(int(time.time()) - 1)}},
    )
    sweep.lambda_handler({}, Context())  # type: ignore[arg-type]

    # Then it finishes with what it has, the unanswered item failed as an expired task
    output = json.loads(aws_env.sent[-1]["output"])
    assert output["jobName"] == name
    assert output["labelCounters"] == {
        "TotalLabeled": 1,
        "HumanLabeled": 1,
        "MachineLabeled": 0,
        "FailedNonRetryableError": 1,
        "Unlabeled": 0,
    }
    rows = [
        json.loads(line)
        for line in read(f"jobs/{job_id}/gt/{name}/manifests/output/output.manifest")
        .decode()
        .splitlines()
    ]
    assert rows[0]["reviews"]["class-name"] == "positive"
    assert rows[0]["reviews"]["workers"] == 1
    assert "Annotation tasks expired" in rows[1]["reviews-metadata"]["failure-reason"]


def test_a_call_while_another_finishes_the_job_does_nothing(
    aws_env: Tokens,
    label_studio: LocalLabelStudio,
    annotators: list[Account],
    receiver: Receiver,
) -> None:
    _, started = start_job(aws_env, ["busy"])
    name = started["jobName"]
    answer(label_studio, annotators, started["labelStudioProjectId"], {"busy": ["neutral"] * 3})
    event = [e for e in receiver.events() if e["queryStringParameters"].get("job") == name][-1]
    boto3.client("dynamodb").update_item(
        TableName=TABLE,
        Key={"jobName": {"S": name}},
        UpdateExpression="SET finishingSince = :n",
        ExpressionAttributeValues={":n": {"N": str(int(time.time()))}},
    )

    status, body = deliver(event)

    assert (status, body["outcome"]) == (200, "already-finishing")
    assert aws_env.sent == []
    assert item(name) is not None


def test_image_items_are_imported_as_presigned_urls(
    aws_env: Tokens, admin: LabelStudioClient
) -> None:
    # Given a bounding-box chunk of two images
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="images")
    for key in ("a.png", "b.png"):
        s3.put_object(Bucket="images", Key=key, Body=b"png")
    job_id = uuid.uuid4().hex[:16]
    manifest = f"jobs/{job_id}/chunks/3.manifest"
    lines = [{"source-ref": "s3://images/a.png"}, {"source-ref": "s3://images/b.png", "cam": 2}]
    s3.put_object(
        Bucket=RESULTS, Key=manifest, Body="".join(json.dumps(x) + "\n" for x in lines).encode()
    )
    aws_env.open.add("token-boxes")
    event = {
        "taskToken": "token-boxes",
        "jobId": job_id,
        "project": "pets",
        "chunk": {"index": 3, "manifestUri": f"s3://{RESULTS}/{manifest}"},
    }

    # When the job starts
    started = start.lambda_handler(event, Context())  # type: ignore[arg-type]

    # Then the project has the boxes config, and each task a short-lived URL of its image
    project = admin.get_project(started["labelStudioProjectId"])
    assert "<RectangleLabels" in project.label_config
    assert project.maximum_annotations == 2
    tasks = sorted(admin.list_tasks(project.id), key=lambda t: t.data["labelflowLine"])
    assert [t.data["source-ref"] for t in tasks] == ["s3://images/a.png", "s3://images/b.png"]
    for task, key in zip(tasks, ("a.png", "b.png"), strict=True):
        url = urllib.parse.urlsplit(task.data["image"])
        query = dict(urllib.parse.parse_qsl(url.query))
        assert url.path.endswith(f"/{key}")
        assert "X-Amz-Signature" in query or "Signature" in query
        assert query.get("X-Amz-Expires", query.get("Expires")) is not None


def test_segmentation_projects_are_refused_before_anything_is_made(
    aws_env: Tokens, monkeypatch: pytest.MonkeyPatch
) -> None:
    projects = json.loads(os.environ["LABELFLOW_PROJECTS"])
    projects["masks"] = {"task_type": "semantic-segmentation", "labels": ["road"]}
    monkeypatch.setenv("LABELFLOW_PROJECTS", json.dumps(projects))
    get_settings.cache_clear()
    event = {
        "taskToken": "t",
        "jobId": "masks1",
        "project": "masks",
        "chunk": {"index": 0, "manifestUri": f"s3://{RESULTS}/jobs/masks1/chunks/0.manifest"},
    }

    with pytest.raises(ContractError, match="cannot run on Label Studio"):
        start.lambda_handler(event, Context())  # type: ignore[arg-type]
    assert item("masks-masks1-0") is None


def _answer_rounds(
    label_studio: LocalLabelStudio,
    workers: list[Account],
    project_id: int,
    labels: list[str],
    rounds: int,
) -> None:
    """In each round every worker in turn answers the stream's next task with ``labels[n]``."""
    clients = [label_studio.client(worker) for worker in workers]
    for _ in range(rounds):
        for studio, label in zip(clients, labels, strict=True):
            task = studio.next_task(project_id)
            assert task is not None
            region = {
                "from_name": "answer",
                "to_name": "text",
                "type": "choices",
                "value": {"choices": [label]},
            }
            studio.create_annotation(task.id, [region])


@pytest.mark.parametrize(
    ("removal", "outcome"),
    [("organization", "removed-from-organization"), ("project", "unsupported")],
)
def test_the_sweep_flags_a_bad_worker_mid_job_and_removes_them_as_configured(
    aws_env: Tokens, label_studio: LocalLabelStudio, removal: str, outcome: str
) -> None:
    # Given a running job where two workers agree on 7 of 8 reviews and a third never does
    project = WATCHED[removal]
    good, fair, bad = label_studio.create_annotators(3, prefix=f"flagged-{removal}")
    _, started = start_job(aws_env, [f"review {n}" for n in range(8)], project=project.name)
    name, project_id = started["jobName"], started["labelStudioProjectId"]
    labels = ["positive", "positive", "negative"]
    _answer_rounds(label_studio, [good, fair, bad], project_id, labels, rounds=7)

    # When the sweep runs while the job waits for its last answers
    result = sweep.lambda_handler({}, Context())  # type: ignore[arg-type]

    # Then the bad worker is flagged (and the job goes on), with the removal's outcome
    assert (result["flagged"], result["errors"]) == (1, 0)
    assert aws_env.sent == []
    key = f"alerts/{project.name}/{name}/labelstudio.{bad.user_id}.json"
    flag = json.loads(boto3.client("s3").get_object(Bucket=ARTIFACTS, Key=key)["Body"].read())
    assert (flag["worker"], flag["jobName"], flag["removal"]) == (
        f"labelstudio.{bad.user_id}",
        name,
        outcome,
    )
    assert (flag["answers"], flag["accuracy"]) == (7, 0.0)
    # Removed from the organization, the worker gets no more tasks; on Community Edition,
    # which has no project membership, project removal leaves them labeling
    removed = label_studio.client(bad)
    if removal == "organization":
        with pytest.raises(LabelStudioError):
            removed.next_task(project_id)
    else:
        assert removed.next_task(project_id) is not None
    assert label_studio.client(good).next_task(project_id) is not None

    # And the next sweep does not flag the worker again
    again = sweep.lambda_handler({}, Context())  # type: ignore[arg-type]
    assert (again["flagged"], again["errors"]) == (0, 0)
