"""The fake labeling job runs as Ground Truth does: states, batches, answers, output, role.

In-process (``mock_aws``), with two small Lambdas: a pre-annotation function that passes the
line through (and leaves an item out, or omits the flag, when the line asks), and a
consolidation function that reads its batch from S3 and keeps each object's first answer.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator, Mapping
from typing import Any

import boto3
import pytest
from moto import mock_aws

from labelflow.local import fake_sagemaker, iam
from labelflow.local.workforce import SimulatedWorker, SimulatedWorkforce, WorkerAnswer, WorkerTask

REGION = "us-east-1"
ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/labeling"
TEAM = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:workteam/private-crowd/team"
PUBLIC = "arn:aws:sagemaker:us-east-1:394669845002:workteam/public-crowd/default"
TEMPLATE = (
    '<crowd-form><crowd-classifier name="sentiment" categories="[]">'
    "<classification-target>{{ task.input.taskObject }}</classification-target>"
    "</crowd-classifier></crowd-form>"
)
PRE = """
def lambda_handler(event, context):
    line = event["dataObject"]
    response = {"taskInput": {"taskObject": line.get("source", line.get("source-ref"))}}
    if "flag" in line:
        response["isHumanAnnotationRequired"] = line["flag"]
    if line.get("no-task-input"):
        del response["taskInput"]
    return response
"""
POST = """
import json
import boto3


def lambda_handler(event, context):
    bucket, key = event["payload"]["s3Uri"][len("s3://"):].split("/", 1)
    batch = json.loads(boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())
    results = []
    for item in batch:
        first = json.loads(item["annotations"][0]["annotationData"]["content"])
        answer = next(iter(first.values()))
        results.append(
            {
                "datasetObjectId": item["datasetObjectId"],
                "consolidatedAnnotation": {
                    "content": {event["labelAttributeName"]: {"label": answer["label"]}}
                },
            }
        )
    return results
"""
ALLOW_ALL = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}


def _zip(name: str, code: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(f"{name}/__init__.py", "")
        archive.writestr(f"{name}/handler.py", code)
    return buffer.getvalue()


class Account:
    """Buckets, the job role and the two Lambdas of one in-process test."""

    def __init__(self) -> None:
        self.s3 = boto3.client("s3", region_name=REGION)
        self.sagemaker = boto3.client("sagemaker", region_name=REGION)
        self.iam = boto3.client("iam", region_name=REGION)
        for bucket in ("inbox", "outbox"):
            self.s3.create_bucket(Bucket=bucket)
        self.s3.put_object(Bucket="inbox", Key="template.liquid.html", Body=TEMPLATE.encode())
        self.iam.create_role(
            RoleName="labeling",
            AssumeRolePolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "sagemaker.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
        )
        self.grant(ALLOW_ALL)
        functions = boto3.client("lambda", region_name=REGION)
        self.pre, self.post = (
            functions.create_function(
                FunctionName=name,
                Runtime="python3.12",
                Role=ROLE,
                Handler=f"{name}.handler.lambda_handler",
                Code={"ZipFile": _zip(name, code)},
            )["FunctionArn"]
            for name, code in (("passthrough_pre", PRE), ("first_answer_post", POST))
        )

    def grant(self, policy: Mapping[str, Any]) -> None:
        """The job role's only policy from now on."""
        self.iam.put_role_policy(
            RoleName="labeling", PolicyName="job", PolicyDocument=json.dumps(policy)
        )

    def manifest(self, lines: list[dict[str, Any]]) -> None:
        body = "\n".join(json.dumps(line) for line in lines) + "\n"
        self.s3.put_object(Bucket="inbox", Key="m.manifest", Body=body.encode())

    def create(self, name: str = "reviews-job-1", **changes: Any) -> None:
        task: dict[str, Any] = {
            "WorkteamArn": TEAM,
            "UiConfig": {"UiTemplateS3Uri": "s3://inbox/template.liquid.html"},
            "PreHumanTaskLambdaArn": self.pre,
            "TaskTitle": "Tone",
            "TaskDescription": "Choose the tone",
            "NumberOfHumanWorkersPerDataObject": 2,
            "TaskTimeLimitInSeconds": 300,
            "AnnotationConsolidationConfig": {"AnnotationConsolidationLambdaArn": self.post},
        }
        request: dict[str, Any] = {
            "LabelingJobName": name,
            "LabelAttributeName": "tone",
            "InputConfig": {
                "DataSource": {"S3DataSource": {"ManifestS3Uri": "s3://inbox/m.manifest"}}
            },
            "OutputConfig": {"S3OutputPath": "s3://outbox/gt"},
            "RoleArn": ROLE,
            "HumanTaskConfig": task,
        }
        for key, value in changes.items():
            (task if key in task or key in _TASK_KEYS else request)[key] = value
        self.sagemaker.create_labeling_job(**request)

    def run(self, name: str = "reviews-job-1") -> dict[str, Any]:
        fake_sagemaker.runner().run_pending()
        return dict(self.sagemaker.describe_labeling_job(LabelingJobName=name))

    def keys(self, prefix: str) -> list[str]:
        listed = self.s3.list_objects_v2(Bucket="outbox", Prefix=prefix).get("Contents", [])
        return sorted(item["Key"] for item in listed)

    def read(self, key: str) -> Any:
        return json.loads(self.s3.get_object(Bucket="outbox", Key=key)["Body"].read())

    def output(self, name: str = "reviews-job-1") -> list[dict[str, Any]]:
        body = self.s3.get_object(
            Bucket="outbox", Key=f"gt/{name}/manifests/output/output.manifest"
        )["Body"].read()
        return [json.loads(line) for line in body.decode().splitlines()]


_TASK_KEYS = {
    "MaxConcurrentTaskCount",
    "PublicWorkforceTaskPrice",
    "TaskAvailabilityLifetimeInSeconds",
}


def _workforce() -> SimulatedWorkforce:
    return SimulatedWorkforce(
        workers=[SimulatedWorker("w1", 1.0), SimulatedWorker("w2", 1.0)],
        truth=lambda line: line.get("truth", "positive"),
        labels=("positive", "negative"),
    )


@pytest.fixture
def account(patched: None) -> Iterator[Account]:
    with mock_aws():
        created = Account()
        fake_sagemaker.register_workforce(_workforce())
        yield created


def _lines(count: int) -> list[dict[str, Any]]:
    return [{"source": f"review {index}", "truth": "positive"} for index in range(count)]


# --------------------------------------------------------------------------------------------
# states and batches
# --------------------------------------------------------------------------------------------


class _StatusWatcher:
    """A workforce that notes the job's status whenever it is asked for answers."""

    def __init__(self) -> None:
        self.seen: set[str] = set()

    def answers(self, task: WorkerTask) -> list[WorkerAnswer]:
        described = boto3.client("sagemaker", region_name=REGION).describe_labeling_job(
            LabelingJobName=task.job_name
        )
        self.seen.add(described["LabelingJobStatus"])
        return _workforce().answers(task)


def test_a_job_is_initializing_then_in_progress_then_completed(account: Account) -> None:
    account.manifest(_lines(2))
    watcher = _StatusWatcher()
    fake_sagemaker.register_workforce(watcher)

    account.create()
    created = account.sagemaker.describe_labeling_job(LabelingJobName="reviews-job-1")
    ended = account.run()

    assert created["LabelingJobStatus"] == "Initializing"
    assert watcher.seen == {"InProgress"}
    assert ended["LabelingJobStatus"] == "Completed"


def test_consolidation_runs_in_batches_with_a_file_pair_each(account: Account) -> None:
    # Given 25 lines, two of them the same source twice, and batches of 10
    lines = _lines(23)
    lines.insert(5, dict(lines[4]))
    lines.append(dict(lines[0]))
    account.manifest(lines)
    fake_sagemaker.runner().start(background=False, batch_size=10)

    # When the job runs
    account.create()
    described = account.run()

    # Then the consolidation Lambda had three batches, each with its own request and response
    folder = "gt/reviews-job-1/annotations/consolidated-annotation/"
    requests = account.keys(folder + "consolidation-request/iteration-1/")
    responses = account.keys(folder + "consolidation-response/iteration-1/")
    assert [len(account.read(key)) for key in requests] == [10, 10, 5]
    assert [key.rsplit("/", 1)[1] for key in requests] == [
        key.rsplit("/", 1)[1] for key in responses
    ]
    assert len(set(requests)) == 3
    batches = [[entry["datasetObjectId"] for entry in account.read(key)] for key in requests]
    assert [object_id for batch in batches for object_id in batch] == [
        str(index) for index in range(25)
    ]
    # And every input line is in the output manifest, in order, repeated sources included
    output = account.output()
    assert [row["source"] for row in output] == [line["source"] for line in lines]
    assert all(row["tone"] == {"label": "positive"} for row in output)
    assert described["LabelCounters"]["TotalLabeled"] == 25


def test_the_default_batch_is_ten_objects(account: Account) -> None:
    account.manifest(_lines(12))
    fake_sagemaker.runner().start(background=False)

    account.create()
    account.run()

    folder = "gt/reviews-job-1/annotations/consolidated-annotation/consolidation-request/"
    sizes = [len(account.read(key)) for key in account.keys(folder)]
    assert fake_sagemaker.DEFAULT_CONSOLIDATION_BATCH_SIZE == 10
    assert sizes == [10, 2]


def test_no_batch_is_larger_than_the_tasks_offered_at_once(account: Account) -> None:
    account.manifest(_lines(10))
    fake_sagemaker.runner().start(background=False, batch_size=10)

    account.create(MaxConcurrentTaskCount=4)
    account.run()

    folder = "gt/reviews-job-1/annotations/consolidated-annotation/consolidation-request/"
    assert [len(account.read(key)) for key in account.keys(folder)] == [4, 4, 2]


def test_the_runner_refuses_an_empty_batch() -> None:
    with pytest.raises(ValueError, match="batch_size must be at least 1"):
        fake_sagemaker.JobRunner().start(background=False, batch_size=0)


# --------------------------------------------------------------------------------------------
# the pre-annotation response and the answers
# --------------------------------------------------------------------------------------------


def test_only_an_explicit_false_leaves_an_item_out(account: Account) -> None:
    account.manifest(
        [
            {"source": "flag true", "flag": True},
            {"source": "no flag"},
            {"source": "flag false", "flag": False},
        ]
    )

    account.create()
    described = account.run()

    rows = {row["source"]: row for row in account.output()}
    assert rows["flag true"]["tone"] == {"label": "positive"}
    assert rows["no flag"]["tone"] == {"label": "positive"}
    assert rows["flag false"] == {"source": "flag false", "flag": False}
    responses = account.keys("gt/reviews-job-1/annotations/worker-response/iteration-1/")
    assert sorted({key.split("/")[5] for key in responses}) == ["0", "1"]
    assert described["LabelCounters"] == {
        "TotalLabeled": 2,
        "HumanLabeled": 2,
        "MachineLabeled": 0,
        "FailedNonRetryableError": 0,
        "Unlabeled": 1,
    }


def test_a_response_without_task_input_fails_the_job(account: Account) -> None:
    account.manifest([{"source": "broken", "no-task-input": True}])

    account.create()
    described = account.run()

    assert described["LabelingJobStatus"] == "Failed"
    assert "returned no taskInput object for data object 0" in described["FailureReason"]


def test_answers_are_keyed_by_the_templates_answer_element(account: Account) -> None:
    account.manifest(_lines(1))

    account.create()
    account.run()

    (key,) = account.keys("gt/reviews-job-1/annotations/worker-response/")
    answers = account.read(key)["answers"]
    assert [set(answer["answerContent"]) for answer in answers] == [{"sentiment"}] * 2
    (request,) = account.keys(
        "gt/reviews-job-1/annotations/consolidated-annotation/consolidation-request/"
    )
    content = json.loads(account.read(request)[0]["annotations"][0]["annotationData"]["content"])
    assert content == {"sentiment": {"label": "positive"}}


def test_answer_element_name_is_the_first_named_crowd_element() -> None:
    template = (
        '<crowd-form><crowd-instructions link-text="help"></crowd-instructions>'
        '{% if task.input.x %}<crowd-text-area name="transcription"></crowd-text-area>{% endif %}'
        '<crowd-input name="comment"></crowd-input></crowd-form>'
    )

    assert fake_sagemaker.answer_element_name(template) == "transcription"
    assert fake_sagemaker.answer_element_name("<crowd-form></crowd-form>") is None


def test_a_template_without_a_named_element_fails_the_job(account: Account) -> None:
    account.manifest(_lines(1))
    account.s3.put_object(Bucket="inbox", Key="template.liquid.html", Body=b"<crowd-form/>")

    account.create()
    described = account.run()

    assert described["LabelingJobStatus"] == "Failed"
    assert "has no crowd element with a name" in described["FailureReason"]


# --------------------------------------------------------------------------------------------
# the public workforce's personal-information declaration
# --------------------------------------------------------------------------------------------


def test_a_public_job_without_the_pii_declaration_fails_while_it_initializes(
    account: Account,
) -> None:
    # Ground Truth documents that omitting the flag makes the job fail, not the request
    account.manifest(_lines(1))
    price = {"AmountInUsd": {"Dollars": 0, "Cents": 1, "TenthFractionsOfACent": 2}}

    account.create(WorkteamArn=PUBLIC, PublicWorkforceTaskPrice=price)
    created = account.sagemaker.describe_labeling_job(LabelingJobName="reviews-job-1")
    described = account.run()

    assert created["LabelingJobStatus"] == "Initializing"
    assert described["LabelingJobStatus"] == "Failed"
    assert "FreeOfPersonallyIdentifiableInformation" in described["FailureReason"]
    assert account.keys("gt/reviews-job-1/") == []


def test_a_public_job_with_the_pii_declaration_runs(account: Account) -> None:
    account.manifest(_lines(1))
    price = {"AmountInUsd": {"Dollars": 0, "Cents": 1, "TenthFractionsOfACent": 2}}

    account.create(
        WorkteamArn=PUBLIC,
        PublicWorkforceTaskPrice=price,
        InputConfig={
            "DataSource": {"S3DataSource": {"ManifestS3Uri": "s3://inbox/m.manifest"}},
            "DataAttributes": {"ContentClassifiers": ["FreeOfPersonallyIdentifiableInformation"]},
        },
    )

    assert account.run()["LabelingJobStatus"] == "Completed"


# --------------------------------------------------------------------------------------------
# the job's role: what Ground Truth reads, writes and invokes as the job's RoleArn
# --------------------------------------------------------------------------------------------


def _policy(*statements: tuple[str | list[str], str | list[str]]) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": action, "Resource": resource}
            for action, resource in statements
        ],
    }


#: What a custom job's role needs: read the inputs, write the output, invoke both Lambdas.
JOB_ROLE = (
    ("s3:GetObject", ["arn:aws:s3:::inbox/*"]),
    ("s3:PutObject", "arn:aws:s3:::outbox/gt/*"),
    (
        "lambda:InvokeFunction",
        [
            f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:passthrough_pre",
            f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:first_answer_post",
        ],
    ),
)
#: What the consolidation function's own role needs: the batch under the output.
FUNCTION_ROLE = (("s3:GetObject", "arn:aws:s3:::outbox/gt/*"),)


@pytest.fixture
def evaluated(account: Account) -> Iterator[Account]:
    """The account with IAM evaluated (moto's access control on), and an empty access log."""
    iam.clear_access_log()
    with iam.enable():
        yield account


def test_with_the_roles_grants_the_job_completes(evaluated: Account) -> None:
    evaluated.manifest(_lines(2))
    evaluated.grant(_policy(*JOB_ROLE, *FUNCTION_ROLE))

    evaluated.create()

    assert evaluated.run()["LabelingJobStatus"] == "Completed"


def test_the_template_is_read_as_the_jobs_role(evaluated: Account) -> None:
    evaluated.manifest(_lines(1))
    evaluated.s3.put_object(Bucket="outbox", Key="ui/template.liquid.html", Body=TEMPLATE.encode())
    evaluated.grant(_policy(*JOB_ROLE, *FUNCTION_ROLE))

    evaluated.create(UiConfig={"UiTemplateS3Uri": "s3://outbox/ui/template.liquid.html"})
    described = evaluated.run()

    assert described["LabelingJobStatus"] == "Failed"
    assert described["FailureReason"].startswith(
        "ClientError: Access denied reading the worker task template "
        "s3://outbox/ui/template.liquid.html: User: arn:aws:iam::123456789012:role/labeling is "
        "not authorized to perform: s3:GetObject on resource: "
        "arn:aws:s3:::outbox/ui/template.liquid.html"
    )


def test_an_item_the_role_cannot_read_fails_alone(evaluated: Account) -> None:
    evaluated.manifest(
        [
            {"source-ref": "s3://inbox/images/cat.png", "truth": "positive"},
            {"source-ref": "s3://elsewhere/images/dog.png", "truth": "positive"},
        ]
    )
    evaluated.grant(_policy(*JOB_ROLE, *FUNCTION_ROLE))

    evaluated.create()
    described = evaluated.run()

    rows = evaluated.output()
    assert rows[0]["tone"] == {"label": "positive"}
    assert "tone" not in rows[1]
    assert (
        "cannot read the data object s3://elsewhere/images/dog.png"
        in (rows[1]["tone-metadata"]["failure-reason"])
    )
    assert described["LabelCounters"]["TotalLabeled"] == 1
    assert described["LabelCounters"]["FailedNonRetryableError"] == 1


def test_a_lambda_the_role_may_not_invoke_fails_the_job(evaluated: Account) -> None:
    evaluated.manifest(_lines(1))
    evaluated.grant(_policy(*JOB_ROLE[:2], *FUNCTION_ROLE))

    evaluated.create()
    described = evaluated.run()

    assert described["LabelingJobStatus"] == "Failed"
    assert described["FailureReason"].startswith(
        "ClientError: Exception invoking the Lambda function "
        f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:passthrough_pre. LambdaErrorCode: "
        "AccessDeniedException."
    )


def test_a_consolidation_function_without_its_grant_is_refused(evaluated: Account) -> None:
    # the function reads its batch with its own role (here the job's role, without the read)
    evaluated.manifest(_lines(1))
    evaluated.grant(_policy(*JOB_ROLE))

    evaluated.create()
    described = evaluated.run()

    assert described["LabelingJobStatus"] == "Failed"
    assert "AccessDenied" in described["FailureReason"]
    refused = [call for call in iam.access_log() if not call.allowed]
    assert [(call.action, call.source) for call in refused] == [("s3:GetObject", "request")]
    assert refused[0].resource.startswith(
        "arn:aws:s3:::outbox/gt/reviews-job-1/annotations/consolidated-annotation/"
        "consolidation-request/iteration-1/"
    )
