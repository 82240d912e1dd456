"""Publish step of the job workflow: parse → fetch → decide → shape.

Invoked after the Map with the execution state (see :mod:`publish_job.logic`). It reads each
chunk's output manifest and the worker-skill documents of each chunk's labeling job
(``s3://$ARTIFACTS_BUCKET/skills/<project>/<jobName>/*.json``), writes what
:func:`publish_job.logic.build_publication` returns under ``jobs/<jobId>/output/`` of
``RESULTS_BUCKET``, marks the job ``SUCCEEDED`` with its counts in ``JOBS_TABLE``, publishes
the summary to ``TOPIC_ARN`` (message attributes ``project`` and ``kind: job-completed``) and
puts the event ``LabelFlow Job Completed`` (``source: labelflow``, detail = the summary) on the
default event bus. It returns the summary.

Audit trail: for each chunk it also reads the labeling job's worker responses and
consolidation requests (beside the output manifest, see :mod:`publish_job.audit`) and writes
the job's audit log to ``audit/<project>/<jobId>/<jobName>.jsonl`` of ``AUDIT_BUCKET`` (a bucket
with S3 Object Lock) with a SHA-256 checksum and ``IfNoneMatch="*"``. An existing log with the
same bytes is accepted (a retried step); one with different bytes raises
:class:`AuditConflictError` before anything is published or announced.

Worker skill is not Publish's business: every consolidation batch has added its own to the
skill store already (:mod:`job_contracts.skill_store`); Publish reads the batch documents for
the report only.

The results-bucket writes overwrite the same keys and the audit logs are identical on a retry,
so a retried step publishes the same result once.
Errors: a malformed event raises ``ContractError``; AWS errors (a missing manifest, say)
propagate, and the state machine retries the Lambda service's own errors only.
"""

from __future__ import annotations

import datetime as dt
import functools
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from gt_contracts import ContractError, parse_s3_uri
from handler_support import EVENT_SOURCE, client, notify, put_event, traced
from job_contracts.layout import JobLayout, LabelingJobFolder, skills_prefix
from job_contracts.steps import ChunkResult, PublishRequest, ValidationSummary, read_validation
from job_contracts.tokens import error_code
from publish_job.audit import AuditLog, ResponseFile, build_audit
from publish_job.logic import build_publication
from publish_job.settings import Settings, get_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

__all__ = [
    "DETAIL_TYPE",
    "EVENT_SOURCE",
    "WRITE_ATTEMPTS",
    "AuditConflictError",
    "lambda_handler",
]

logger = Logger()


DETAIL_TYPE = "LabelFlow Job Completed"
WRITE_ATTEMPTS = 5
_FETCH_THREADS = 16


class AuditConflictError(RuntimeError):
    """An audit log already exists with different content; it is never overwritten."""


def _handle(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = get_settings()
    try:
        request = PublishRequest.from_event(event)
    except ContractError as exc:
        logger.error("publish event rejected", extra={"reason": str(exc)})
        raise
    logger.append_keys(job_id=request.job_id, project=request.project)
    manifests = [_get(*parse_s3_uri(c.output_manifest_uri)) for c in request.chunks]
    skills = {
        chunk.job_name: [
            _get(settings.artifacts_bucket, key)
            for key in _keys(
                settings.artifacts_bucket, skills_prefix(request.project, chunk.job_name)
            )
        ]
        for chunk in request.chunks
    }
    audits = [
        _audit(request, chunk, manifest)
        for chunk, manifest in zip(request.chunks, manifests, strict=True)
    ]
    publication = build_publication(
        request,
        manifests,
        [doc for docs in skills.values() for doc in docs],
        audits=audits,
        results_bucket=settings.results_bucket,
        audit_bucket=settings.audit_bucket,
        rejects=_rejects(settings.results_bucket, request),
        validation=request.validation or _validation(settings.results_bucket, request.job_id),
    )
    for key, body in publication.audit.items():  # first: a conflict stops before publishing
        _put_immutable(settings.audit_bucket, key, body)
    for key, (body, content_type) in publication.objects.items():
        client("s3").put_object(
            Bucket=settings.results_bucket, Key=key, Body=body, ContentType=content_type
        )
    summary = dict(publication.summary)
    _announce(settings, summary)
    logger.info("job published", extra={"objects": len(publication.objects), **summary})
    return summary


lambda_handler = logger.inject_lambda_context(log_event=False)(traced(_handle))


def _audit(request: PublishRequest, chunk: ChunkResult, manifest: bytes) -> AuditLog:
    bucket, manifest_key = parse_s3_uri(chunk.output_manifest_uri)
    folder = LabelingJobFolder.of_output_manifest(manifest_key)
    keys = _keys(bucket, folder.worker_responses)
    responses = [
        ResponseFile(f"s3://{bucket}/{key}", body)
        for key, body in zip(keys, _get_many(bucket, keys), strict=True)
    ]
    requests = _get_many(bucket, _keys(bucket, folder.consolidation_requests))
    return build_audit(
        job_id=request.job_id,
        project=request.project,
        job_name=chunk.job_name,
        manifest=manifest,
        responses=responses,
        requests=requests,
    )


def _put_immutable(bucket: str, key: str, body: bytes) -> None:
    """Create ``key`` once; accept an identical existing object, refuse a different one."""
    from botocore.exceptions import ClientError  # noqa: PLC0415 - with boto3, on first use

    for _ in range(WRITE_ATTEMPTS):
        try:
            client("s3").put_object(
                Bucket=bucket,
                Key=key,
                Body=body,
                ContentType="application/jsonlines",
                ChecksumAlgorithm="SHA256",
                IfNoneMatch="*",
            )
            return
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code == "ConditionalRequestConflict":
                continue  # another write of the key is in flight: try again
            if code != "PreconditionFailed":
                raise
        if _get(bucket, key) != body:
            raise AuditConflictError(
                f"s3://{bucket}/{key} already exists with different content; "
                "an audit log is never overwritten"
            )
        logger.info("audit log already written", extra={"key": key})
        return
    raise AuditConflictError(f"s3://{bucket}/{key}: conflicting writes did not settle")


def _rejects(bucket: str, request: PublishRequest) -> bytes | None:
    """Validate's rejects file, when it wrote one."""
    try:
        return _get(bucket, JobLayout(request.job_id).rejects)
    except Exception as exc:
        if error_code(exc) in {"NoSuchKey", "404", "NotFound"}:
            return None
        raise


def _validation(bucket: str, job_id: str) -> ValidationSummary | None:
    """Validate's counts from ``validation.json``, for an event that does not carry them."""
    try:
        return read_validation(client("s3"), bucket, job_id)
    except ContractError as exc:
        logger.warning("validation counts unreadable", extra={"reason": str(exc)})
        return None


def _announce(settings: Settings, summary: dict[str, Any]) -> None:
    update = (
        "SET #status = :status, #items = :items, labeled = :labeled, excluded = :excluded, "
        "outputUri = :output, reportUri = :report, finishedAt = :finished, "
        "auditUri = :audit, #cost = :cost"
    )
    values = {
        ":status": {"S": "SUCCEEDED"},
        ":items": {"N": str(summary["items"])},
        ":labeled": {"N": str(summary["labeled"])},
        ":excluded": {"N": str(summary["excluded"])},
        ":output": {"S": summary["outputUri"]},
        ":report": {"S": summary["reportUri"]},
        ":finished": {"S": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")},
        ":audit": {"S": summary["audit"]["uri"]},
        ":cost": _attribute(summary["cost"]),
    }
    names = {"#status": "status", "#items": "items", "#cost": "cost"}
    validation = ValidationSummary.from_json(summary["validation"])
    if validation is not None:
        clause, more_names, more_values = validation.set_clauses()
        update += clause
        names.update(more_names)
        values.update(more_values)
    client("dynamodb").update_item(
        TableName=settings.jobs_table,
        Key={"jobId": {"S": summary["jobId"]}},
        UpdateExpression=update,
        ExpressionAttributeNames=names,
        ExpressionAttributeValues=values,
    )
    notify(
        settings.topic_arn,
        subject="LabelFlow job completed",
        message=summary,
        project=summary["project"],
        kind="job-completed",
    )
    put_event(DETAIL_TYPE, summary)


def _attribute(value: Any) -> dict[str, Any]:
    """A JSON value as a DynamoDB attribute value (numbers as decimal strings)."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | float):
        return {"N": repr(value)}
    if isinstance(value, dict):
        return {"M": {str(k): _attribute(v) for k, v in value.items()}}
    if isinstance(value, list):
        return {"L": [_attribute(v) for v in value]}
    return {"S": str(value)}


def _get(bucket: str, key: str) -> bytes:
    body: bytes = client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    return body


def _get_many(bucket: str, keys: list[str]) -> list[bytes]:
    """The objects' bodies in the order of ``keys`` (one file per item: fetched in parallel)."""
    if len(keys) < 2:
        return [_get(bucket, key) for key in keys]
    with ThreadPoolExecutor(max_workers=_FETCH_THREADS) as pool:
        return list(pool.map(functools.partial(_get, bucket), keys))


def _keys(bucket: str, prefix: str) -> list[str]:
    """The ``.json`` keys under ``prefix``, sorted."""
    keys: list[str] = []
    pages = client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    for page in pages:
        keys += [o["Key"] for o in page.get("Contents", []) if o["Key"].endswith(".json")]
    return sorted(keys)
