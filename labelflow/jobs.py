"""What the job commands (`submit`, `status`, `results`, `report`) show and decide (pure).

Everything here works on plain values the AWS side (:mod:`labelflow.jobs_aws`) fetched: the
stack's outputs, items of the jobs table, the execution and its history, labeling-job
descriptions, the quality report. Nothing here calls AWS or reads the clock.

A job's status comes from the jobs table (``PENDING`` → ``RUNNING`` → ``SUCCEEDED``, written by
the intake trigger and the Publish step). An execution that ended without publishing leaves
the item at ``RUNNING``; :func:`effective_status` then reports the execution's own status
(``FAILED``, ``TIMED_OUT``, ``ABORTED``) and its error.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

__all__ = [
    "DEFAULT_STAGE",
    "ENDED",
    "LOCAL_STATE",
    "MANIFEST_SUFFIXES",
    "CommandError",
    "JobRecord",
    "LabelingJobView",
    "Progress",
    "StackInfo",
    "WorkflowView",
    "effective_status",
    "format_job_details",
    "format_jobs_table",
    "format_report_summary",
    "format_table",
    "job_progress",
    "output_prefix_of",
    "parse_s3_uri",
    "read_history",
    "render_bar",
    "stack_name",
    "upload_key",
]

DEFAULT_STAGE = "dev"
#: Where `labelflow local up` writes the emulator's endpoint and the stack's outputs.
LOCAL_STATE = Path(".labelflow/local.json")
#: Keys the intake trigger accepts as manifests (start_job.logic.MANIFEST_SUFFIXES).
MANIFEST_SUFFIXES = (".jsonl", ".manifest")
#: Job statuses after which nothing changes any more.
ENDED = frozenset({"SUCCEEDED", "FAILED", "STOPPED", "TIMED_OUT", "ABORTED"})
_EXECUTION_ENDED = frozenset({"FAILED", "TIMED_OUT", "ABORTED"})
_UNSAFE_KEY_CHARS = re.compile(r"[^A-Za-z0-9._-]+")
#: A whole job id as the intake trigger names jobs (``job_contracts.ids.job_id``).
JOB_ID_PATTERN = re.compile(r"[0-9a-f]{16}")


class CommandError(Exception):
    """A problem the user can fix; the message says what it is and how."""


def stack_name(stage: str) -> str:
    """The stack id of a stage, as `infra.assembly.stack_id` builds it."""
    return f"labelflow-{stage}-Labeling"


@dataclass(frozen=True)
class StackInfo:
    """A deployed LabelFlow stack: its name and outputs, and where it was found.

    ``endpoint_url`` is set for the local emulator; ``where`` describes the place for
    messages (``region us-east-1, profile default`` or ``local emulator at http://...``).
    """

    name: str
    outputs: Mapping[str, str]
    region: str
    where: str
    endpoint_url: str | None = None

    def output(self, key: str) -> str:
        """One output; a stack without it was deployed without the job workflow."""
        value = self.outputs.get(key)
        if not value:
            raise CommandError(
                f"stack {self.name} ({self.where}) has no output {key}: the job workflow is "
                "deployed only when the stage names a work team (-c workteam_arn=...)"
            )
        return value

    @property
    def projects(self) -> tuple[str, ...]:
        """Configured projects (the ``ProjectNames`` output), or () when unknown."""
        raw = self.outputs.get("ProjectNames", "")
        return tuple(name for name in raw.split(",") if name)


def upload_key(project: str, filename: str, moment: datetime, token: str) -> str:
    """A fresh intake key for one upload: ``<project>/<UTC time>-<name>-<token><suffix>``.

    The suffix is kept when it is one the intake trigger accepts, else ``.jsonl`` is used;
    characters that are awkward in S3 keys become ``-``.

    >>> from datetime import UTC, datetime
    >>> upload_key("pets", "batch 1.jsonl", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), "ab12")
    'pets/20260102T030405Z-batch-1-ab12.jsonl'
    """
    name = PurePosixPath(filename.replace("\\", "/")).name
    known = next((suffix for suffix in MANIFEST_SUFFIXES if name.endswith(suffix)), None)
    stem = name[: -len(known)] if known else name
    suffix = known or ".jsonl"
    stem = _UNSAFE_KEY_CHARS.sub("-", stem).strip("-")[:80] or "manifest"
    return f"{project}/{moment.strftime('%Y%m%dT%H%M%SZ')}-{stem}-{token}{suffix}"


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` → ``(bucket, key)``."""
    if not uri.startswith("s3://") or "/" not in uri[5:]:
        raise CommandError(f"not an s3://bucket/key URI: {uri!r}")
    bucket, _, key = uri[5:].partition("/")
    return bucket, key


def output_prefix_of(job_id: str, output_uri: str | None = None) -> str:
    """The job's output folder in the results bucket (publish_job.logic.output_prefix)."""
    if output_uri:
        _bucket, key = parse_s3_uri(output_uri)
        return key.rsplit("/", 1)[0] + "/"
    return f"jobs/{job_id}/output/"


# -- the jobs table ---------------------------------------------------------------------------


def _attribute(value: Mapping[str, Any] | None) -> Any:
    """A DynamoDB attribute value as Python (strings, numbers, maps; the shapes the table uses)."""
    if not value:
        return None
    if "S" in value:
        return value["S"]
    if "N" in value:
        number = float(value["N"])
        return int(number) if number.is_integer() else number
    if "BOOL" in value:
        return bool(value["BOOL"])
    if "M" in value:
        return {key: _attribute(item) for key, item in value["M"].items()}
    if "L" in value:
        return [_attribute(item) for item in value["L"]]
    return None


@dataclass(frozen=True)
class JobRecord:
    """One item of the jobs table."""

    job_id: str
    project: str
    status: str
    key: str = ""
    created: str = ""
    finished: str = ""
    items: int | None = None
    labeled: int | None = None
    excluded: int | None = None
    execution_arn: str = ""
    output_uri: str = ""
    report_uri: str = ""
    cost: Any = None
    error: str = ""
    reason: str = ""

    @classmethod
    def from_item(cls, item: Mapping[str, Mapping[str, Any]]) -> JobRecord:
        """Parse a DynamoDB item (as GetItem/Scan return it)."""
        values = {name: _attribute(value) for name, value in item.items()}

        def text(name: str) -> str:
            value = values.get(name)
            return str(value) if value is not None else ""

        def count(name: str) -> int | None:
            value = values.get(name)
            return int(value) if isinstance(value, int | float) else None

        return cls(
            job_id=text("jobId"),
            project=text("project"),
            status=text("status") or "UNKNOWN",
            key=text("key"),
            created=text("createdAt"),
            finished=text("finishedAt"),
            items=count("items"),
            labeled=count("labeled"),
            excluded=count("excluded"),
            execution_arn=text("executionArn"),
            output_uri=text("outputUri"),
            report_uri=text("reportUri"),
            cost=values.get("cost"),
            error=text("error"),
            reason=text("reason"),
        )


# -- the execution ----------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkflowView:
    """What the execution's description and history say about a job."""

    status: str = ""
    stage: str = ""
    accepted: int | None = None
    rejected: int | None = None
    chunks: int | None = None
    error: str = ""
    cause: str = ""
    started: str = ""
    stopped: str = ""


def _json(text: Any) -> Any:
    if not isinstance(text, str):
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def read_history(events: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The current stage, the Validate step's summary and any failure, from a history.

    Returns ``{"stage", "validation", "error", "cause"}``: ``stage`` is the name of the last
    state entered; ``validation`` the Validate function's result (``lines``, ``accepted``,
    ``rejected``, ``chunks``...) once it ran; ``error``/``cause`` those of the last failure event.
    """
    stage = ""
    validation: dict[str, Any] | None = None
    error = cause = ""
    for event in events:
        kind = str(event.get("type", ""))
        if kind.endswith("StateEntered"):
            stage = str(event.get("stateEnteredEventDetails", {}).get("name", stage))
        if kind == "LambdaFunctionSucceeded" and validation is None:
            output = _json(event.get("lambdaFunctionSucceededEventDetails", {}).get("output"))
            if isinstance(output, dict) and "accepted" in output and "chunks" in output:
                validation = output
        if kind.endswith("Failed") or kind.endswith("TimedOut") or kind.endswith("Aborted"):
            details: Any = next(
                (value for name, value in event.items() if name.endswith("EventDetails")), {}
            )
            if isinstance(details, Mapping) and (details.get("error") or details.get("cause")):
                error = str(details.get("error", ""))
                cause = str(details.get("cause", ""))
    return {"stage": stage, "validation": validation, "error": error, "cause": cause}


def _reason(error: str, cause: str) -> str:
    """A failure's reason; a JSON cause (a Lambda error) gives its message."""
    parsed = _json(cause)
    if isinstance(parsed, dict) and parsed.get("errorMessage"):
        cause = str(parsed["errorMessage"])
    return ": ".join(part for part in (error, cause) if part) or "no reason given"


def effective_status(record: JobRecord, workflow: WorkflowView | None) -> tuple[str, str]:
    """The job's status and, for a job that ended badly, its reason.

    The table's status (and the error and reason the workflow recorded there) wins unless
    the execution ended without the job being published or recorded.
    """
    if record.status in ENDED and record.status != "SUCCEEDED":
        return record.status, _reason(record.error, record.reason)
    if record.status in ENDED or workflow is None:
        return record.status, ""
    if workflow.status in _EXECUTION_ENDED:
        return workflow.status, _reason(workflow.error, workflow.cause)
    return record.status, ""


@dataclass(frozen=True)
class LabelingJobView:
    """One chunk's labeling job (DescribeLabelingJob)."""

    name: str
    status: str
    labeled: int = 0
    failed: int = 0
    unlabeled: int = 0
    failure_reason: str = ""

    @classmethod
    def from_description(cls, description: Mapping[str, Any]) -> LabelingJobView:
        counters = description.get("LabelCounters") or {}
        return cls(
            name=str(description.get("LabelingJobName", "")),
            status=str(description.get("LabelingJobStatus", "")),
            labeled=int(counters.get("TotalLabeled", 0)),
            failed=int(counters.get("FailedNonRetryableError", 0)),
            unlabeled=int(counters.get("Unlabeled", 0)),
            failure_reason=str(description.get("FailureReason", "")),
        )


# -- progress ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    """How far a job is: items labeled of a known total, or else only its stage."""

    status: str
    stage: str = ""
    done: int | None = None
    total: int | None = None

    @property
    def fraction(self) -> float | None:
        """Share of items labeled, when the total is known (1.0 for an empty job)."""
        if self.total is None or self.done is None:
            return None
        if self.total <= 0:
            return 1.0
        return min(1.0, max(0.0, self.done / self.total))

    @property
    def ended(self) -> bool:
        return self.status in ENDED


def job_progress(
    record: JobRecord,
    workflow: WorkflowView | None,
    labeling_jobs: Sequence[LabelingJobView] = (),
) -> Progress:
    """The progress of a job from everything known about it.

    A published job counts its published items; a running job counts the items its labeling
    jobs have labeled of the items Validate accepted. Before Validate has run, only the
    stage is known.
    """
    status, _reason_text = effective_status(record, workflow)
    stage = workflow.stage if workflow else ""
    if record.status == "SUCCEEDED" and record.items is not None:
        return Progress(status, stage or "Labeled", record.labeled or 0, record.items)
    total = workflow.accepted if workflow else None
    done = sum(job.labeled for job in labeling_jobs) if total is not None else None
    return Progress(status, stage, done, total)


def render_bar(progress: Progress, width: int = 30) -> str:
    """One line: a bar and ``done/total labeled`` when the total is known, plus the stage.

    >>> render_bar(Progress("RUNNING", "Label chunks", 3, 12), width=12)
    '[###.........]  3/12 labeled  RUNNING  Label chunks'
    >>> render_bar(Progress("RUNNING", "Validate manifest"), width=12)
    '[    ...     ]  RUNNING  Validate manifest'
    """
    fraction = progress.fraction
    if fraction is None:
        bar = "...".center(width)
        counts = ""
    else:
        filled = math.floor(fraction * width)
        bar = "#" * filled + "." * (width - filled)
        counts = f"  {progress.done}/{progress.total} labeled"
    parts = [f"[{bar}]{counts}", progress.status]
    if progress.stage:
        parts.append(progress.stage)
    return "  ".join(parts)


# -- tables and details -----------------------------------------------------------------------


def format_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A plain-text table: columns padded to their widest cell, numbers aligned right.

    >>> print(format_table(["id", "items"], [["a", 3], ["bb", 12]]))
    id  items
    a       3
    bb     12
    """
    cells = [["" if value is None else str(value) for value in row] for row in rows]
    widths = [len(header) for header in headers]
    for row in cells:
        for index, cell in enumerate(row):
            widths[index] = max(widths[index], len(cell))
    right = [
        bool(cells) and all(_is_number(row[i]) or row[i] == "" for row in cells)
        for i in range(len(headers))
    ]

    def line(values: Sequence[str]) -> str:
        padded = [
            value.rjust(widths[i]) if right[i] else value.ljust(widths[i])
            for i, value in enumerate(values)
        ]
        return "  ".join(padded).rstrip()

    return "\n".join([line(list(headers)), *(line(row) for row in cells)])


def _is_number(text: str) -> bool:
    return bool(re.fullmatch(r"-?\d+(\.\d+)?", text))


def _short_time(value: str) -> str:
    """``2026-11-28T08:27:43+00:00`` → ``2026-11-28 08:27:43``."""
    return value.replace("T", " ").removesuffix("+00:00").removesuffix("Z")


def format_jobs_table(
    records: Sequence[JobRecord], workflows: Mapping[str, WorkflowView] | None = None
) -> str:
    """The recent-jobs table: id, project, status, items, labeled, started, finished."""
    if not records:
        return "No jobs yet. Submit one with: labelflow submit <project> manifest.jsonl"
    views = workflows or {}
    rows = []
    for record in records:
        status, _ = effective_status(record, views.get(record.job_id))
        rows.append(
            [
                record.job_id,
                record.project,
                status,
                record.items,
                record.labeled,
                _short_time(record.created),
                _short_time(record.finished),
            ]
        )
    return format_table(
        ["JOB", "PROJECT", "STATUS", "ITEMS", "LABELED", "STARTED", "FINISHED"], rows
    )


def _duration(start: str, end: str) -> str:
    try:
        seconds = (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
    except ValueError:
        return ""
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m {secs:02d}s" if hours else f"{minutes}m {secs:02d}s"


def _cost_text(cost: Any) -> str:
    if isinstance(cost, Mapping) and "total" in cost:
        return f"{cost['total']} {cost.get('currency', '')}".strip()
    return str(cost)


def format_job_details(
    record: JobRecord,
    workflow: WorkflowView | None,
    labeling_jobs: Sequence[LabelingJobView] = (),
) -> str:
    """Everything known about one job, one fact per line."""
    status, reason = effective_status(record, workflow)
    progress = job_progress(record, workflow, labeling_jobs)
    lines = [
        f"Job        {record.job_id}",
        f"Project    {record.project}",
        f"Status     {status}",
    ]
    if reason:
        lines.append(f"Reason     {reason}")
    if record.key:
        lines.append(f"Manifest   {record.key}")
    if workflow and workflow.accepted is not None:
        rejected = f", {workflow.rejected} rejected" if workflow.rejected else ""
        lines.append(f"Validated  {workflow.accepted} accepted{rejected}")
    if progress.total is not None:
        lines.append(f"Labeled    {progress.done} of {progress.total} items")
    if record.excluded:
        lines.append(f"Excluded   {record.excluded} (no consensus or unlabeled)")
    if record.created:
        lines.append(f"Started    {_short_time(record.created)}")
    if record.finished:
        took = _duration(record.created, record.finished)
        lines.append(f"Finished   {_short_time(record.finished)}" + (f" ({took})" if took else ""))
    if record.cost is not None:
        lines.append(f"Cost       {_cost_text(record.cost)}")
    if workflow and workflow.status:
        stage = f" at {workflow.stage!r}" if workflow.stage else ""
        lines.append(f"Execution  {workflow.status}{stage}")
    for job in labeling_jobs:
        failed = f", {job.failed} failed" if job.failed else ""
        lines.append(
            f"  {job.name}: {job.status}, {job.labeled} labeled{failed}, "
            f"{job.unlabeled} unlabeled"
            + (f" ({job.failure_reason})" if job.failure_reason else "")
        )
    if record.output_uri:
        lines.append(f"Output     {record.output_uri}")
    if record.report_uri:
        lines.append(f"Report     {record.report_uri}")
    return "\n".join(lines)


# -- the quality report -----------------------------------------------------------------------


def _percent(value: Any) -> str:
    return f"{float(value) * 100:.1f}%" if isinstance(value, int | float) else "n/a"


@dataclass(frozen=True)
class _Worker:
    worker: str
    answers: int
    accuracy: float


def format_report_summary(report: Mapping[str, Any], *, top: int = 3) -> str:
    """The quality report (report.json) in a few readable lines.

    Items, labeled and no-consensus counts (with their main reasons), mean worker agreement
    and confidence, and the ``top`` most and least skilled workers.
    """
    items = int(report.get("items", 0))
    labeled = int(report.get("labeled", 0))
    lines = [str(report.get("title") or "Quality report")]
    if report.get("task_type"):
        lines.append(f"Task type      {report['task_type']}")
    share = f" ({labeled / items:.1%})" if items else ""
    lines.append(f"Items          {items}")
    lines.append(f"Labeled        {labeled}{share}")
    for name, title in (
        ("no_consensus", "No consensus"),
        ("failed", "Failed"),
        ("unlabeled", "Unlabeled"),
    ):
        block = report.get(name) or {}
        total = int(block.get("total", 0)) if isinstance(block, Mapping) else 0
        if total or name == "no_consensus":
            reasons = block.get("by_reason", {}) if isinstance(block, Mapping) else {}
            detail = ", ".join(f"{reason}: {count}" for reason, count in list(reasons.items())[:3])
            lines.append(f"{title:<15}{total}" + (f" ({detail})" if detail else ""))
    agreement = report.get("agreement") or {}
    if isinstance(agreement, Mapping) and agreement.get("items"):
        lines.append(
            f"Agreement      {_percent(agreement.get('mean'))} mean share of workers agreeing "
            f"({agreement['items']} items)"
        )
    confidence = report.get("confidence") or {}
    if isinstance(confidence, Mapping) and confidence.get("items"):
        mean = confidence.get("mean")
        lines.append(
            f"Confidence     {float(mean):.3f} mean ({confidence['items']} items)"
            if isinstance(mean, int | float)
            else "Confidence     n/a"
        )
    workers = [
        _Worker(str(w.get("worker")), int(w.get("answers", 0)), float(w.get("accuracy", 0.0)))
        for w in report.get("workers") or []
        if isinstance(w, Mapping) and isinstance(w.get("accuracy"), int | float)
    ]
    if workers:
        ranked = sorted(workers, key=lambda w: (-w.accuracy, -w.answers, w.worker))
        lines.append(f"Workers        {len(workers)}")
        best = ranked[:top]
        worst = [w for w in reversed(ranked[-top:]) if w not in best]
        for title, chosen in (("most skilled", best), ("least skilled", worst)):
            if chosen:
                lines.append(f"  {title}:")
                lines.extend(
                    f"    {w.worker}  {_percent(w.accuracy)} estimated accuracy, "
                    f"{w.answers} answers"
                    for w in chosen
                )
    cost = report.get("cost")
    if isinstance(cost, Mapping) and "total" in cost:
        lines.append(f"Cost           {_cost_text(cost)}")
    return "\n".join(lines)
