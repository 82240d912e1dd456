"""The pure parts of the job commands: keys, job records, status, progress, tables, reports."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from job_contracts.steps import ValidationSummary
from job_contracts.worker_alerts import FlaggedWorker, WorkerFlag
from labelflow.jobs import (
    CommandError,
    JobRecord,
    LabelingJobView,
    LineCounts,
    Progress,
    StackInfo,
    WorkflowView,
    describe_lines,
    describe_reasons,
    effective_status,
    flagged_workers,
    format_job_details,
    format_jobs_table,
    format_line_counts,
    format_report_summary,
    format_table,
    job_progress,
    output_prefix_of,
    read_history,
    render_bar,
    upload_key,
)

MOMENT = datetime(2026, 11, 28, 8, 27, 43, tzinfo=UTC)


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("batch.jsonl", "pets/20261128T082743Z-batch-ab12cd.jsonl"),
        ("week 3.manifest", "pets/20261128T082743Z-week-3-ab12cd.manifest"),
        ("items.json", "pets/20261128T082743Z-items.json-ab12cd.jsonl"),
        ("ünïcode (copy).jsonl", "pets/20261128T082743Z-n-code-copy-ab12cd.jsonl"),
        (".jsonl", "pets/20261128T082743Z-manifest-ab12cd.jsonl"),
    ],
)
def test_upload_key_is_a_manifest_key_under_the_project(filename: str, expected: str) -> None:
    assert upload_key("pets", filename, MOMENT, "ab12cd") == expected


def test_output_prefix_follows_the_published_output_uri() -> None:
    uri = "s3://results/jobs/abc/output/output.manifest"
    assert output_prefix_of("abc", uri) == "jobs/abc/output/"
    assert output_prefix_of("abc") == "jobs/abc/output/"


def test_stack_info_names_a_missing_output_and_lists_projects() -> None:
    stack = StackInfo("s", {"ProjectNames": "pets,street-objects"}, "eu-west-1", "region eu-west-1")
    assert stack.projects == ("pets", "street-objects")
    with pytest.raises(CommandError, match="stack s \\(region eu-west-1\\) has no output Jobs"):
        stack.output("JobsTableName")


def _item(**values: Any) -> dict[str, dict[str, str]]:
    return {
        key: {"N": str(value)} if isinstance(value, int) else {"S": value}
        for key, value in values.items()
    }


def test_job_record_parses_a_published_item() -> None:
    record = JobRecord.from_item(
        _item(
            jobId="j1",
            project="pets",
            status="SUCCEEDED",
            items=12,
            labeled=11,
            excluded=1,
            createdAt="2026-11-28T08:27:43+00:00",
            finishedAt="2026-11-28T08:29:01+00:00",
            outputUri="s3://r/jobs/j1/output/output.manifest",
        )
    )
    assert (record.job_id, record.project, record.status) == ("j1", "pets", "SUCCEEDED")
    assert (record.items, record.labeled, record.excluded) == (12, 11, 1)
    assert record.output_uri == "s3://r/jobs/j1/output/output.manifest"
    assert record.cost is None


def test_job_record_of_a_running_job_has_no_counts() -> None:
    record = JobRecord.from_item(_item(jobId="j2", project="pets", status="RUNNING"))
    assert record.items is None
    assert record.labeled is None
    assert record.line_counts is None


def test_job_record_reads_the_lines_and_rejects_by_reason() -> None:
    item: dict[str, Any] = {
        **_item(jobId="j1", project="pets", status="SUCCEEDED", bucket="intake", lines=24),
        "rejected": {"N": "3"},
        "rejectedByReason": {
            "M": {"not-json": {"N": "1"}, "object-missing": {"N": "1"}, "no-source": {"N": "1"}}
        },
    }

    record = JobRecord.from_item(item)

    assert (record.bucket, record.lines, record.rejected) == ("intake", 24, 3)
    assert record.line_counts == LineCounts(
        24, 3, {"not-json": 1, "object-missing": 1, "no-source": 1}
    )


def test_job_record_reads_every_count_publish_records() -> None:
    summary = ValidationSummary(
        lines=24,
        accepted=20,
        rejected=3,
        blank=1,
        by_reason={"not-json": 3},
        rejects_uri="s3://results/jobs/j1/output/rejects.jsonl",
        repeated=2,
    )
    item = {**_item(jobId="j1", project="pets", status="SUCCEEDED"), **summary.item_updates()}

    record = JobRecord.from_item(item)

    assert record.line_counts == LineCounts(
        24,
        3,
        {"not-json": 3},
        accepted=20,
        blank=1,
        rejects_uri="s3://results/jobs/j1/output/rejects.jsonl",
        repeated=2,
    )


def test_format_line_counts_says_how_many_lines_repeat_a_source() -> None:
    counts = LineCounts(5, 0, {}, accepted=5, blank=0, repeated=2)
    assert format_line_counts(counts, labeled=5) == [
        "Lines      5 read: 5 labeled, 0 rejected",
        "Repeated   2 lines repeat an earlier line's source (each is labeled)",
    ]


def test_line_counts_read_validates_summary() -> None:
    summary = ValidationSummary(
        manifest="s3://intake/pets/batch.jsonl",
        lines=24,
        accepted=20,
        rejected=3,
        blank=1,
        by_reason={"not-json": 1, "object-missing": 1, "wrong-source-for-task": 1},
        rejects_uri="s3://results/jobs/j1/rejects.jsonl",
    )

    counts = LineCounts.parse(summary.to_json(), where="validation.json")

    assert counts == LineCounts(
        lines=24,
        rejected=3,
        by_reason={"not-json": 1, "object-missing": 1, "wrong-source-for-task": 1},
        accepted=20,
        blank=1,
        rejects_uri="s3://results/jobs/j1/rejects.jsonl",
        manifest="s3://intake/pets/batch.jsonl",
        repeated=0,
    )
    assert counts.to_json() == summary.to_json()


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (None, "validation.json is not a validation summary: it is null"),
        ([], "validation.json is not a validation summary: validation must be an object"),
        ({"lines": -1}, "validation.lines must be a non-negative integer"),
        ({"lines": 2, "byReason": {"x": "1"}}, "byReason must map reasons to counts"),
    ],
)
def test_line_counts_of_another_shape_name_the_file(raw: object, message: str) -> None:
    with pytest.raises(CommandError, match=message.replace(".", r"\.")):
        LineCounts.parse(raw, where="validation.json")


def test_line_counts_keep_their_uris_and_fill_missing_ones() -> None:
    named = LineCounts(2, 1, rejects_uri="s3://r/a", manifest="s3://i/m.jsonl")
    assert named.completed(rejects_uri="s3://r/b", manifest="s3://i/n.jsonl") == named
    filled = LineCounts(2, 1).completed(rejects_uri="s3://r/b", manifest="s3://i/n.jsonl")
    assert (filled.rejects_uri, filled.manifest) == ("s3://r/b", "s3://i/n.jsonl")
    assert LineCounts(2, 1).to_json() == {
        "manifest": None,
        "lines": 2,
        "accepted": None,
        "rejected": 1,
        "blank": None,
        "byReason": {},
        "rejectsUri": None,
        "repeated": None,
    }


_VALIDATED = LineCounts(24, 3, accepted=20, blank=1)


@pytest.mark.parametrize(
    ("counts", "labeled", "excluded", "expected"),
    [
        (_VALIDATED, 19, 1, "24 read: 19 labeled, 1 excluded, 3 rejected, 1 blank"),
        (_VALIDATED, None, None, "24 read: 20 accepted, 3 rejected, 1 blank"),
        (LineCounts(3, 0, accepted=3, blank=0), 3, 0, "3 read: 3 labeled, 0 rejected"),
        (LineCounts(24, 3), None, None, "24 read: 3 rejected"),
    ],
)
def test_describe_lines(
    counts: LineCounts, labeled: int | None, excluded: int | None, expected: str
) -> None:
    assert describe_lines(counts, labeled=labeled, excluded=excluded) == expected


def test_describe_reasons_puts_the_most_frequent_first() -> None:
    reasons = {"object-missing": 1, "not-json": 2, "duplicate": 1}
    assert describe_reasons(reasons) == "not-json: 2, duplicate: 1, object-missing: 1"


def test_format_line_counts_names_the_rejects_only_when_there_are_some() -> None:
    uri = "s3://results/jobs/j1/rejects.jsonl"
    rejected = LineCounts(4, 1, {"not-json": 1}, accepted=3, rejects_uri=uri)
    clean = LineCounts(3, 0, {}, accepted=3, rejects_uri=uri)

    assert format_line_counts(rejected, labeled=3, width=9) == [
        "Lines    4 read: 3 labeled, 1 rejected",
        "Rejected not-json: 1",
        f"Rejects  {uri}",
    ]
    assert format_line_counts(clean, labeled=3) == ["Lines      3 read: 3 labeled, 0 rejected"]


RUNNING = JobRecord("j1", "pets", "RUNNING", execution_arn="arn:exec")


@pytest.mark.parametrize(
    ("record", "workflow", "expected"),
    [
        (RUNNING, None, ("RUNNING", "")),
        (RUNNING, WorkflowView(status="RUNNING"), ("RUNNING", "")),
        (
            RUNNING,
            WorkflowView(status="FAILED", error="LabelingJobFailed", cause="no workers"),
            ("FAILED", "LabelingJobFailed: no workers"),
        ),
        (
            RUNNING,
            WorkflowView(
                status="FAILED",
                error="ManifestRejected",
                cause=json.dumps({"errorMessage": "every line was rejected"}),
            ),
            ("FAILED", "ManifestRejected: every line was rejected"),
        ),
        (RUNNING, WorkflowView(status="TIMED_OUT"), ("TIMED_OUT", "no reason given")),
        (
            JobRecord("j1", "pets", "SUCCEEDED"),
            WorkflowView(status="SUCCEEDED"),
            ("SUCCEEDED", ""),
        ),
    ],
)
def test_effective_status(
    record: JobRecord, workflow: WorkflowView | None, expected: tuple[str, str]
) -> None:
    assert effective_status(record, workflow) == expected


def _entered(kind: str, name: str) -> dict[str, Any]:
    return {"type": kind, "stateEnteredEventDetails": {"name": name}}


def test_read_history_gives_stage_validation_and_failure() -> None:
    validation = {"lines": 4, "accepted": 3, "rejected": 1, "chunks": [{"index": 0}]}
    events = [
        {"type": "ExecutionStarted"},
        _entered("TaskStateEntered", "Validate manifest"),
        {
            "type": "LambdaFunctionSucceeded",
            "lambdaFunctionSucceededEventDetails": {"output": json.dumps(validation)},
        },
        _entered("MapStateEntered", "Label chunks"),
        _entered("TaskStateEntered", "Start labeling job"),
        {
            "type": "TaskFailed",
            "taskFailedEventDetails": {"error": "LabelingJobFailed", "cause": "stopped"},
        },
    ]

    history = read_history(events)

    assert history == {
        "stage": "Start labeling job",
        "validation": validation,
        "error": "LabelingJobFailed",
        "cause": "stopped",
    }


def test_read_history_of_a_fresh_execution_knows_nothing_yet() -> None:
    assert read_history([{"type": "ExecutionStarted"}]) == {
        "stage": "",
        "validation": None,
        "error": "",
        "cause": "",
    }


def _labeling(labeled: int) -> LabelingJobView:
    return LabelingJobView(name="pets-j1-0", status="InProgress", labeled=labeled)


@pytest.mark.parametrize(
    ("record", "workflow", "jobs", "expected"),
    [
        (
            RUNNING,
            WorkflowView(status="RUNNING", stage="Validate manifest"),
            [],
            Progress("RUNNING", "Validate manifest", None, None),
        ),
        (
            RUNNING,
            WorkflowView(status="RUNNING", stage="Start labeling job", accepted=10, chunks=2),
            [_labeling(3), _labeling(4)],
            Progress("RUNNING", "Start labeling job", 7, 10),
        ),
        (
            JobRecord("j1", "pets", "SUCCEEDED", items=10, labeled=9),
            WorkflowView(status="SUCCEEDED", stage="Labeled", accepted=10),
            [_labeling(10)],
            Progress("SUCCEEDED", "Labeled", 9, 10),
        ),
    ],
)
def test_job_progress(
    record: JobRecord,
    workflow: WorkflowView,
    jobs: list[LabelingJobView],
    expected: Progress,
) -> None:
    assert job_progress(record, workflow, jobs) == expected


@pytest.mark.parametrize(
    ("progress", "fraction"),
    [
        (Progress("RUNNING"), None),
        (Progress("RUNNING", done=0, total=0), 1.0),
        (Progress("RUNNING", done=5, total=4), 1.0),
        (Progress("RUNNING", done=1, total=4), 0.25),
    ],
)
def test_progress_fraction(progress: Progress, fraction: float | None) -> None:
    assert progress.fraction == fraction


def test_progress_ends_with_the_job() -> None:
    assert Progress("FAILED").ended
    assert not Progress("RUNNING").ended


@pytest.mark.parametrize(
    ("progress", "line"),
    [
        (
            Progress("RUNNING", "Label chunks", 5, 10),
            "[#####.....]  5/10 labeled  RUNNING  Label chunks",
        ),
        (Progress("SUCCEEDED", "", 10, 10), "[##########]  10/10 labeled  SUCCEEDED"),
        (Progress("PENDING"), "[   ...    ]  PENDING"),
    ],
)
def test_render_bar(progress: Progress, line: str) -> None:
    assert render_bar(progress, width=10) == line


def test_format_table_pads_columns_and_right_aligns_numbers() -> None:
    table = format_table(["JOB", "ITEMS", "NOTE"], [["a", 3, "x"], ["bbb", 120, None]])
    assert table.splitlines() == [
        "JOB  ITEMS  NOTE",
        "a        3  x",
        "bbb    120",
    ]


def test_format_jobs_table_shows_the_effective_status() -> None:
    records = [
        JobRecord(
            "j2",
            "pets",
            "SUCCEEDED",
            key="pets/20261128T082740Z-batch-01-ab12cd.jsonl",
            items=3,
            labeled=3,
            lines=4,
            rejected=1,
            created="2026-11-28T08:27:43+00:00",
            finished="2026-11-28T08:28:10+00:00",
        ),
        RUNNING,
    ]
    workflows = {"j1": WorkflowView(status="FAILED", error="LabelingJobFailed")}

    lines = format_jobs_table(records, workflows).splitlines()

    assert lines[0].split() == [
        "JOB", "PROJECT", "STATUS", "LINES", "LABELED", "REJECTED", "STARTED", "FINISHED",
        "MANIFEST",
    ]  # fmt: skip
    assert lines[1].split() == [
        "j2", "pets", "SUCCEEDED", "4", "3", "1", "2026-11-28", "08:27:43", "2026-11-28",
        "08:28:10", "20261128T082740Z-batch-01-ab12cd.jsonl",
    ]  # fmt: skip
    assert lines[2].split() == ["j1", "pets", "FAILED"]


def test_format_jobs_table_takes_the_counts_of_jobs_the_table_has_none_for() -> None:
    running = JobRecord("j3", "pets", "RUNNING", key="pets/week 3.jsonl", created="2026-11-28")
    validated = {"j3": LineCounts(24, 3, {"not-json": 3}, accepted=20, blank=1)}

    lines = format_jobs_table([running], None, validated).splitlines()

    assert lines[1].split() == ["j3", "pets", "RUNNING", "24", "3", "2026-11-28", "week", "3.jsonl"]
    header = lines[0]
    assert lines[1][: header.index("REJECTED") + len("REJECTED")].endswith("   3")


def test_format_jobs_table_without_jobs_says_how_to_submit_one() -> None:
    assert "labelflow submit" in format_jobs_table([])


def test_format_job_details_of_a_failed_job() -> None:
    workflow = WorkflowView(
        status="FAILED",
        stage="Labeling job failed",
        accepted=3,
        rejected=1,
        chunks=1,
        error="LabelingJobFailed",
        cause="workers quit",
    )
    jobs = [LabelingJobView("pets-j1-0", "Failed", 1, 2, 0, "workers quit")]

    record = JobRecord(
        "j1", "pets", "RUNNING", key="pets/a.jsonl", cost={"total": 1.5, "currency": "USD"}
    )

    text = format_job_details(record, workflow, jobs)

    assert text.splitlines() == [
        "Job        j1",
        "Project    pets",
        "Status     FAILED",
        "Reason     LabelingJobFailed: workers quit",
        "Manifest   pets/a.jsonl",
        "Validated  3 accepted, 1 rejected",
        "Labeled    1 of 3 items",
        "Cost       1.5 USD",
        "Execution  FAILED at 'Labeling job failed'",
        "  pets-j1-0: Failed, 1 labeled, 2 failed, 0 unlabeled (workers quit)",
    ]


def test_format_job_details_states_the_lines_and_where_the_rejects_are() -> None:
    record = JobRecord(
        "j1",
        "pets",
        "SUCCEEDED",
        key="pets/batch.jsonl",
        items=20,
        labeled=19,
        excluded=1,
        lines=24,
        rejected=3,
    )
    validated = LineCounts(
        24,
        3,
        {"not-json": 1, "object-missing": 1, "wrong-source-for-task": 1},
        accepted=20,
        blank=1,
        rejects_uri="s3://r/jobs/j1/rejects.jsonl",
    )

    text = format_job_details(record, None, [], validated).splitlines()

    assert text[3:9] == [
        "Manifest   pets/batch.jsonl",
        "Lines      24 read: 19 labeled, 1 excluded, 3 rejected, 1 blank",
        "Rejected   not-json: 1, object-missing: 1, wrong-source-for-task: 1",
        "Rejects    s3://r/jobs/j1/rejects.jsonl",
        "Labeled    19 of 20 items",
        "Excluded   1 (no consensus or unlabeled)",
    ]


def test_format_job_details_of_a_running_job_uses_validates_result() -> None:
    validated = LineCounts(5, 1, {"duplicate": 1}, accepted=4, blank=0, rejects_uri="s3://r/x")
    workflow = WorkflowView(
        status="RUNNING", stage="Label chunks", accepted=4, rejected=1, validation=validated
    )

    text = format_job_details(RUNNING, workflow, [_labeling(2)])

    assert "Lines      5 read: 4 accepted, 1 rejected" in text.splitlines()
    assert "Rejected   duplicate: 1" in text.splitlines()
    assert "Labeled    2 of 4 items" in text.splitlines()
    assert "Validated" not in text


@pytest.mark.parametrize(
    ("cost", "shown"),
    [
        ({"total": 1.5, "currency": "USD"}, "Cost       1.5 USD"),
        (
            {"workforce": "private", "answers": 36, "workforceCostUsd": 0, "currency": "USD",
             "note": "private workforce: no per-task worker charge"},
            "Cost       0.00 USD (private workforce: no per-task worker charge)",
        ),
        ({"workforce": "public", "answers": 10, "workforceCostUsd": 0.36}, "Cost       0.36 USD"),
        (
            {"workforce": "vendor", "workforceCostUsd": None, "note": "vendor prices unknown"},
            "Cost       vendor prices unknown",
        ),
    ],
)  # fmt: skip
def test_format_job_details_shows_the_cost_as_an_amount(cost: Any, shown: str) -> None:
    record = JobRecord("j1", "pets", "SUCCEEDED", cost=cost)
    assert shown in format_job_details(record, None).splitlines()


def test_format_job_details_of_a_finished_job_gives_duration_and_outputs() -> None:
    record = JobRecord(
        "j1",
        "pets",
        "SUCCEEDED",
        created="2026-11-28T08:27:43+00:00",
        finished="2026-11-28T09:30:00+00:00",
        items=3,
        labeled=3,
        output_uri="s3://r/jobs/j1/output/output.manifest",
        report_uri="s3://r/jobs/j1/output/report.html",
    )
    text = format_job_details(record, None)
    assert "Finished   2026-11-28 09:30:00 (1h 02m 17s)" in text
    assert "Labeled    3 of 3 items" in text
    assert "Report     s3://r/jobs/j1/output/report.html" in text


REPORT: dict[str, Any] = {
    "title": "LabelFlow pets: job j1",
    "task_type": "image-classification",
    "items": 10,
    "labeled": 8,
    "no_consensus": {"total": 2, "by_reason": {"tie": 1, "duplicate answer": 1}},
    "failed": {"total": 0, "by_reason": {}},
    "unlabeled": {"total": 0, "by_reason": {}},
    "confidence": {"items": 8, "mean": 0.8123},
    "agreement": {"items": 8, "mean": 0.775},
    "workers": [
        {"worker": "w1", "answers": 10, "accuracy": 0.95},
        {"worker": "w2", "answers": 10, "accuracy": 0.55},
        {"worker": "w3", "answers": 8, "accuracy": 0.8},
        {"worker": "w4", "answers": 2, "accuracy": 0.3},
    ],
    "cost": None,
}


def test_format_report_summary() -> None:
    text = format_report_summary(REPORT, top=2)
    assert text.splitlines() == [
        "LabelFlow pets: job j1",
        "Task type      image-classification",
        "Items          10",
        "Labeled        8 (80.0%)",
        "No consensus   2 (tie: 1, duplicate answer: 1)",
        "Agreement      77.5% mean share of workers agreeing (8 items)",
        "Confidence     0.812 mean (8 items)",
        "Workers        4",
        "  most skilled:",
        "    w1  95.0% estimated accuracy, 10 answers",
        "    w3  80.0% estimated accuracy, 8 answers",
        "  least skilled:",
        "    w4  30.0% estimated accuracy, 2 answers",
        "    w2  55.0% estimated accuracy, 10 answers",
    ]


def test_format_report_summary_states_the_lines_first() -> None:
    counts = LineCounts(
        12, 2, {"not-json": 1, "no-source": 1}, accepted=10, blank=0, rejects_uri="s3://r/rej"
    )

    text = format_report_summary(REPORT, top=2, counts=counts).splitlines()

    assert text[2:7] == [
        "Lines read     12",
        "Rejected       2 (no-source: 1, not-json: 1)",
        "Rejects        s3://r/rej",
        "Items          10",
        "Labeled        8 (80.0%)",
    ]


def test_format_report_summary_says_when_no_line_was_rejected() -> None:
    counts = LineCounts(11, 0, {}, accepted=10, blank=1, rejects_uri="s3://r/rej")

    text = format_report_summary(REPORT, counts=counts).splitlines()

    assert text[2:5] == ["Lines read     11 (1 blank)", "Rejected       0", "Items          10"]


def test_format_report_summary_with_few_workers_lists_each_once() -> None:
    report = {**REPORT, "workers": REPORT["workers"][:2]}
    text = format_report_summary(report, top=3)
    assert text.count("w1 ") == 1
    assert text.count("w2 ") == 1
    assert "least skilled" not in text


def _flag(worker: str, answers: int, accuracy: float, *, chunk: int = 0) -> FlaggedWorker:
    flag = WorkerFlag(
        worker_id=worker,
        accuracy=accuracy,
        answers=answers,
        upper_bound=accuracy + 0.1,
        threshold=0.6,
        min_answers=20,
    )
    return FlaggedWorker(project="pets", job_name=f"pets-j1-{chunk}", flag=flag)


def test_format_job_details_gives_a_line_per_flagged_worker() -> None:
    flagged = [_flag("w7", 57, 0.41), _flag("w2", 30, 0.2)]

    text = format_job_details(RUNNING, None, [_labeling(2)], None, flagged).splitlines()

    start = text.index("Flagged    2 workers")
    assert text[start + 1 :] == [
        "  worker w2 flagged: accuracy 0.20 over 30 answers, below 0.60",
        "  worker w7 flagged: accuracy 0.41 over 57 answers, below 0.60",
    ]


def test_format_job_details_says_nothing_of_workers_when_none_is_flagged() -> None:
    assert "Flagged" not in format_job_details(RUNNING, None, [_labeling(2)])


def test_a_worker_flagged_in_several_labeling_jobs_is_shown_once_on_the_most_answers() -> None:
    flags = [_flag("w7", 25, 0.3, chunk=0), _flag("w7", 40, 0.35, chunk=1), _flag("w1", 20, 0.1)]

    shown = flagged_workers(flags)

    assert [(f.flag.worker_id, f.flag.answers) for f in shown] == [("w1", 20), ("w7", 40)]
