"""Which labeling job an EventBridge event says has ended (pure).

:class:`JobEvent` parses the EventBridge event ``SageMaker Ground Truth Labeling Job State
Change`` (``source: aws.sagemaker``); the job name is the last part of ``resources[0]``, which
Ground Truth may send lower-cased (the tokens table is keyed case-insensitively). What the
job's end tells the waiting step is :func:`job_contracts.tokens.labeling_job_outcome`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gt_contracts import ContractError, job_name_from_arn

__all__ = ["DETAIL_TYPE", "END_STATUSES", "SOURCE", "JobEvent"]

SOURCE = "aws.sagemaker"
DETAIL_TYPE = "SageMaker Ground Truth Labeling Job State Change"
END_STATUSES = ("Completed", "Failed", "Stopped")


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
