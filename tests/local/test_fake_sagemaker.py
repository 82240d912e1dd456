"""The SageMaker and A2I fakes: request validation like the real API, and their state."""

from __future__ import annotations

import copy
import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws

from labelflow.local import fake_sagemaker
from labelflow.local.server import LocalAws
from labelflow.local.workforce import (
    RecordedWorkforce,
    SimulatedWorker,
    SimulatedWorkforce,
    WorkerTask,
)

REGION = "us-east-1"
ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/labeling"
TEAM = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:workteam/private-crowd/team"
TEMPLATE = (
    b'<crowd-form><crowd-classifier name="tone" categories="[]"></crowd-classifier></crowd-form>'
)


def job_request(**changes: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "LabelingJobName": "reviews-job-1",
        "LabelAttributeName": "tone",
        "InputConfig": {"DataSource": {"S3DataSource": {"ManifestS3Uri": "s3://inbox/m.manifest"}}},
        "OutputConfig": {"S3OutputPath": "s3://outbox/jobs"},
        "RoleArn": ROLE,
        "HumanTaskConfig": {
            "WorkteamArn": TEAM,
            "UiConfig": {"UiTemplateS3Uri": "s3://inbox/template.liquid"},
            "TaskTitle": "Tone",
            "TaskDescription": "Choose the tone",
            "NumberOfHumanWorkersPerDataObject": 3,
            "TaskTimeLimitInSeconds": 300,
        },
    }
    for path, value in changes.items():
        target = request
        *parents, last = path.split("__")
        for part in parents:
            target = target[part]
        if value is None:
            target.pop(last, None)
        else:
            target[last] = value
    return request


@pytest.fixture
def sagemaker(patched: None) -> Iterator[Any]:
    """An in-process SageMaker client that skips client-side validation."""
    with mock_aws():
        yield boto3.client(
            "sagemaker", region_name=REGION, config=Config(parameter_validation=False)
        )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"LabelingJobName": "bad_name!"}, "at 'labelingJobName'"),
        ({"LabelingJobName": "x" * 64}, "length less than or equal to 63"),
        ({"RoleArn": None}, "Value null at 'roleArn'"),
        ({"HumanTaskConfig__NumberOfHumanWorkersPerDataObject": 0}, "greater than or equal to 1"),
        ({"HumanTaskConfig__NumberOfHumanWorkersPerDataObject": 10}, "less than or equal to 9"),
        ({"HumanTaskConfig__TaskTimeLimitInSeconds": 29}, "taskTimeLimitInSeconds"),
        ({"HumanTaskConfig__TaskTitle": None}, "Value null at 'humanTaskConfig.taskTitle'"),
        ({"HumanTaskConfig__WorkteamArn": "team"}, "humanTaskConfig.workteamArn"),
        ({"OutputConfig__S3OutputPath": "ftp://x"}, "outputConfig.s3OutputPath"),
        (
            {"HumanTaskConfig__PublicWorkforceTaskPrice": {"AmountInUsd": {"Cents": 120}}},
            "less than or equal to 99",
        ),
        (
            {
                "HumanTaskConfig__PublicWorkforceTaskPrice": {
                    "AmountInUsd": {"Dollars": 0, "Cents": 1, "TenthFractionsOfACent": 12}
                }
            },
            "tenthFractionsOfACent",
        ),
        ({"HumanTaskConfig__UiConfig": {}}, "exactly one of UiTemplateS3Uri"),
        (
            {"HumanTaskConfig__TaskAvailabilityLifetimeInSeconds": 2_592_001},
            "exceeds the maximum of 2592000 seconds for a private or vendor workforce",
        ),
        (
            {"HumanTaskConfig__TaskTimeLimitInSeconds": 28_801},
            "TaskTimeLimitInSeconds 28801 exceeds the maximum of 28800 seconds",
        ),
    ],
)
def test_create_labeling_job_rejects_invalid_requests(
    sagemaker: Any, changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(ClientError) as raised:
        sagemaker.create_labeling_job(**job_request(**changes))

    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert message in raised.value.response["Error"]["Message"]


PUBLIC = "arn:aws:sagemaker:us-east-1:394669845002:workteam/public-crowd/default"


def _price(dollars: int, cents: int, tenths: int) -> dict[str, Any]:
    return {"AmountInUsd": {"Dollars": dollars, "Cents": cents, "TenthFractionsOfACent": tenths}}


def test_public_workforce_needs_a_price(sagemaker: Any) -> None:
    with pytest.raises(ClientError, match="PublicWorkforceTaskPrice is required"):
        sagemaker.create_labeling_job(**job_request(HumanTaskConfig__WorkteamArn=PUBLIC))
    sagemaker.create_labeling_job(
        **job_request(
            HumanTaskConfig__WorkteamArn=PUBLIC,
            HumanTaskConfig__PublicWorkforceTaskPrice=_price(0, 3, 6),
        )
    )


@pytest.mark.parametrize(
    ("pre_annotation", "price", "accepted"),
    [
        (None, _price(0, 1, 2), True),  # custom: 0.012
        (None, _price(1, 20, 0), True),  # custom: 1.200
        (None, _price(0, 1, 3), False),  # custom: 0.013 is no Ground Truth price
        (None, _price(0, 30, 0), False),  # custom: 0.300 neither
        ("PRE-BoundingBox", _price(0, 1, 2), False),  # built-in boxes start at 0.036
        ("PRE-BoundingBox", _price(0, 3, 6), True),
        ("PRE-SemanticSegmentation", _price(0, 72, 0), False),  # from 0.840
        ("PRE-SemanticSegmentation", _price(0, 84, 0), True),
    ],
)
def test_public_workforce_price_must_be_one_ground_truth_allows(
    sagemaker: Any, pre_annotation: str | None, price: dict[str, Any], accepted: bool
) -> None:
    changes: dict[str, Any] = {
        "HumanTaskConfig__WorkteamArn": PUBLIC,
        "HumanTaskConfig__PublicWorkforceTaskPrice": price,
    }
    if pre_annotation:
        changes["HumanTaskConfig__PreHumanTaskLambdaArn"] = (
            f"arn:aws:lambda:us-east-1:432418664414:function:{pre_annotation}"
        )

    if accepted:
        sagemaker.create_labeling_job(**job_request(**changes))
    else:
        with pytest.raises(ClientError, match="is not a price allowed for this task type"):
            sagemaker.create_labeling_job(**job_request(**changes))


@pytest.mark.parametrize(
    ("team", "lifetime", "accepted"),
    [
        (TEAM, 2_592_000, True),
        (TEAM, 2_592_001, False),
        (PUBLIC, 43_200, True),
        (PUBLIC, 43_201, False),
    ],
)
def test_task_availability_is_limited_by_workforce(
    sagemaker: Any, team: str, lifetime: int, accepted: bool
) -> None:
    request = job_request(
        HumanTaskConfig__WorkteamArn=team,
        HumanTaskConfig__TaskAvailabilityLifetimeInSeconds=lifetime,
        HumanTaskConfig__PublicWorkforceTaskPrice=_price(0, 1, 2) if team == PUBLIC else None,
    )

    if accepted:
        sagemaker.create_labeling_job(**request)
    else:
        with pytest.raises(ClientError) as raised:
            sagemaker.create_labeling_job(**request)
        assert raised.value.response["Error"]["Code"] == "ValidationException"
        assert f"TaskAvailabilityLifetimeInSeconds {lifetime} exceeds" in str(raised.value)


def test_labeling_job_lifecycle_without_running(sagemaker: Any) -> None:
    arn = sagemaker.create_labeling_job(**job_request())["LabelingJobArn"]
    sagemaker.create_labeling_job(**job_request(LabelingJobName="other-job"))

    with pytest.raises(ClientError) as duplicate:
        sagemaker.create_labeling_job(**job_request())
    described = sagemaker.describe_labeling_job(LabelingJobName="reviews-job-1")
    sagemaker.stop_labeling_job(LabelingJobName="reviews-job-1")
    stopping = sagemaker.describe_labeling_job(LabelingJobName="reviews-job-1")
    listed = sagemaker.list_labeling_jobs(NameContains="reviews")["LabelingJobSummaryList"]
    fake_sagemaker.runner().run_pending()
    stopped = sagemaker.describe_labeling_job(LabelingJobName="reviews-job-1")

    assert arn == f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:labeling-job/reviews-job-1"
    assert duplicate.value.response["Error"]["Code"] == "ResourceInUse"
    assert described["LabelingJobStatus"] == "Initializing"
    assert described["HumanTaskConfig"]["NumberOfHumanWorkersPerDataObject"] == 3
    assert stopping["LabelingJobStatus"] == "Stopping"
    assert [job["LabelingJobName"] for job in listed] == ["reviews-job-1"]
    assert stopped["LabelingJobStatus"] == "Stopped"
    with pytest.raises(ClientError) as missing:
        sagemaker.describe_labeling_job(LabelingJobName="nope")
    assert missing.value.response["Error"]["Code"] == "ResourceNotFound"


def _no_retries(local_aws: LocalAws) -> Any:
    """A SageMaker client that sends each request once (botocore retries throttling)."""
    return local_aws.client("sagemaker", config=Config(retries={"total_max_attempts": 1}))


def test_throttled_job_creations_fail_then_succeed(local_aws: LocalAws) -> None:
    sagemaker = _no_retries(local_aws)
    fake_sagemaker.throttle_job_creation(2)

    refusals = []
    for _ in range(2):
        with pytest.raises(ClientError) as throttled:
            sagemaker.create_labeling_job(**job_request())
        refusals.append(throttled.value.response)
    sagemaker.create_labeling_job(**job_request())

    assert [r["Error"] for r in refusals] == [
        {"Code": "ThrottlingException", "Message": "Rate exceeded"}
    ] * 2
    assert refusals[0]["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert fake_sagemaker.throttled_job_creations() == 2
    listed = sagemaker.list_labeling_jobs()["LabelingJobSummaryList"]
    assert [job["LabelingJobName"] for job in listed] == ["reviews-job-1"]


def test_throttling_every_job_creation_until_switched_off(local_aws: LocalAws) -> None:
    sagemaker = _no_retries(local_aws)
    fake_sagemaker.throttle_job_creation(None)

    for _ in range(3):
        with pytest.raises(ClientError, match="ThrottlingException"):
            sagemaker.create_labeling_job(**job_request())
    refused = fake_sagemaker.throttled_job_creations()
    fake_sagemaker.throttle_job_creation(0)
    sagemaker.create_labeling_job(**job_request())

    assert refused == 3
    assert fake_sagemaker.throttled_job_creations() == 0
    assert (
        sagemaker.describe_labeling_job(LabelingJobName="reviews-job-1")["LabelingJobStatus"]
        == "Initializing"
    )


def test_throttling_is_cleared_by_uninstall() -> None:
    fake_sagemaker.throttle_job_creation(None)
    fake_sagemaker.uninstall()
    fake_sagemaker.install()
    try:
        with mock_aws():
            client = boto3.client(
                "sagemaker", region_name=REGION, config=Config(parameter_validation=False)
            )
            client.create_labeling_job(**job_request())
    finally:
        fake_sagemaker.uninstall()
    assert fake_sagemaker.throttled_job_creations() == 0


def test_throttle_job_creation_rejects_a_negative_count() -> None:
    with pytest.raises(ValueError, match="calls must be >= 0"):
        fake_sagemaker.throttle_job_creation(-1)


def test_workteam_and_flow_definition_and_human_loop_in_process(sagemaker: Any) -> None:
    team = sagemaker.create_workteam(
        WorkteamName="reviewers",
        Description="Reviewers",
        MemberDefinitions=[
            {
                "CognitoMemberDefinition": {
                    "UserPool": "us-east-1_abc",
                    "UserGroup": "reviewers",
                    "ClientId": "client",
                }
            }
        ],
    )["WorkteamArn"]
    flow = sagemaker.create_flow_definition(
        FlowDefinitionName="review-flow",
        RoleArn=ROLE,
        OutputConfig={"S3OutputPath": "s3://outbox/a2i"},
        HumanLoopConfig={
            "WorkteamArn": team,
            "HumanTaskUiArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:human-task-ui/ui",
            "TaskTitle": "Review",
            "TaskDescription": "Check the label",
            "TaskCount": 1,
        },
    )["FlowDefinitionArn"]
    a2i = boto3.client("sagemaker-a2i-runtime", region_name=REGION)

    loop = a2i.start_human_loop(
        HumanLoopName="loop-1",
        FlowDefinitionArn=flow,
        HumanLoopInput={"InputContent": json.dumps({"text": "fine"})},
    )
    described = a2i.describe_human_loop(HumanLoopName="loop-1")
    fake_sagemaker.complete_human_loop("loop-1", "s3://outbox/a2i/loop-1/output.json")
    completed = a2i.describe_human_loop(HumanLoopName="loop-1")

    assert sagemaker.describe_workteam(WorkteamName="reviewers")["Workteam"]["WorkteamArn"] == team
    assert (
        sagemaker.describe_flow_definition(FlowDefinitionName="review-flow")["FlowDefinitionStatus"]
        == "Active"
    )
    assert loop["HumanLoopArn"].endswith(":human-loop/loop-1")
    assert described["HumanLoopStatus"] == "InProgress"
    assert completed["HumanLoopOutput"]["OutputS3Uri"].endswith("output.json")
    with pytest.raises(ClientError) as invalid:
        a2i.start_human_loop(
            HumanLoopName="Bad_Name",
            FlowDefinitionArn=flow,
            HumanLoopInput={"InputContent": "{}"},
        )
    assert invalid.value.response["Error"]["Code"] == "ValidationException"


def test_human_loop_through_the_server(local_aws: LocalAws) -> None:
    sagemaker = local_aws.client("sagemaker")
    flow = sagemaker.create_flow_definition(
        FlowDefinitionName="review-flow",
        RoleArn=ROLE,
        OutputConfig={"S3OutputPath": "s3://outbox/a2i"},
    )["FlowDefinitionArn"]
    a2i = local_aws.client("sagemaker-a2i-runtime")

    a2i.start_human_loop(
        HumanLoopName="loop-2", FlowDefinitionArn=flow, HumanLoopInput={"InputContent": "{}"}
    )

    assert a2i.describe_human_loop(HumanLoopName="loop-2")["HumanLoopStatus"] == "InProgress"
    with pytest.raises(ClientError) as missing:
        a2i.describe_human_loop(HumanLoopName="loop-3")
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"


def _zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def test_job_fails_with_the_lambda_error(sagemaker: Any) -> None:
    boto3.client("iam", region_name=REGION).create_role(
        RoleName="labeling", AssumeRolePolicyDocument="{}"
    )
    pre = boto3.client("lambda", region_name=REGION).create_function(
        FunctionName="broken-pre",
        Runtime="python3.12",
        Role=ROLE,
        Handler="broken/handler.lambda_handler".replace("/", "."),
        Code={
            "ZipFile": _zip(
                {
                    "broken/__init__.py": "",
                    "broken/handler.py": (
                        "def lambda_handler(event, context):\n"
                        "    raise ValueError('no project for this job')\n"
                    ),
                }
            )
        },
    )["FunctionArn"]
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="inbox")
    s3.put_object(Bucket="inbox", Key="m.manifest", Body=b'{"source": "great"}\n')
    s3.put_object(Bucket="inbox", Key="template.liquid", Body=TEMPLATE)
    fake_sagemaker.register_workforce(
        SimulatedWorkforce(workers=[SimulatedWorker("w1")], truth=lambda line: "positive")
    )
    events = boto3.client("events", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    queue = sqs.create_queue(QueueName="job-events")["QueueUrl"]
    events.put_rule(Name="jobs", EventPattern=json.dumps({"source": ["aws.sagemaker"]}))
    events.put_targets(
        Rule="jobs", Targets=[{"Id": "q", "Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:job-events"}]
    )
    sagemaker.create_labeling_job(**job_request(HumanTaskConfig__PreHumanTaskLambdaArn=pre))

    fake_sagemaker.runner().run_pending()

    described = sagemaker.describe_labeling_job(LabelingJobName="reviews-job-1")
    assert described["LabelingJobStatus"] == "Failed"
    assert "ValueError: no project for this job" in described["FailureReason"]
    message = sqs.receive_message(QueueUrl=queue)["Messages"][0]
    assert json.loads(message["Body"])["detail"] == {"LabelingJobStatus": "Failed"}


def _task(**changes: Any) -> WorkerTask:
    base: dict[str, Any] = {
        "job_name": "reviews-job-1",
        "dataset_object_id": "4",
        "line": {"source": "great", "item-id": "q4"},
        "task_input": {},
        "task_type": "text-classification",
        "labels": ("positive", "negative", "neutral"),
        "workers_per_object": 3,
        "element_name": "tone",
    }
    base.update(changes)
    return WorkerTask(**base)


def test_simulated_workforce_is_deterministic_and_uses_accuracy() -> None:
    workers = [SimulatedWorker("good", 1.0), SimulatedWorker("bad", 0.0), SimulatedWorker("x", 1.0)]
    workforce = SimulatedWorkforce(workers=workers, truth=lambda line: "positive", seed=3)

    first = workforce.answers(_task())
    again = workforce.answers(_task())

    assert first == again
    by_worker = {answer.worker_id: answer.answer_content["tone"] for answer in first}
    assert by_worker["good"] == {"label": "positive"}
    assert by_worker["bad"]["label"] in {"negative", "neutral"}
    assert all(answer.time_spent_seconds > 0 for answer in first)


def test_simulated_workforce_answers_multilabel_shape() -> None:
    workforce = SimulatedWorkforce(
        workers=[SimulatedWorker("w", 1.0)], truth=lambda line: ["negative"], seed=1
    )

    answers = workforce.answers(_task(task_type="text-classification-multilabel"))

    assert answers[0].answer_content == {"tone": {"labels": ["negative"]}}


def test_recorded_workforce_replays_csv(tmp_path: Path) -> None:
    path = tmp_path / "answers.csv"
    path.write_text("question,worker,answer\nq4,w1,positive\nq4,w2,neutral\nq5,w1,negative\n")
    workforce = RecordedWorkforce.from_csv(path)

    answers = workforce.answers(_task())

    assert [(a.worker_id, a.answer_content["tone"]["label"]) for a in answers] == [
        ("w1", "positive"),
        ("w2", "neutral"),
    ]
    assert workforce.answers(_task(line={"item-id": "q9"})) == []


def test_validate_request_accepts_a_valid_request() -> None:
    fake_sagemaker.validate_request("sagemaker", "CreateLabelingJob", copy.deepcopy(job_request()))


def test_the_fake_validates_with_the_one_validator() -> None:
    from labelflow.local import request_validation

    assert fake_sagemaker.validate_request is request_validation.validate_request
    assert fake_sagemaker.FakeValidationError is request_validation.RequestValidationError
