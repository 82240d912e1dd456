"""Job-events function of the job workflow: parse → fetch → decide → shape.

Target of the EventBridge rule on ``SageMaker Ground Truth Labeling Job State Change``
events whose status is ``Completed``, ``Failed`` or ``Stopped``. It looks up the task token
that the StartLabelingJob step stored under the job name, describes the job and sends
``SendTaskSuccess`` or ``SendTaskFailure`` (:func:`job_events.logic.outcome`).

Returns ``{"jobName", "sent"}``, where ``sent`` is ``"success"``, ``"failure"`` or why nothing
was sent: ``"unknown-job"`` (no token: a job started outside the workflow, logged and
ignored), ``"not-ended"`` (the job is still running) or ``"token-spent"`` (the token was
already used or its wait timed out: a repeated event is harmless). The token is sent by
:func:`job_events.resume.send_outcome`, which the reconciliation sweep (``reconcile_jobs``)
shares; when the sweep resumed the step first, it removed the token, and the event then finds
``"unknown-job"``.

Errors: an event that is not a labeling-job state change raises ``ContractError``; other AWS
errors propagate, and EventBridge's asynchronous invocation retries them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from gt_contracts import ContractError
from handler_support import client, traced
from job_events.logic import JobEvent, outcome
from job_events.resume import send_outcome
from job_events.settings import get_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

__all__ = ["lambda_handler"]

logger = Logger()


def _handle(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = get_settings()
    try:
        job = JobEvent.from_event(event)
    except ContractError as exc:
        logger.error("job event rejected", extra={"reason": str(exc)})
        raise
    logger.append_keys(labeling_job=job.job_name, event_status=job.status)
    token = _token(settings.tokens_table, job.job_name)
    if token is None:
        logger.warning("no workflow waits for this labeling job; event ignored")
        return {"jobName": job.job_name, "sent": "unknown-job"}
    described = client("sagemaker").describe_labeling_job(LabelingJobName=job.job_name)
    result = outcome(job.job_name, described)
    sent = send_outcome(client("stepfunctions"), token, result)
    logger.info("labeling job ended", extra={"sent": sent})
    return {"jobName": job.job_name, "sent": sent}


lambda_handler = logger.inject_lambda_context(log_event=False)(traced(_handle))


def _token(table: str, job_name: str) -> str | None:
    item = (
        client("dynamodb")
        .get_item(TableName=table, Key={"jobName": {"S": job_name}}, ConsistentRead=True)
        .get("Item")
    )
    return None if item is None else str(item["taskToken"]["S"])
