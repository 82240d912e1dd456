"""What a labeling job's end tells the waiting workflow step (pure).

:class:`JobEvent` parses the EventBridge event ``SageMaker Ground Truth Labeling Job State
Change`` (``source: aws.sagemaker``); the job name is the last part of ``resources[0]``.
:func:`outcome` turns the job's ``DescribeLabelingJob`` response into what is sent with the
task token:

* ``Completed``: ``SendTaskSuccess`` with ``{"jobName", "status", "outputManifestUri",
  "labelCounters"}``;
* ``Failed``: ``SendTaskFailure`` with error ``LabelingJobFailed`` and the job's
  ``FailureReason`` as cause;
* ``Stopped``: ``SendTaskFailure`` with error ``LabelingJobStopped``;
* any other status (the job has not ended): nothing is sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gt_contracts import ContractError, job_name_from_arn

__all__ = [
    "DETAIL_TYPE",
    "END_STATUSES",
    "MAX_CAUSE",
    "SOURCE",
    "Failure",
    "JobEvent",
    "Success",
    "outcome",
]

SOURCE = "aws.sagemaker"
DETAIL_TYPE = "SageMaker Ground Truth Labeling Job State Change"
END_STATUSES = ("Completed", "Failed", "Stopped")
#: SendTaskFailure allows causes of up to 32768 characters.
MAX_CAUSE = 32768
_ERRORS = {"Failed": "LabelingJobFailed", "Stopped": "LabelingJobStopped"}


@dataclass(frozen=True, slots=True)
class JobEvent:
    """A labeling job's state change."""

    job_name: str
    status: str

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> JobEvent:
        """Parse the EventBridge event.

        Raises:
            ContractError: not a labeling-job state change, or no labeling-job ARN.
        """
        if event.get("source") != SOURCE or event.get("detail-type") != DETAIL_TYPE:
            raise ContractError(
                f"not a labeling-job state change: {event.get('source')!r} "
                f"{event.get('detail-type')!r}"
            )
        resources = event.get("resources")
        if not isinstance(resources, list) or not resources:
            raise ContractError("resources must list the labeling job's ARN")
        detail = event.get("detail")
        status = detail.get("LabelingJobStatus") if isinstance(detail, Mapping) else None
        if not isinstance(status, str):
            raise ContractError("detail.LabelingJobStatus must be a string")
        return cls(job_name_from_arn(resources[0], field="resources[0]"), status)


@dataclass(frozen=True, slots=True)
class Success:
    """``SendTaskSuccess`` with :attr:`output`."""

    output: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Failure:
    """``SendTaskFailure`` with :attr:`error` and :attr:`cause`."""

    error: str
    cause: str


def outcome(job_name: str, described: Mapping[str, Any]) -> Success | Failure | None:
    """What to send for the job's ``DescribeLabelingJob`` response; ``None``: not ended."""
    status = described.get("LabelingJobStatus")
    if status == "Completed":
        output = described.get("LabelingJobOutput") or {}
        return Success(
            {
                "jobName": job_name,
                "status": status,
                "outputManifestUri": output.get("OutputDatasetS3Uri"),
                "labelCounters": dict(described.get("LabelCounters") or {}),
            }
        )
    if status in _ERRORS:
        reason = str(described.get("FailureReason") or f"labeling job {job_name} {status.lower()}")
        return Failure(_ERRORS[status], reason[:MAX_CAUSE])
    return None
