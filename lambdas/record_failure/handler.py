"""Record-failure step of the job workflow: parse → fetch → decide → shape.

Every error that ends a job (a rejected manifest, a failed or stopped labeling job, a step
that kept failing after its retries) is caught and sent here (:mod:`record_failure.logic`).
The function describes the chunks' labeling jobs when they are involved, marks the job
``FAILED`` or ``STOPPED`` in ``JOBS_TABLE`` with the error, the reason, ``finishedAt`` and
what Validate counted (the event's ``validation``, or ``jobs/<jobId>/validation.json`` of
``RESULTS_BUCKET`` when Validate rejected the whole manifest: lines read, rejected by reason,
the rejects' URI),
publishes the record to ``TOPIC_ARN`` and puts the event ``LabelFlow Job Failed``
(``source: labelflow``) on the default event bus. It returns the record; the workflow then
ends in a Fail state carrying its error and reason.

Writing the same record twice is harmless, so a retried step repeats nothing visible but the
notification. A labeling job SageMaker does not know is reported as never created.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from gt_contracts import ContractError
from handler_support import client, notify, put_event, traced
from job_contracts.ids import labeling_job_name
from job_contracts.steps import FailureRequest, ValidationSummary, read_validation
from job_contracts.tokens import error_code
from record_failure.logic import ChunkJob, involves_labeling_jobs, summarize
from record_failure.settings import Settings, get_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

__all__ = ["DETAIL_TYPE", "lambda_handler"]

logger = Logger()

DETAIL_TYPE = "LabelFlow Job Failed"
_UNKNOWN_JOB = {"ResourceNotFound", "ValidationException"}


def _handle(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = get_settings()
    try:
        request = FailureRequest.from_event(event)
    except ContractError as exc:
        logger.error("failure event rejected", extra={"reason": str(exc)})
        raise
    logger.append_keys(job_id=request.job_id, project=request.project)
    jobs = _describe(request) if involves_labeling_jobs(request) else []
    validation = request.validation or _validation(settings, request.job_id)
    record = summarize(request, jobs).as_dict(request, validation)
    record["finishedAt"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    values: dict[str, Any] = {
        ":status": {"S": record["status"]},
        ":error": {"S": record["error"]},
        ":reason": {"S": record["reason"]},
        ":finished": {"S": record["finishedAt"]},
    }
    update = "SET #status = :status, #error = :error, reason = :reason, finishedAt = :finished"
    names = {"#status": "status", "#error": "error"}
    if validation is not None:
        clause, more_names, more_values = validation.set_clauses()
        update += clause
        names.update(more_names)
        values.update(more_values)
    client("dynamodb").update_item(
        TableName=settings.jobs_table,
        Key={"jobId": {"S": request.job_id}},
        UpdateExpression=update,
        ExpressionAttributeNames=names,
        ExpressionAttributeValues=values,
    )
    notify(
        settings.topic_arn,
        subject=f"LabelFlow job {record['status'].lower()}: {request.project}",
        message=record,
        project=request.project,
        kind="job-failed",
    )
    put_event(DETAIL_TYPE, record)
    logger.warning("job ended without results", extra=record)
    return record


lambda_handler = logger.inject_lambda_context(log_event=False)(traced(_handle))


def _validation(settings: Settings, job_id: str) -> ValidationSummary | None:
    """Validate's counts as it wrote them, or ``None`` when it never got that far."""
    try:
        return read_validation(client("s3"), settings.results_bucket, job_id)
    except ContractError as exc:
        logger.warning("validation counts unreadable", extra={"reason": str(exc)})
        return None


def _describe(request: FailureRequest) -> list[ChunkJob]:
    jobs = []
    for index in request.chunk_indexes:
        name = labeling_job_name(request.project, request.job_id, index)
        try:
            described = client("sagemaker").describe_labeling_job(LabelingJobName=name)
        except Exception as exc:
            if error_code(exc) not in _UNKNOWN_JOB:
                raise
            jobs.append(ChunkJob(index, name, None))
            continue
        jobs.append(
            ChunkJob(
                index,
                name,
                described["LabelingJobStatus"],
                described.get("FailureReason", ""),
            )
        )
    return jobs
