"""What the reconciliation sweep does with one waiting labeling job (pure).

Each item of the tokens table (``jobName -> taskToken``, written by the StartLabelingJob step)
is a workflow step waiting for its labeling job to end. :func:`decide` turns the job's
``DescribeLabelingJob`` response, or the fact that SageMaker does not know the job, into a
:class:`Resume` (send this outcome with the token) or a :class:`Wait` (leave the step waiting):

* the job ended (``Completed``, ``Failed``, ``Stopped``): resume with exactly what the
  job-events function sends (:func:`job_contracts.tokens.labeling_job_outcome`);
* the job has not ended (``Initializing``, ``InProgress``, ``Stopping``): wait;
* SageMaker does not know the job (``ResourceNotFound``/``ValidationException``): the token
  is stored just before the job is created, so within :data:`MISSING_JOB_GRACE_SECONDS` of
  the token's write the job may simply not exist yet (wait); after that the step fails with
  error :data:`MISSING_JOB_ERROR`.

:func:`classify_error` sorts a SageMaker or Step Functions error code into ``"missing"``,
``"throttled"`` (the sweep stops and the next run continues) or ``"error"``, and
:func:`tally` counts what happened to each item for the sweep's log and result.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from job_contracts.tokens import (
    THROTTLING_ERRORS,
    Failure,
    Success,
    WaitingStep,
    labeling_job_outcome,
)

__all__ = [
    "MISSING_JOB_ERROR",
    "MISSING_JOB_GRACE_SECONDS",
    "ErrorKind",
    "Resume",
    "RowOutcome",
    "StopReason",
    "SweepReport",
    "Wait",
    "classify_error",
    "decide",
    "tally",
]

#: The error a step fails with when SageMaker does not know its labeling job.
MISSING_JOB_ERROR = "LabelingJobMissing"
#: How long after its token was stored a job SageMaker does not know is still waited for.
#: StartLabelingJob stores the token, then creates the job within the same invocation
#: (timeout 60 s), and the state machine retries that invocation for a few minutes.
MISSING_JOB_GRACE_SECONDS = 3600

_MISSING_CODES = frozenset({"ResourceNotFound", "ValidationException"})
ErrorKind = Literal["missing", "throttled", "error"]
RowOutcome = Literal["resumed", "token-spent", "in-progress", "awaiting-job", "error"]
StopReason = Literal["throttled", "time"]


@dataclass(frozen=True, slots=True)
class Resume:
    """Send :attr:`result` with the row's token."""

    result: Success | Failure


@dataclass(frozen=True, slots=True)
class Wait:
    """Leave the step waiting: the job runs, or may not have been created yet."""

    reason: Literal["in-progress", "awaiting-job"]


def decide(
    row: WaitingStep,
    described: Mapping[str, Any] | None,
    *,
    now: float,
    grace_seconds: int = MISSING_JOB_GRACE_SECONDS,
) -> Resume | Wait:
    """What to do for ``row``, given its job's ``DescribeLabelingJob`` response.

    Args:
        row: The waiting step.
        described: The response, or ``None`` when SageMaker does not know the job.
        now: The current time, epoch seconds.
        grace_seconds: How long after the token's write a missing job is waited for.
    """
    if described is None:
        age = now - row.stored_at
        if age < grace_seconds:
            return Wait("awaiting-job")
        cause = (
            f"labeling job {row.job_name} does not exist {int(age)} s after the workflow "
            "stored its task token; it was never created or is no longer known to SageMaker"
        )
        return Resume(Failure(MISSING_JOB_ERROR, cause))
    result = labeling_job_outcome(row.job_name, described)
    return Wait("in-progress") if result is None else Resume(result)


def classify_error(code: str | None) -> ErrorKind:
    """``"missing"``: the job is unknown; ``"throttled"``: slow down; else ``"error"``."""
    if code in _MISSING_CODES:
        return "missing"
    if code in THROTTLING_ERRORS:
        return "throttled"
    return "error"


@dataclass(frozen=True, slots=True, kw_only=True)
class SweepReport:
    """The counts of one sweep; :attr:`stopped_early` says why it did not reach the end."""

    checked: int
    resumed: int
    token_spent: int
    in_progress: int
    awaiting_job: int
    errors: int
    stopped_early: StopReason | None

    def to_dict(self) -> dict[str, Any]:
        """The sweep's result (and its log keys)."""
        return {
            "checked": self.checked,
            "resumed": self.resumed,
            "tokenSpent": self.token_spent,
            "inProgress": self.in_progress,
            "awaitingJob": self.awaiting_job,
            "errors": self.errors,
            "stoppedEarly": self.stopped_early,
        }


def tally(outcomes: Iterable[RowOutcome], *, stopped_early: StopReason | None) -> SweepReport:
    """Count the outcome of every row the sweep checked."""
    counts = dict.fromkeys(("resumed", "token-spent", "in-progress", "awaiting-job", "error"), 0)
    for item in outcomes:
        counts[item] += 1
    return SweepReport(
        checked=sum(counts.values()),
        resumed=counts["resumed"],
        token_spent=counts["token-spent"],
        in_progress=counts["in-progress"],
        awaiting_job=counts["awaiting-job"],
        errors=counts["error"],
        stopped_early=stopped_early,
    )
