"""Answering one annotation-consolidation request: the I/O around :mod:`gt_consolidation.batch`.

:func:`consolidate_request` is what the consolidation Lambda does for Ground Truth, callable in
process: the Label Studio backend finishes its jobs through this very function, so both
backends read answers, use prior skill, write masks and skills and shape labels alike.

I/O: the batch file and any annotation stored by ``s3Uri`` are read with the caller's credentials;
the project's current worker skill is read from, and this batch's worker skill written to, the
artifacts bucket (the current skill is the prior plus every *other* batch document of the same
labeling job, combined as Publish combines them, so each batch builds on the ones before it and a
retried batch never counts itself); segmentation masks are written next to the job's output. A
malformed event, an unreadable or malformed batch file, a job that matches no project, a
configuration the library rejects and an S3 error reading an annotation ``s3Uri`` other than
not-found (throttling, 5xx, access denied, KMS) raise; an annotation that does not exist, or has an
invalid URI, only costs its item a no-consensus result. Segmentation masks (and, under a ``-ref``
label attribute, their JSON sidecars) are written before the response that points at them. Logs
carry ids and counts only: answers and reasons may hold worker-provided text.

Worker alerts: for a project with a ``worker_alert``, once the skill is stored the batch's
workers are judged on the project's skill plus this batch, and each worker flagged for the
first time in the labeling job is announced (:mod:`gt_consolidation.alerts`); an event or
notification that fails raises, so the batch is retried. :func:`check_workers` does the same
for a Label Studio job still running: its answers so far consolidated in memory, nothing
written but the flags.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from aws_lambda_powertools import Logger

from gt_consolidation.alerts import Remover, watch_workers
from gt_consolidation.batch import (
    Batch,
    BatchResult,
    consolidate_batch,
    mask_location,
    to_json_bytes,
)
from gt_contracts import (
    ContractError,
    PayloadObject,
    PostAnnotationEvent,
    ProjectConfig,
    parse_payload,
    parse_s3_uri,
    resolve_project,
)
from handler_support import client
from job_contracts.layout import payload_digest, skills_key
from job_contracts.skill_store import SkillStore
from job_contracts.skills import StoredSkills, batch_records, load_skills, without
from job_contracts.tokens import error_code
from job_contracts.worker_alerts import FlaggedWorker

__all__ = ["check_workers", "consolidate_request"]

logger = Logger(child=True)

_MISSING = frozenset({"NoSuchKey", "404", "NotFound"})


def consolidate_request(
    event: Mapping[str, Any],
    *,
    projects: Mapping[str, ProjectConfig],
    artifacts_bucket: str,
    skills_table: str,
    topic_arn: str | None = None,
) -> list[dict[str, Any]]:
    """Consolidate one request; the response Ground Truth expects (one entry per object).

    Args:
        event: the annotation-consolidation request (Ground Truth's Lambda event).
        projects: the deployment's projects (the job's is found from its name).
        artifacts_bucket: where each batch's skill document (and masks outside a job's layout)
            go.
        skills_table: the skill store (:class:`~job_contracts.skill_store.SkillStore`).
        topic_arn: the stage's notification topic, told about flagged workers (if any).

    Raises:
        ContractError: a malformed event or batch file, or a job of no configured project.
        ConsolidationError: the project's method or parameters are invalid.
    """
    try:
        request = PostAnnotationEvent.from_event(event)
        project = resolve_project(projects, request.job_name)
        objects = parse_payload(_read(*request.payload_location))
    except ContractError as exc:
        logger.error("consolidation request rejected", extra={"reason": str(exc)})
        raise
    store = SkillStore(client("dynamodb"), skills_table)
    batch = _batch(request, project, objects, artifacts_bucket, store)
    result = consolidate_batch(batch)
    skills = skills_key(project.name, request.job_name, request.payload_uri)
    _write_outputs(result, artifacts_bucket, skills)
    added = store.add(
        project.name, payload_digest(request.payload_uri), batch_records(result.skills)
    )
    _log_result(project, result, skills, added)
    watch_workers(
        project,
        request.job_name,
        carried=batch.prior,
        batch_workers=result.skills["workers"],
        artifacts_bucket=artifacts_bucket,
        topic_arn=topic_arn,
    )
    return result.to_response(request.label_attribute_name)


def check_workers(
    event: Mapping[str, Any],
    payload: Sequence[Mapping[str, Any]],
    *,
    projects: Mapping[str, ProjectConfig],
    artifacts_bucket: str,
    skills_table: str,
    topic_arn: str | None,
    remove: Remover | None = None,
) -> list[FlaggedWorker]:
    """Flag workers of a running job from its answers so far (nothing else is written).

    The answers are consolidated as :func:`consolidate_request` would consolidate them, on
    the same current skill, but in memory: no worker skill, no masks, no response. For a
    project without a ``worker_alert`` nothing is done.

    Args:
        event: the consolidation request the job's answers would make (its payload URI is
            not read).
        payload: the consolidation payload of the answers so far (annotations as
            ``content``).
        projects: the deployment's projects.
        artifacts_bucket: where the flags are.
        skills_table: the skill store.
        topic_arn: the stage's notification topic, if it has one.
        remove: what to do to a flagged worker besides the alert.

    Returns:
        The workers flagged now.

    Raises:
        ContractError: a malformed event or payload, or a job of no configured project.
        ConsolidationError: the project's method or parameters are invalid.
    """
    request = PostAnnotationEvent.from_event(event)
    project = resolve_project(projects, request.job_name)
    if project.worker_alert is None:
        return []
    objects = parse_payload(list(payload))
    store = SkillStore(client("dynamodb"), skills_table)
    batch = _batch(request, project, objects, artifacts_bucket, store)
    result = consolidate_batch(batch)
    return watch_workers(
        project,
        request.job_name,
        carried=batch.prior,
        batch_workers=result.skills["workers"],
        artifacts_bucket=artifacts_bucket,
        topic_arn=topic_arn,
        remove=remove,
    )


def _batch(
    request: PostAnnotationEvent,
    project: ProjectConfig,
    objects: list[PayloadObject],
    artifacts_bucket: str,
    store: SkillStore,
) -> Batch:
    """The batch with its annotations fetched and the project's current skill."""
    fetched, unreadable = _fetch_annotations(objects)
    skills = skills_key(project.name, request.job_name, request.payload_uri)
    return Batch(
        request=request,
        project=project,
        objects=objects,
        fetched=fetched,
        unreadable=unreadable,
        prior=_current_skill(
            store, project.name, payload_digest(request.payload_uri), artifacts_bucket, skills
        ),
        masks=mask_location(
            request.payload_uri,
            artifacts_bucket=artifacts_bucket,
            project=project.name,
            job_name=request.job_name,
        ),
    )


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


def _log_result(project: ProjectConfig, result: BatchResult, skills: str, added: bool) -> None:
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
            "skill_added": added,
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
            except UnicodeDecodeError:
                unreadable[uri] = "not UTF-8 text"
            except Exception as exc:
                code = error_code(exc)
                if code not in _MISSING:
                    raise  # throttling, 5xx, access or KMS errors: fail loudly so GT can retry
                unreadable[uri] = f"S3 {code}"
    if unreadable:
        logger.warning("annotations unreadable", extra={"annotations": len(unreadable)})
    return fetched, unreadable


def _current_skill(
    store: SkillStore, project: str, batch_id: str, bucket: str, own_key: str
) -> StoredSkills:
    """The project's skill so far, without this batch's own earlier contribution.

    A retried batch finds its marker in the store when an earlier attempt added its skill; that
    attempt's skill document (written just before the store) is then subtracted, so the batch
    never learns from itself.
    """
    stored = store.read(project)
    if stored.error:
        logger.warning("skill store", extra={"reason": stored.error})
    if stored.records and store.has(project, batch_id):
        earlier = _read_optional(bucket, own_key)
        if earlier is not None:
            stored = without(stored, load_skills(earlier))
    return stored


def _read_optional(bucket: str, key: str) -> bytes | None:
    try:
        return _read(bucket, key)
    except Exception as exc:
        if error_code(exc) in _MISSING:
            return None
        raise
