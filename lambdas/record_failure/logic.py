"""Why a job failed, in words an ML team can act on (pure).

The job workflow catches every error that ends a job and invokes the record-failure function
with :class:`job_contracts.steps.FailureRequest`::

    {"jobId": "<job id>", "project": "<project>", "error": "<error name>",
     "cause": "<error cause>", "chunks": [{"index": 0, ...}, ...],   # chunks: optional
     "validation": {...}}                                          # optional

``chunks`` and ``validation`` are present once the manifest has been validated. A
Distributed Map reports a failed chunk only as ``States.ExceedToleratedFailureThreshold``, so
the labeling jobs of the chunks are described to find which ended how (:class:`ChunkJob`), and
:func:`summarize` turns all of it into the job's final record: status ``STOPPED`` when labeling
jobs were stopped and none failed, ``FAILED`` otherwise, the error name and one reason naming
each failed chunk (or each chunk whose labeling job was never created). Step Functions' own
error names (``States.*``, reserved to it) become ``JobFailed``, with the original named in
the reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from job_contracts.steps import FailureRequest, ValidationSummary

__all__ = [
    "MAX_REASON",
    "ChunkJob",
    "FailureRecord",
    "involves_labeling_jobs",
    "summarize",
]

#: Fail states take causes of up to 32,768 characters; the record keeps its reason below that.
MAX_REASON = 8000
_MAP_FAILED = "States.ExceedToleratedFailureThreshold"
_RESERVED = "States."
_ENDED_BADLY = {"Failed", "Stopped"}


def involves_labeling_jobs(request: FailureRequest) -> bool:
    """Whether the error came from the chunks' labeling jobs (so they are described)."""
    return bool(request.chunk_indexes) and (
        request.error == _MAP_FAILED or request.error.startswith("LabelingJob")
    )


@dataclass(frozen=True, slots=True)
class ChunkJob:
    """One chunk's labeling job as SageMaker describes it (``status`` None: never created)."""

    index: int
    job_name: str
    status: str | None
    failure_reason: str = ""


@dataclass(frozen=True, slots=True)
class FailureRecord:
    """The job's final record."""

    status: str
    error: str
    reason: str
    failed_chunks: tuple[int, ...]

    def as_dict(
        self, request: FailureRequest, validation: ValidationSummary | None
    ) -> dict[str, Any]:
        """The record as the step returns it and as notifications carry it.

        ``validation`` (what Validate counted, when it got that far) is carried as
        ``"validation"``, so whoever submitted the manifest sees its rejected lines.
        """
        return {
            "jobId": request.job_id,
            "project": request.project,
            "status": self.status,
            "error": self.error,
            "reason": self.reason,
            "failedChunks": list(self.failed_chunks),
            "validation": None if validation is None else validation.to_json(),
        }


def summarize(request: FailureRequest, jobs: Sequence[ChunkJob]) -> FailureRecord:
    """The final record of a job that ended with ``request.error``.

    Args:
        request: the parsed event.
        jobs: the chunks' labeling jobs, described (empty when none were looked at).
    """
    ended = [job for job in jobs if job.status in _ENDED_BADLY]
    if not ended:
        status = "STOPPED" if request.error == "LabelingJobStopped" else "FAILED"
        cause = request.cause.strip()
        missing = [job for job in jobs if job.status is None]
        parts = [
            f"chunk {job.index} (labeling job {job.job_name}) was never created" for job in missing
        ]
        if request.error.startswith(_RESERVED):
            # The States. prefix is Step Functions' own; the job's error gets LabelFlow's name
            # and keeps the original in its reason.
            parts.append(f"{request.error}: {cause}" if cause else request.error)
            error = "JobFailed"
        else:
            parts.append(cause or f"the job ended with {request.error}")
            error = request.error
        never = tuple(job.index for job in missing)
        return FailureRecord(status, error, _cut("; ".join(parts)), never)
    failed = [job for job in ended if job.status == "Failed"]
    status = "FAILED" if failed else "STOPPED"
    error = "LabelingJobFailed" if failed else "LabelingJobStopped"
    parts = []
    for job in ended:
        verb = "failed" if job.status == "Failed" else "was stopped"
        detail = f": {job.failure_reason.strip()}" if job.failure_reason.strip() else ""
        parts.append(f"chunk {job.index} (labeling job {job.job_name}) {verb}{detail}")
    others = len(jobs) - len(ended)
    if others:
        parts.append(f"{others} other chunk(s) did not end badly; their output is kept")
    return FailureRecord(status, error, _cut("; ".join(parts)), tuple(j.index for j in ended))


def _cut(text: str) -> str:
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 1] + "…"
