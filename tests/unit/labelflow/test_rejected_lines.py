"""Rejected lines reach the person who submitted them: submit, status, results, report.

A new user submits a 24-line manifest to an image project: 20 good lines, one malformed, one
naming an image that does not exist, one text line, one blank. The stack's side is played by
moto (CloudFormation outputs, the intake and results buckets, the jobs table) holding what
the workflow writes, in the shapes of ``job_contracts``: ``validation.json``
(:class:`~job_contracts.steps.ValidationSummary`), ``rejects.jsonl`` (one
``{"line", "reason", "detail", "content"}`` per line), the jobs-table item with Validate's
counts (:meth:`~job_contracts.steps.ValidationSummary.item_updates`, as Publish records them),
and the published output.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from job_contracts.ids import job_id
from job_contracts.layout import JobLayout
from job_contracts.steps import ValidationSummary
from labelflow.cli import main

STACK = "labelflow-dev-Labeling"
INTAKE, RESULTS, TABLE = "intake", "results", "jobs"
KEY = "pets/20261128T082740Z-batch-01-ab12cd.jsonl"
REASONS = {"not-json": 1, "object-missing": 1, "wrong-source-for-task": 1}
REJECTS: list[dict[str, Any]] = [
    {
        "line": 5,
        "reason": "not-json",
        "detail": "not one JSON value: Expecting ',' delimiter at column 31",
        "content": '{"source-ref": "s3://intake/pets/5.jpg"',
    },
    {
        "line": 12,
        "reason": "wrong-source-for-task",
        "detail": "image-classification labels 'source-ref' lines; this line has 'source'",
        "content": '{"source": "a cat on a mat"}',
    },
    {
        "line": 17,
        "reason": "object-missing",
        "detail": "s3://intake/pets/17.jpg does not exist",
        "content": '{"source-ref": "s3://intake/pets/17.jpg"}',
    },
]


def _manifest_text() -> str:
    lines = [json.dumps({"source-ref": f"s3://intake/pets/{n}.jpg"}) for n in range(1, 25)]
    lines[4] = str(REJECTS[0]["content"])
    lines[11] = str(REJECTS[1]["content"])
    lines[20] = ""
    return "\n".join(lines) + "\n"


def _summary(job: str, *, accepted: int = 20) -> ValidationSummary:
    return ValidationSummary(
        manifest=f"s3://{INTAKE}/{KEY}",
        lines=24,
        accepted=accepted,
        rejected=24 - 1 - accepted,
        blank=1,
        by_reason=REASONS if accepted else {"not-json": 23},
        rejects_uri=f"s3://{RESULTS}/{JobLayout(job).rejects}",
    )


class Stack:
    """The stack's resources in moto, and helpers to write what the workflow writes."""

    def __init__(self) -> None:
        self.s3 = boto3.client("s3", region_name="us-east-1")
        self.dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        for bucket in (INTAKE, RESULTS):
            self.s3.create_bucket(Bucket=bucket)
        self.dynamodb.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "jobId", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "jobId", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        outputs = {
            "IntakeBucketName": INTAKE,
            "ResultsBucketName": RESULTS,
            "JobsTableName": TABLE,
            "ProjectNames": "pets",
        }
        template = {
            "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
            "Outputs": {name: {"Value": value} for name, value in outputs.items()},
        }
        boto3.client("cloudformation", region_name="us-east-1").create_stack(
            StackName=STACK, TemplateBody=json.dumps(template)
        )

    def put(self, key: str, body: str | bytes) -> None:
        self.s3.put_object(Bucket=RESULTS, Key=key, Body=body)

    def validated(self, job: str, *, accepted: int = 20) -> None:
        """What Validate writes: the rejects and validation.json."""
        layout = JobLayout(job)
        self.put(layout.rejects, "".join(json.dumps(r) + "\n" for r in REJECTS))
        self.put(layout.validation, json.dumps(_summary(job, accepted=accepted).to_json()))

    def published(self, job: str, *, report_validation: bool, copy_rejects: bool) -> None:
        """What Publish writes under the output prefix, and its jobs-table item."""
        layout = JobLayout(job)
        self.put(layout.output("output.manifest"), '{"source-ref": "s3://intake/pets/1.jpg"}\n')
        report: dict[str, Any] = {"title": f"LabelFlow pets: job {job}", "items": 20}
        report |= {"labeled": 20, "no_consensus": {"total": 0, "by_reason": {}}}
        if report_validation:
            report["validation"] = _summary(job).to_json()
        self.put(layout.output("report.json"), json.dumps(report))
        self.put(layout.output("report.html"), "<html></html>")
        rejects = layout.rejects
        if copy_rejects:
            rejects = layout.output("rejects.jsonl")
            self.put(rejects, "".join(json.dumps(r) + "\n" for r in REJECTS))
        self.record(
            job,
            status="SUCCEEDED",
            items=20,
            labeled=20,
            excluded=0,
            outputUri=f"s3://{RESULTS}/{layout.output('output.manifest')}",
            reportUri=f"s3://{RESULTS}/{layout.output('report.html')}",
            finishedAt="2026-11-28T08:29:01+00:00",
            **{
                **_summary(job).item_updates(),  # as Publish records Validate's counts
                "rejectsUri": {"S": f"s3://{RESULTS}/{rejects}"},
            },
        )

    def record(self, job: str, **values: Any) -> None:
        item: dict[str, Any] = {
            "jobId": {"S": job},
            "project": {"S": "pets"},
            "bucket": {"S": INTAKE},
            "key": {"S": KEY},
            "createdAt": {"S": "2026-11-28T08:27:43+00:00"},
        }
        for name, value in values.items():
            if isinstance(value, dict) and len(value) == 1 and next(iter(value)) in "SNM":
                item[name] = value  # already an attribute value
            elif isinstance(value, dict):
                item[name] = {"M": {k: {"N": str(v)} for k, v in value.items()}}
            elif isinstance(value, int):
                item[name] = {"N": str(value)}
            else:
                item[name] = {"S": value}
        self.dynamodb.put_item(TableName=TABLE, Item=item)


@pytest.fixture
def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    empty = tmp_path / "aws-config"
    empty.write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    with mock_aws():
        yield Stack()


@pytest.fixture
def manifest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The 24-line manifest, uploaded under :data:`KEY` (its job id is :func:`_job`)."""
    path = tmp_path / "batch-01.jsonl"
    path.write_text(_manifest_text(), encoding="utf-8")
    monkeypatch.setattr("labelflow.jobs.upload_key", lambda *args: KEY)
    return path


def _job() -> str:
    """The job id of the manifest's upload into the (unversioned) intake bucket."""
    etag = hashlib.md5(_manifest_text().encode()).hexdigest()
    return job_id(INTAKE, KEY, None, etag)


JOB = "0123456789abcdef"


def test_submit_wait_states_the_lines_read_rejected_by_reason_and_where(
    stack: Stack, manifest: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    job = _job()
    stack.validated(job)
    stack.published(job, report_validation=True, copy_rejects=True)

    code = main(["submit", "pets", str(manifest), "--wait", "--interval", "0.01"])

    out = capsys.readouterr().out.splitlines()
    assert code == 0
    assert out[2:6] == [
        f"Job {job} SUCCEEDED: 20 of 24 lines labeled",
        "Lines            24 read: 20 labeled, 3 rejected, 1 blank",
        "Rejected         not-json: 1, object-missing: 1, wrong-source-for-task: 1",
        f"Rejects          s3://{RESULTS}/jobs/{job}/output/rejects.jsonl",
    ]
    assert out[-1] == f"Download all:    labelflow results {job} -o {job}/"


def test_submit_wait_of_a_manifest_rejected_whole_says_what_was_rejected(
    stack: Stack, manifest: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    job = _job()
    stack.validated(job, accepted=0)
    cause = f"no line of s3://{INTAKE}/{KEY} can be labeled"
    stack.record(job, status="FAILED", error="ManifestRejected", reason=cause)

    code = main(["submit", "pets", str(manifest), "--wait", "--interval", "0.01"])

    err = capsys.readouterr().err.splitlines()
    assert code == 1
    assert err[-4] == f"Job {job} FAILED: ManifestRejected: {cause}"
    assert err[-3:] == [
        "Lines            24 read: 0 accepted, 23 rejected, 1 blank",
        "Rejected         not-json: 23",
        f"Rejects          s3://{RESULTS}/jobs/{job}/rejects.jsonl",
    ]


def test_status_lists_lines_rejected_and_the_manifest_of_every_job(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a published job (counts in the table), a running one (counts in validation.json
    # only) and one Validate has not reached yet
    stack.validated(JOB)
    stack.published(JOB, report_validation=True, copy_rejects=True)
    stack.validated("00000000000000aa")
    stack.record("00000000000000aa", status="RUNNING")
    stack.record("00000000000000bb", status="PENDING")

    # When the recent jobs are listed
    assert main(["status"]) == 0

    # Then each row says what is known of its lines, and names its manifest
    rows = [line.split() for line in capsys.readouterr().out.splitlines()]
    assert rows[0] == [
        "JOB", "PROJECT", "STATUS", "LINES", "LABELED", "REJECTED", "STARTED", "FINISHED",
        "MANIFEST",
    ]  # fmt: skip
    name = KEY.removeprefix("pets/")
    by_job = {row[0]: row for row in rows[1:]}
    assert by_job[JOB][2:6] == ["SUCCEEDED", "24", "20", "3"]
    assert by_job[JOB][-1] == name
    assert by_job["00000000000000aa"][2:5] == ["RUNNING", "24", "3"]
    assert by_job["00000000000000aa"][-1] == name
    assert by_job["00000000000000bb"][2:] == ["PENDING", "2026-11-28", "08:27:43", name]


def test_status_json_lists_the_validation_of_every_job(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    stack.validated(JOB)
    stack.published(JOB, report_validation=True, copy_rejects=True)
    stack.record("00000000000000bb", status="PENDING")

    assert main(["status", "--json"]) == 0

    rows = {row["job_id"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows[JOB]["key"] == KEY
    assert rows[JOB]["validation"]["lines"] == 24
    assert rows[JOB]["validation"]["byReason"] == REASONS
    assert rows[JOB]["validation"]["rejectsUri"] == (
        f"s3://{RESULTS}/jobs/{JOB}/output/rejects.jsonl"
    )
    assert rows[JOB]["validation"]["manifest"] == f"s3://{INTAKE}/{KEY}"
    assert rows["00000000000000bb"]["validation"] is None


def test_status_of_one_job_reads_validation_json_while_it_runs(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    stack.validated(JOB)
    stack.record(JOB, status="RUNNING")

    assert main(["status", JOB[:6]]) == 0

    out = capsys.readouterr().out.splitlines()
    assert out[3:7] == [
        f"Manifest   {KEY}",
        "Lines      24 read: 20 accepted, 3 rejected, 1 blank",
        "Rejected   not-json: 1, object-missing: 1, wrong-source-for-task: 1",
        f"Rejects    s3://{RESULTS}/jobs/{JOB}/rejects.jsonl",
    ]
    assert main(["status", JOB, "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["validation"] == _summary(JOB).to_json()


def test_status_of_a_job_validate_rejected_whole(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    stack.validated(JOB, accepted=0)
    stack.record(JOB, status="FAILED", error="ManifestRejected", reason="no line can be labeled")

    assert main(["status", JOB]) == 1

    out = capsys.readouterr().out.splitlines()
    assert "Status     FAILED" in out
    assert "Lines      24 read: 0 accepted, 23 rejected, 1 blank" in out
    assert f"Rejects    s3://{RESULTS}/jobs/{JOB}/rejects.jsonl" in out


def test_status_of_an_ended_job_takes_the_tables_counts(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    # validation.json is not read when the table has the counts (here it is gone)
    stack.published(JOB, report_validation=False, copy_rejects=True)

    assert main(["status", JOB]) == 0

    out = capsys.readouterr().out.splitlines()
    assert "Lines      24 read: 20 labeled, 3 rejected, 1 blank" in out
    assert f"Rejects    s3://{RESULTS}/jobs/{JOB}/output/rejects.jsonl" in out


def test_status_of_a_job_an_older_stack_recorded_reads_validation_json(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    # A table item with lines and rejected only: the blank line comes from validation.json
    stack.validated(JOB)
    stack.record(JOB, status="SUCCEEDED", items=20, labeled=20, lines=24, rejected=3)

    assert main(["status", JOB]) == 0

    out = capsys.readouterr().out.splitlines()
    assert "Lines      24 read: 20 labeled, 3 rejected, 1 blank" in out
    assert f"Rejects    s3://{RESULTS}/jobs/{JOB}/rejects.jsonl" in out


def test_status_of_a_job_with_partial_table_counts_alone(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    stack.record(JOB, status="SUCCEEDED", items=20, labeled=20, lines=24, rejected=3)

    assert main(["status", JOB]) == 0

    out = capsys.readouterr().out.splitlines()
    assert "Lines      24 read: 20 labeled, 3 rejected" in out
    assert f"Rejects    s3://{RESULTS}/jobs/{JOB}/rejects.jsonl" in out


@pytest.mark.parametrize("copied", [True, False], ids=["published-copy", "validate-original"])
def test_results_downloads_the_rejects_with_the_rest(
    stack: Stack, tmp_path: Path, capsys: pytest.CaptureFixture[str], copied: bool
) -> None:
    stack.validated(JOB)
    stack.published(JOB, report_validation=True, copy_rejects=copied)
    folder = tmp_path / "out"

    assert main(["results", JOB, "-o", str(folder)]) == 0

    out = capsys.readouterr().out
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    assert files == ["output.manifest", "rejects.jsonl", "report.html", "report.json"]
    rejects = [json.loads(line) for line in (folder / "rejects.jsonl").read_text().splitlines()]
    assert [(r["line"], r["reason"]) for r in rejects] == [
        (5, "not-json"),
        (12, "wrong-source-for-task"),
        (17, "object-missing"),
    ]
    assert "Downloaded 4 files" in out
    assert out.splitlines()[-1] == (
        "Lines of the manifest: 24 read: 20 labeled, 3 rejected, 1 blank; the rejected "
        f"lines, with their reasons: {folder / 'rejects.jsonl'}"
    )


def test_results_of_a_job_rejected_whole_says_where_its_rejects_are(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    stack.validated(JOB, accepted=0)
    stack.record(JOB, status="FAILED", error="ManifestRejected", reason="no line can be labeled")

    assert main(["results", JOB]) == 2

    assert capsys.readouterr().err == (
        f"labelflow results: error: job {JOB} FAILED and has no results: ManifestRejected: "
        "no line can be labeled; lines 24 read: 0 accepted, 23 rejected, 1 blank; rejected "
        f"lines in s3://{RESULTS}/jobs/{JOB}/rejects.jsonl\n"
    )


def test_report_states_the_lines_read_and_rejected(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    stack.validated(JOB)
    stack.published(JOB, report_validation=True, copy_rejects=True)

    assert main(["report", JOB]) == 0

    out = capsys.readouterr().out.splitlines()
    assert out[1:5] == [
        "Lines read     24 (1 blank)",
        "Rejected       3 (not-json: 1, object-missing: 1, wrong-source-for-task: 1)",
        f"Rejects        s3://{RESULTS}/jobs/{JOB}/rejects.jsonl",
        "Items          20",
    ]


def test_report_json_prints_report_json_as_published(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    stack.validated(JOB)
    stack.published(JOB, report_validation=True, copy_rejects=True)
    published = stack.s3.get_object(Bucket=RESULTS, Key=JobLayout(JOB).output("report.json"))

    assert main(["report", JOB, "--json"]) == 0

    assert capsys.readouterr().out == published["Body"].read().decode() + "\n"


def test_report_json_of_a_report_without_validation_adds_validates_counts(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    # A report published before it carried Validate's counts
    stack.validated(JOB)
    stack.published(JOB, report_validation=False, copy_rejects=False)

    assert main(["report", JOB, "--json"]) == 0

    report = json.loads(capsys.readouterr().out)
    assert report["validation"] == _summary(JOB).to_json()
    assert report["items"] == 20


def test_the_fixtures_have_the_shapes_validate_writes() -> None:
    from validate_manifest.logic import Reason, Reject

    written = json.loads(Reject(5, Reason.NOT_JSON, "detail", "content").to_json())
    assert all(set(reject) == set(written) for reject in REJECTS)
    assert {reject["reason"] for reject in REJECTS} == set(REASONS)
    assert set(REASONS) <= {reason.value for reason in Reason}
    assert ValidationSummary.from_json(_summary(JOB).to_json()) == _summary(JOB)
