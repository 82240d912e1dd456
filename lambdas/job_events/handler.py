"""Job-events function of the job workflow: parse → fetch → decide → shape.

Target of the EventBridge rule on ``SageMaker Ground Truth Labeling Job State Change``
events whose status is ``Completed``, ``Failed`` or ``Stopped``. It looks up the waiting step
that the StartLabelingJob step stored under the job name (case-insensitively: Ground Truth
lower-cases names in its ARNs), describes the job and sends ``SendTaskSuccess`` or
``SendTaskFailure`` (:func:`job_contracts.tokens.labeling_job_outcome`).

Returns ``{"jobName", "sent"}``, where ``sent`` is ``"success"``, ``"failure"`` or why nothing
was sent: ``"unknown-job"`` (no token: a job started outside the workflow, logged and
ignored), ``"not-ended"`` (the job is still running) or ``"token-spent"`` (the token was
already used or its wait timed out: a repeated event is harmless). The reconciliation sweep
(``reconcile_jobs``) sends the same outcomes with :func:`job_contracts.tokens.send_outcome`;
when it resumed the step first, it removed the token, and the event then finds
``"unknown-job"``.

Errors: an event that is not a labeling-job state change raises ``ContractError``; other AWS
errors propagate, and EventBridge's asynchronous invocation retries them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from gt_contracts import ContractError
from handler_support import client, traced
from job_contracts.tokens import TokenStore, labeling_job_outcome, send_outcome
from job_events.logic import JobEvent
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
    step = TokenStore(client("dynamodb"), settings.tokens_table).get(job.job_name)
    if step is None:
        logger.warning("no workflow waits for this labeling job; event ignored")
        return {"jobName": job.job_name, "sent": "unknown-job"}
    described = client("sagemaker").describe_labeling_job(LabelingJobName=step.job_name)
    result = labeling_job_outcome(step.job_name, described)
    sent = send_outcome(client("stepfunctions"), step.task_token, result)
    logger.info("labeling job ended", extra={"sent": sent})
    return {"jobName": job.job_name, "sent": sent}


lambda_handler = logger.inject_lambda_context(log_event=False)(traced(_handle))
