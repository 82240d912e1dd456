"""StartLabelingJob step of the job workflow: parse → fetch → decide → shape.

Invoked by a ``.waitForTaskToken`` task, once per manifest chunk
(:class:`job_contracts.steps.StartRequest`)::

    {"taskToken": "...", "jobId": "<job id>", "project": "<project>",
     "chunk": {"index": 0, "manifestUri": "s3://<RESULTS_BUCKET>/jobs/<jobId>/chunks/0.manifest"}}

It keeps the waiting step in ``TOKENS_TABLE`` first (:meth:`job_contracts.tokens.TokenStore.put`;
the item expires two days after the project's tasks stop being offered), writes the job's
label-category file to ``RESULTS_BUCKET`` (projects with labels only), then creates the
labeling job (:func:`start_labeling_job.logic.build_request`), and returns ``{"jobName",
"reused"}`` (the state machine ignores it: the step's output is what ``job_events`` sends with
the token when the job ends).

Retries do not create a second job. When the tokens item exists, this is a retry of the step,
and the item's token is replaced by the new one, the one the state machine now waits for. A
job that already exists (``ResourceInUse``) is reused rather than created again. A job that
had already ended before the retry stored its token is not reported again: the step's timeout
ends that wait.

Errors: a malformed event or an unknown project raises ``ContractError``. Throttling (and
SageMaker's ``ResourceLimitExceeded``) raises :class:`job_contracts.tokens.Throttled`, which
the workflow retries with growing, jittered waits; other AWS errors than an existing job
propagate for the state machine to fail on.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from gt_contracts import ContractError
from handler_support import client, traced
from job_contracts.layout import JobLayout
from job_contracts.steps import StartRequest
from job_contracts.tokens import (
    THROTTLING_ERRORS,
    TOKEN_GRACE_SECONDS,
    Throttled,
    TokenStore,
    WaitingStep,
    error_code,
)
from start_labeling_job.logic import build_request, label_categories
from start_labeling_job.settings import get_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

__all__ = ["lambda_handler"]

logger = Logger()

_JOB_EXISTS = {"ResourceInUse", "ResourceInUseException"}


def _handle(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = get_settings()
    try:
        request = StartRequest.from_event(event)
        project = settings.labelflow_projects.get(request.project)
        if project is None:
            raise ContractError(f"project {request.project!r} is not configured")
        params = build_request(request, project, settings.job)
    except ContractError as exc:
        logger.error("start event rejected", extra={"reason": str(exc)})
        raise
    name = params["LabelingJobName"]
    logger.append_keys(job_id=request.job_id, project=request.project, labeling_job=name)
    now = int(time.time())
    step = WaitingStep(
        job_name=name,
        task_token=request.task_token,
        job_id=request.job_id,
        project=request.project,
        stored_at=now,
        expires_at=now + project.task_availability_seconds + TOKEN_GRACE_SECONDS,
    )
    retried = not TokenStore(client("dynamodb"), settings.tokens_table).put(step)
    categories = label_categories(project)
    if categories is not None:
        _throttled_as_such(
            client("s3").put_object,
            Bucket=settings.results_bucket,
            Key=JobLayout(request.job_id).label_categories,
            Body=categories,
            ContentType="application/json",
        )
    reused = not _create_job(params)
    logger.info("labeling job started", extra={"retried_step": retried, "reused_job": reused})
    return {"jobName": name, "reused": reused}


lambda_handler = logger.inject_lambda_context(log_event=False)(traced(_handle))


def _throttled_as_such(call: Any, **params: Any) -> Any:
    """``call(**params)``, raising throttling as :class:`Throttled` (retried by the workflow)."""
    try:
        return call(**params)
    except Exception as exc:
        code = error_code(exc)
        if code in THROTTLING_ERRORS:
            logger.warning("throttled", extra={"code": code})
            raise Throttled(f"{code}: {exc}") from exc
        raise


def _create_job(params: dict[str, Any]) -> bool:
    """Create the job; ``False`` when a job of that name already exists (it is reused)."""
    try:
        _throttled_as_such(client("sagemaker").create_labeling_job, **params)
    except Throttled:
        raise
    except Exception as exc:
        if error_code(exc) not in _JOB_EXISTS:
            raise
        return False
    return True
