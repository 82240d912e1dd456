"""Label Studio's webhook receiver: parse → fetch → decide → shape.

Invoked as a Lambda function URL or API Gateway HTTP API (payload 2.0 or 1.0) event:
``{"headers", "queryStringParameters", "body", "isBase64Encoded"}``. Label Studio calls it on
``ANNOTATION_CREATED``, ``ANNOTATIONS_CREATED`` and ``ANNOTATION_UPDATED`` of a job's project,
with the shared secret in the ``X-LabelFlow-Secret`` header and the job's name in the
``job`` query parameter (both set by the start step).

Responses (``{"statusCode", "headers", "body"}``, JSON bodies):

* 401 without the secret header, 403 with a wrong one (compared in constant time with the
  ``WEBHOOK_SECRET_ARN`` secret); the refusal is logged without the presented value;
* 400 for a body that is not a Label Studio webhook payload;
* 404 when no waiting Label Studio job has the payload's project (an unknown project, a
  ``job`` whose project differs, or a job already finished: a late or repeated call), logged;
* 503 when Label Studio could not be read (the job waits for the next call or the sweep);
* 200 otherwise, with :class:`labelstudio_backend.finish.FinishReport`'s outcome:
  ``waiting``, ``finished``, ``already-finishing`` (another call holds the finish) or
  ``token-spent``.

A call finishes the job (:func:`labelstudio_backend.finish.try_finish`) once every task has
its answers or the deadline has passed; the tokens-table claim and conditional delete make
sure duplicate or concurrent calls finish it once.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from gt_contracts import ContractError
from handler_support import traced
from job_contracts.tokens import TokenStore
from labelstudio_backend import aws
from labelstudio_backend.finish import FinishError, try_finish
from labelstudio_backend.logic import SECRET_HEADER, WaitingJob, WebhookCall, authenticate, header
from labelstudio_backend.settings import get_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

__all__ = ["lambda_handler"]

logger = Logger()


def _handle(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = get_settings()
    status = authenticate(
        header(event.get("headers"), SECRET_HEADER), aws.secret(settings.webhook_secret_arn)
    )
    if status != 200:
        logger.warning(
            "webhook call refused",
            extra={"status": status, "reason": "no secret" if status == 401 else "wrong secret"},
        )
        return _response(status, {"message": "unauthorized" if status == 401 else "forbidden"})
    try:
        call = WebhookCall.from_request(event)
    except ContractError as exc:
        logger.warning("webhook payload rejected", extra={"reason": str(exc)})
        return _response(400, {"message": str(exc)})
    logger.append_keys(label_studio_project=call.project_id, action=call.action)
    job = _waiting_job(aws.tokens(settings), event, call.project_id)
    if job is None:
        logger.warning("no waiting job has this Label Studio project")
        return _response(404, {"message": f"no waiting job for project {call.project_id}"})
    logger.append_keys(labeling_job=job.job_name)
    try:
        report = try_finish(settings, job, function_arn=context.invoked_function_arn)
    except FinishError as exc:
        logger.error("job not finished; it waits for the next call", extra={"reason": str(exc)})
        return _response(503, {"message": "Label Studio could not be read; try again later"})
    logger.info("webhook handled", extra={"outcome": report.outcome})
    return _response(200, report.to_dict())


lambda_handler = logger.inject_lambda_context(log_event=False)(traced(_handle))


def _waiting_job(
    tokens: TokenStore, event: Mapping[str, Any], project_id: int
) -> WaitingJob | None:
    query = event.get("queryStringParameters")
    name = query.get("job") if isinstance(query, Mapping) else None
    try:
        if isinstance(name, str) and name:
            step = tokens.get(name)
        else:
            step = tokens.find_label_studio_project(project_id)
        if step is None:
            return None
        job = WaitingJob.from_step(step)
    except ContractError as exc:
        logger.warning("tokens item is not a waiting Label Studio job", extra={"reason": str(exc)})
        return None
    return job if job.label_studio_project == project_id else None


def _response(status: int, body: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(body),
    }
