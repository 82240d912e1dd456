"""Annotation-consolidation Lambda (``AnnotationConsolidationLambdaArn``): parse → fetch → decide
→ shape.

Request: ``{"version", "labelingJobArn", "labelCategories", "labelAttributeName", "roleArn",
"payload": {"s3Uri"}}`` (other keys ignored). Response: a JSON array with exactly one
``{"datasetObjectId", "consolidatedAnnotation": {"content": {<labelAttributeName>: value}}}``
per data object of the batch; label values and the per-item no-consensus contract are in
:mod:`post_annotation.logic`.

I/O: the batch file and any annotation stored by ``s3Uri`` are read with the Lambda's own role;
prior worker skill is read from, and this batch's worker skill written to, ``ARTIFACTS_BUCKET``;
segmentation masks are written next to the job's output. A malformed event, an unreadable or
malformed batch file, a job that matches no project, a configuration the library rejects and
an S3 error reading an annotation ``s3Uri`` other than not-found (throttling, 5xx, access
denied, KMS) raise; an annotation that does not exist, or has an invalid URI, only costs its
item a no-consensus result. Segmentation masks (and, under a ``-ref`` label attribute, their
JSON sidecars) are written before the response that points at them.

The Powertools Tracer is created on the first invocation rather than at import
(:func:`handler_support.traced`): building it imports the X-Ray SDK, which creates a botocore
client and costs about twice an ``import boto3``. boto3 and the consolidation library (numpy)
are imported on first use for the same reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from gt_contracts import (
    ContractError,
    PayloadObject,
    PostAnnotationEvent,
    ProjectConfig,
    parse_payload,
    parse_s3_uri,
    resolve_project,
)
from handler_support import client, traced
from post_annotation.logic import (
    Batch,
    BatchResult,
    PriorSkills,
    consolidate_batch,
    load_prior,
    mask_location,
    prior_key,
    skills_key,
    to_json_bytes,
)
from post_annotation.settings import Settings, get_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()

_MISSING = frozenset({"NoSuchKey", "404", "NotFound"})


def _handle(event: dict[str, Any], context: LambdaContext) -> list[dict[str, Any]]:
    logger.append_keys(labeling_job_arn=event.get("labelingJobArn"))
    return consolidate(event, get_settings())


lambda_handler = logger.inject_lambda_context(log_event=False)(traced(_handle))


def consolidate(event: Mapping[str, Any], settings: Settings) -> list[dict[str, Any]]:
    """Consolidate one request: what the Lambda does for Ground Truth, callable in-process.

    The Label Studio backend runs its jobs' consolidation through this very function, so both
    backends read answers, use prior skill, write masks and skills and shape labels alike.
    """
    try:
        request = PostAnnotationEvent.from_event(event)
        project = resolve_project(settings.labelflow_projects, request.job_name)
        objects = parse_payload(_read(*request.payload_location))
    except ContractError as exc:
        logger.error("consolidation request rejected", extra={"reason": str(exc)})
        raise
    fetched, unreadable = _fetch_annotations(objects)
    batch = Batch(
        request=request,
        project=project,
        objects=objects,
        fetched=fetched,
        unreadable=unreadable,
        prior=_read_prior(settings.artifacts_bucket, prior_key(project.name)),
        masks=mask_location(
            request.payload_uri,
            artifacts_bucket=settings.artifacts_bucket,
            project=project.name,
            job_name=request.job_name,
        ),
    )
    result = consolidate_batch(batch)
    skills = skills_key(project.name, request.job_name, request.payload_uri)
    _write_outputs(result, settings.artifacts_bucket, skills)
    _log_result(project, result, skills)
    return result.to_response(request.label_attribute_name)


def _write_outputs(result: BatchResult, artifacts_bucket: str, skills: str) -> None:
    """Masks and their sidecars first (the response points at them), then worker skill."""
    for mask in result.masks:
        client("s3").put_object(
            Bucket=mask.bucket, Key=mask.key, Body=mask.body, ContentType=mask.content_type
        )
    client("s3").put_object(
        Bucket=artifacts_bucket,
        Key=skills,
        Body=to_json_bytes(result.skills),
        ContentType="application/json",
    )


def _log_result(project: ProjectConfig, result: BatchResult, skills: str) -> None:
    """Counts and ids only: answers and reasons may hold worker-provided text."""
    for item in result.items:
        if item.problem is not None:
            logger.info(
                "no consensus",
                extra={"dataset_object_id": item.dataset_object_id, "problem": item.problem},
            )
    logger.info(
        "consolidated",
        extra={
            "project": project.name,
            "task_type": project.task_type,
            "method": result.method,
            "objects": len(result.items),
            "no_consensus": result.no_consensus,
            "problems": result.problems,
            "masks_written": len(result.masks),
            "skills_key": skills,
        },
    )


def _read(bucket: str, key: str) -> bytes:
    body: bytes = client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    return body


def _fetch_annotations(objects: Iterable[PayloadObject]) -> tuple[dict[str, str], dict[str, str]]:
    """Text of every annotation given by ``s3Uri``, and why the others could not be read.

    Only a permanent problem costs the item a no-consensus: an invalid URI, an object that does
    not exist (``NoSuchKey``, ``404``, ``NotFound``) or is not UTF-8. Any other S3 error
    (throttling, a 5xx, access denied, a KMS error) is transient or a deployment fault and
    propagates, so the invocation fails and Ground Truth can retry the batch.
    """
    from botocore.exceptions import ClientError  # noqa: PLC0415 - with boto3, on first use

    fetched: dict[str, str] = {}
    unreadable: dict[str, str] = {}
    for obj in objects:
        for annotation in obj.annotations:
            uri = annotation.s3_uri
            if annotation.content is not None or uri is None or uri in fetched:
                continue
            try:
                fetched[uri] = _read(*parse_s3_uri(uri, field="annotationData.s3Uri")).decode()
            except ContractError as exc:
                unreadable[uri] = str(exc)
            except ClientError as exc:
                code = str(exc.response.get("Error", {}).get("Code", "error"))
                if code not in _MISSING:
                    raise  # throttling, 5xx, access or KMS errors: fail loudly so GT can retry
                unreadable[uri] = f"S3 {code}"
            except UnicodeDecodeError:
                unreadable[uri] = "not UTF-8 text"
    if unreadable:
        logger.warning("annotations unreadable", extra={"annotations": len(unreadable)})
    return fetched, unreadable


def _read_prior(bucket: str, key: str) -> PriorSkills:
    """Prior worker skill; a missing file is no prior, an unreadable one is reported."""
    from botocore.exceptions import ClientError  # noqa: PLC0415 - with boto3, on first use

    try:
        prior = load_prior(_read(bucket, key))
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", "error"))
        if code in _MISSING:
            return PriorSkills()
        prior = PriorSkills(error=f"prior skill ignored: S3 {code} reading s3://{bucket}/{key}")
    if prior.error:
        logger.warning("prior skill ignored", extra={"prior_key": key, "reason": prior.error})
    return prior
