"""What the job commands (`submit`, `status`, `results`, `report`) show and decide (pure).

Everything here works on plain values the AWS side (:mod:`labelflow.jobs_aws`) fetched: the
stack's outputs, items of the jobs table, the execution and its history, labeling-job
descriptions, the quality report. Nothing here calls AWS or reads the clock.

A job's status comes from the jobs table (``PENDING`` → ``RUNNING`` → ``SUCCEEDED``, written by
the intake trigger and the Publish step). An execution that ended without publishing leaves
the item at ``RUNNING``; :func:`effective_status` then reports the execution's own status
(``FAILED``, ``TIMED_OUT``, ``ABORTED``) and its error.

What became of the manifest's lines (:class:`LineCounts`: read, accepted, rejected by reason,
blank, and where the rejects are) comes from Validate: the jobs table once the job has ended
(``lines``, ``accepted``, ``rejected``, ``blank``, ``repeated``, ``rejectedByReason``,
``rejectsUri``, written by Publish and record-failure), its ``validation.json`` in the results
bucket (written as soon as it has validated, also when it rejects the whole manifest), or the
Validate step's result in the execution history. Every summary states them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any

from gt_contracts import ContractError
from job_contracts.ids import JOB_ID_CHARS, MANIFEST_SUFFIXES
from job_contracts.layout import JobLayout
from job_contracts.steps import ValidationSummary
from job_contracts.worker_alerts import FlaggedWorker
from labelflow.options import DEFAULT_STAGE, LOCAL_STATE, CommandError
from labelflow.progress import bar

__all__ = [
    "DEFAULT_STAGE",
    "ENDED",
    "JOB_ID_PATTERN",
    "LOCAL_STATE",
    "MANIFEST_SUFFIXES",
    "CommandError",
    "JobRecord",
    "LabelingJobView",
    "LineCounts",
    "Progress",
    "StackInfo",
    "WorkflowView",
    "describe_lines",
    "describe_reasons",
    "effective_status",
    "flagged_workers",
    "format_job_details",
    "format_jobs_table",
    "format_line_counts",
    "format_report_summary",
    "format_table",
    "job_progress",
    "manifest_name",
    "output_prefix_of",
    "parse_s3_uri",
    "read_history",
    "render_bar",
    "stack_name",
    "upload_key",
]

#: Job statuses after which nothing changes any more.
ENDED = frozenset({"SUCCEEDED", "FAILED", "STOPPED", "TIMED_OUT", "ABORTED"})
_EXECUTION_ENDED = frozenset({"FAILED", "TIMED_OUT", "ABORTED"})
_UNSAFE_KEY_CHARS = re.compile(r"[^A-Za-z0-9._-]+")
#: A whole job id as the intake trigger names jobs (:func:`job_contracts.ids.job_id`).
JOB_ID_PATTERN = re.compile(rf"[0-9a-f]{{{JOB_ID_CHARS}}}")


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
    """The job's output folder in the results bucket (:attr:`JobLayout.output_prefix`)."""
    if output_uri:
        _bucket, key = parse_s3_uri(output_uri)
        return key.rsplit("/", 1)[0] + "/"
    return JobLayout(job_id).output_prefix


def manifest_name(project: str, key: str) -> str:
    """The manifest's key without the project's folder (``pets/``).

    >>> manifest_name("pets", "pets/2026/batch.jsonl")
    '2026/batch.jsonl'
    """
    return key.removeprefix(f"{project}/") if project else key


# -- what became of the manifest's lines ------------------------------------------------------


@dataclass(frozen=True)
class LineCounts:
    """What Validate made of a manifest's lines, as far as the source says.

    ``lines`` counts every line read, blank ones included; ``rejected`` those refused, by
    reason in ``by_reason``. ``accepted`` and ``blank`` are ``None`` when the source does not
    carry them (a jobs-table item may have ``lines`` and ``rejected`` only). ``rejects_uri`` is the
    ``s3://`` URI of the rejects file (one ``{"line", "reason", "detail", ...}`` per line),
    ``manifest`` that of the manifest, when known. ``repeated`` counts accepted lines whose
    source an earlier line already had (each is labeled, as Ground Truth does).
    """

    lines: int
    rejected: int
    by_reason: Mapping[str, int] = field(default_factory=dict)
    accepted: int | None = None
    blank: int | None = None
    rejects_uri: str = ""
    manifest: str = ""
    repeated: int | None = None

    @classmethod
    def from_summary(cls, summary: ValidationSummary) -> LineCounts:
        """Validate's counts (``validation.json``, Validate's result, report.json's block)."""
        return cls(
            lines=summary.lines,
            rejected=summary.rejected,
            by_reason=dict(summary.by_reason or {}),
            accepted=summary.accepted,
            blank=summary.blank,
            rejects_uri=summary.rejects_uri or "",
            manifest=summary.manifest or "",
            repeated=summary.repeated,
        )

    @classmethod
    def parse(cls, raw: object, *, where: str) -> LineCounts:
        """Parse Validate's counts (:meth:`ValidationSummary.from_json`'s shape).

        Raises:
            CommandError: ``raw`` is not that shape; the message names ``where`` it is from.
        """
        try:
            summary = ValidationSummary.from_json(raw)
        except ContractError as exc:
            raise CommandError(f"{where} is not a validation summary: {exc}") from None
        if summary is None:
            raise CommandError(f"{where} is not a validation summary: it is null")
        return cls.from_summary(summary)

    def completed(self, *, rejects_uri: str, manifest: str) -> LineCounts:
        """These counts, with the rejects' and the manifest's URIs where they are missing."""
        return replace(
            self,
            rejects_uri=self.rejects_uri or rejects_uri,
            manifest=self.manifest or manifest,
        )

    def to_json(self) -> dict[str, Any]:
        """The shape of ``validation.json`` and report.json's ``validation`` (``null`` for
        what is not known)."""
        return {
            "manifest": self.manifest or None,
            "lines": self.lines,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "blank": self.blank,
            "byReason": dict(self.by_reason),
            "rejectsUri": self.rejects_uri or None,
            "repeated": self.repeated,
        }


def describe_reasons(by_reason: Mapping[str, int]) -> str:
    """``reason: count`` pairs, most frequent first (ties by name).

    >>> describe_reasons({"object-missing": 1, "not-json": 2, "duplicate": 1})
    'not-json: 2, duplicate: 1, object-missing: 1'
    """
    ranked = sorted(by_reason.items(), key=lambda kv: (-kv[1], kv[0]))
    return ", ".join(f"{reason}: {count}" for reason, count in ranked)


def describe_lines(
    counts: LineCounts, *, labeled: int | None = None, excluded: int | None = None
) -> str:
    """The lines in one phrase: read, then labeled (or accepted), excluded, rejected, blank.

    >>> counts = LineCounts(24, 3, {"not-json": 3}, accepted=20, blank=1)
    >>> describe_lines(counts, labeled=19, excluded=1)
    '24 read: 19 labeled, 1 excluded, 3 rejected, 1 blank'
    >>> describe_lines(counts)
    '24 read: 20 accepted, 3 rejected, 1 blank'
    """
    parts = []
    if labeled is not None:
        parts.append(f"{labeled} labeled")
        if excluded:
            parts.append(f"{excluded} excluded")
    elif counts.accepted is not None:
        parts.append(f"{counts.accepted} accepted")
    parts.append(f"{counts.rejected} rejected")
    if counts.blank:
        parts.append(f"{counts.blank} blank")
    return f"{counts.lines} read: " + ", ".join(parts)


def format_line_counts(
    counts: LineCounts,
    *,
    labeled: int | None = None,
    excluded: int | None = None,
    width: int = 11,
) -> list[str]:
    """The lines, the rejects by reason and where they are, as ``Title  value`` lines.

    >>> counts = LineCounts(4, 1, {"not-json": 1}, accepted=3, rejects_uri="s3://r/rejects.jsonl")
    >>> for line in format_line_counts(counts, labeled=3):
    ...     print(line)
    Lines      4 read: 3 labeled, 1 rejected
    Rejected   not-json: 1
    Rejects    s3://r/rejects.jsonl
    """
    lines = [f"{'Lines':<{width}}{describe_lines(counts, labeled=labeled, excluded=excluded)}"]
    if counts.repeated:
        lines.append(
            f"{'Repeated':<{width}}{counts.repeated} lines repeat an earlier line's source "
            "(each is labeled)"
        )
    if counts.rejected:
        if counts.by_reason:
            lines.append(f"{'Rejected':<{width}}{describe_reasons(counts.by_reason)}")
        if counts.rejects_uri:
            lines.append(f"{'Rejects':<{width}}{counts.rejects_uri}")
    return lines


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
    bucket: str = ""
    lines: int | None = None
    rejected: int | None = None
    rejected_by_reason: Mapping[str, int] | None = None
    accepted: int | None = None
    blank: int | None = None
    repeated: int | None = None
    rejects_uri: str = ""

    @property
    def line_counts(self) -> LineCounts | None:
        """What the table says of the manifest's lines (set once the job has ended)."""
        if self.lines is None:
            return None
        return LineCounts(
            self.lines,
            self.rejected or 0,
            dict(self.rejected_by_reason or {}),
            accepted=self.accepted,
            blank=self.blank,
            rejects_uri=self.rejects_uri,
            repeated=self.repeated,
        )

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

        reasons = values.get("rejectedByReason")
        by_reason = (
            {str(k): int(v) for k, v in reasons.items() if isinstance(v, int | float)}
            if isinstance(reasons, Mapping)
            else None
        )

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
            bucket=text("bucket"),
            lines=count("lines"),
            rejected=count("rejected"),
            rejected_by_reason=by_reason,
            accepted=count("accepted"),
            blank=count("blank"),
            repeated=count("repeated"),
            rejects_uri=text("rejectsUri"),
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
    validation: LineCounts | None = None


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
    counts = "" if progress.fraction is None else f"  {progress.done}/{progress.total} labeled"
    parts = [f"{bar(progress.fraction, width)}{counts}", progress.status]
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
    records: Sequence[JobRecord],
    workflows: Mapping[str, WorkflowView] | None = None,
    counts: Mapping[str, LineCounts] | None = None,
) -> str:
    """The recent-jobs table: id, project, status, lines read, labeled, rejected, started,
    finished and the manifest's name.

    ``counts`` holds what is known of the lines of jobs whose table item has no counts yet.
    """
    if not records:
        return "No jobs yet. Submit one with: labelflow submit <project> manifest.jsonl"
    views = workflows or {}
    known = counts or {}
    rows = []
    for record in records:
        status, _ = effective_status(record, views.get(record.job_id))
        lines = record.line_counts or known.get(record.job_id)
        rows.append(
            [
                record.job_id,
                record.project,
                status,
                lines.lines if lines else None,
                record.labeled,
                lines.rejected if lines else None,
                _short_time(record.created),
                _short_time(record.finished),
                manifest_name(record.project, record.key),
            ]
        )
    headers = ["JOB", "PROJECT", "STATUS", "LINES", "LABELED", "REJECTED", "STARTED", "FINISHED"]
    return format_table([*headers, "MANIFEST"], rows)


def _duration(start: str, end: str) -> str:
    try:
        seconds = (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
    except ValueError:
        return ""
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m {secs:02d}s" if hours else f"{minutes}m {secs:02d}s"


def _cost_text(cost: Any) -> str:
    """A cost block in a few words: the report's ``total``, or the job's workforce cost.

    >>> _cost_text({"workforceCostUsd": 1.5, "currency": "USD", "note": "public workforce"})
    '1.50 USD (public workforce)'
    """
    if isinstance(cost, Mapping) and "total" in cost:
        return f"{cost['total']} {cost.get('currency', '')}".strip()
    if isinstance(cost, Mapping) and isinstance(cost.get("workforceCostUsd"), int | float):
        amount = f"{float(cost['workforceCostUsd']):.2f} {cost.get('currency') or 'USD'}"
        return f"{amount} ({cost['note']})" if cost.get("note") else amount
    if isinstance(cost, Mapping) and cost.get("note"):
        return str(cost["note"])
    return str(cost)


def flagged_workers(flags: Iterable[FlaggedWorker]) -> list[FlaggedWorker]:
    """One flag per worker, by worker id: the one on the most answers when several labeling
    jobs of the job flagged the same worker."""
    best: dict[str, FlaggedWorker] = {}
    for flag in flags:
        seen = best.get(flag.flag.worker_id)
        if seen is None or flag.flag.answers > seen.flag.answers:
            best[flag.flag.worker_id] = flag
    return [best[worker] for worker in sorted(best)]


def format_job_details(
    record: JobRecord,
    workflow: WorkflowView | None,
    labeling_jobs: Sequence[LabelingJobView] = (),
    counts: LineCounts | None = None,
    flagged: Sequence[FlaggedWorker] = (),
) -> str:
    """Everything known about one job, one fact per line.

    ``counts`` are the manifest's lines (:class:`LineCounts`) when known; without them, those
    of the jobs table or of the Validate step are shown. ``flagged`` are the workers flagged in
    the job's labeling jobs, one line each (:func:`flagged_workers`).
    """
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
    counts = counts or record.line_counts or (workflow.validation if workflow else None)
    if counts is not None:
        done = record.status == "SUCCEEDED" and record.labeled is not None
        lines += format_line_counts(
            counts,
            labeled=record.labeled if done else None,
            excluded=record.excluded if done else None,
        )
    elif workflow and workflow.accepted is not None:
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
    workers = flagged_workers(flagged)
    if workers:
        lines.append(f"Flagged    {len(workers)} worker{'s' if len(workers) != 1 else ''}")
        lines += [f"  {worker.sentence()}" for worker in workers]
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


def format_report_summary(
    report: Mapping[str, Any], *, top: int = 3, counts: LineCounts | None = None
) -> str:
    """The quality report (report.json) in a few readable lines.

    The manifest's lines (``counts``: read, rejected by reason, blank, where the rejects
    are), then items, labeled and no-consensus counts (with their main reasons), mean worker
    agreement and confidence, and the ``top`` most and least skilled workers.
    """
    items = int(report.get("items", 0))
    labeled = int(report.get("labeled", 0))
    lines = [str(report.get("title") or "Quality report")]
    if report.get("task_type"):
        lines.append(f"Task type      {report['task_type']}")
    if counts is not None:
        blank = f" ({counts.blank} blank)" if counts.blank else ""
        lines.append(f"Lines read     {counts.lines}{blank}")
        reasons = f" ({describe_reasons(counts.by_reason)})" if counts.by_reason else ""
        lines.append(f"Rejected       {counts.rejected}{reasons}")
        if counts.rejected and counts.rejects_uri:
            lines.append(f"Rejects        {counts.rejects_uri}")
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
