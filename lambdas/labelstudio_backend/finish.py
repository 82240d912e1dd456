"""Finishing a Label Studio job, shared by the webhook and the sweep.

:func:`try_finish` asks Label Studio how many answers each task has and decides
(:func:`labelstudio_backend.logic.readiness`): every remaining task has the project's
``workers_per_item`` answers, or the job's deadline has passed. Then, holding the tokens-table
claim (:meth:`job_contracts.tokens.TokenStore.claim`), it does what Ground Truth does at a
job's end:

1. exports the project's tasks and answers from Label Studio;
2. writes each answered item's worker-response file and the consolidation request under
   ``jobs/<jobId>/gt/<jobName>/annotations/`` of the results bucket
   (:func:`labelstudio_backend.logic.plan_finish`);
3. consolidates with the consolidation Lambda's own entry point
   (:func:`gt_consolidation.consolidate_request`: same prior skill, same skill and mask writes,
   same label values) and writes its response beside the request;
4. writes ``manifests/output/output.manifest`` and its label counters
   (:func:`labelstudio_backend.logic.output_manifest`);
5. resumes the waiting step with ``SendTaskSuccess`` and ``{"jobName", "status":
   "Completed", "outputManifestUri", "labelCounters"}``, exactly what ``job_events`` sends
   (:func:`job_contracts.tokens.completed`, :func:`job_contracts.tokens.send_outcome`);
6. deletes the tokens item (on condition that it still holds that token).

Items nobody answered before the deadline are failed as Ground Truth's expired tasks
(``FailedNonRetryableError``); items whose task was deleted in Label Studio stay unlabeled
(``Unlabeled``); both are listed in the report. Writes use keys derived from the answers, so a
finish retried after a failure rewrites the same files.

Errors: Label Studio unreachable or failing (after the client's bounded retries) raises
:class:`FinishError`; the claim is released and the token kept, so a later webhook or sweep
finishes the job and nothing is lost. Any other error also releases the claim and propagates.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from aws_lambda_powertools import Logger

from gt_consolidation import consolidate_request
from gt_contracts import ContractError, parse_s3_uri
from handler_support import client
from job_contracts.layout import JobLayout
from job_contracts.tokens import completed, send_outcome
from label_studio_api import LabelStudioError
from labelstudio_backend import aws
from labelstudio_backend.logic import (
    WaitingJob,
    consolidation_event,
    labeling_job_arn,
    output_manifest,
    parse_manifest,
    plan_finish,
    readiness,
)
from labelstudio_backend.settings import Settings

__all__ = ["FinishError", "FinishReport", "Outcome", "try_finish"]

logger = Logger(child=True)

Outcome = Literal["finished", "waiting", "already-finishing", "token-spent"]


class FinishError(RuntimeError):
    """Label Studio could not be read; the job's token is kept for a later finish."""


@dataclass(frozen=True, kw_only=True)
class FinishReport:
    """What happened to one job (content-free: ids and counts only)."""

    job_name: str
    outcome: Outcome
    readiness: str
    label_counters: Mapping[str, int] = field(default_factory=dict)
    expired: tuple[str, ...] = ()
    deleted: tuple[str, ...] = ()
    unconvertible: int = 0
    skipped: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "jobName": self.job_name,
            "outcome": self.outcome,
            "readiness": self.readiness,
            "labelCounters": dict(self.label_counters),
            "expired": list(self.expired),
            "deleted": list(self.deleted),
            "unconvertible": self.unconvertible,
            "skipped": self.skipped,
        }


def try_finish(
    settings: Settings, job: WaitingJob, *, function_arn: str, now: datetime | None = None
) -> FinishReport:
    """Finish ``job`` if it is complete or past its deadline (see the module docstring).

    Args:
        settings: the function's settings.
        job: the waiting job.
        function_arn: the calling function's ARN (partition, region and account of the
            labeling-job ARN the consolidation sees; also its ``roleArn``).
        now: the current time (tests pass one).

    Raises:
        FinishError: Label Studio could not be read (the token is kept).
        ContractError: the job's project is not configured, or its data is malformed.
    """
    moment = now or datetime.now(UTC)
    project = settings.labelflow_projects.get(job.project)
    if project is None:
        raise ContractError(f"project {job.project!r} is not configured")
    studio = aws.label_studio(settings)
    try:
        tasks = studio.list_tasks(job.label_studio_project)
    except LabelStudioError as exc:
        raise FinishError(f"job {job.job_name}: Label Studio could not be read: {exc}") from None
    ready = readiness(
        [task.total_annotations for task in tasks],
        workers_per_item=project.workers_per_item,
        deadline=job.deadline,
        now=int(moment.timestamp()),
    )
    if ready == "waiting":
        return FinishReport(job_name=job.job_name, outcome="waiting", readiness=ready)
    tokens = aws.tokens(settings)
    if not tokens.claim(job, int(moment.timestamp())):
        return FinishReport(job_name=job.job_name, outcome="already-finishing", readiness=ready)
    try:
        report = _finish(settings, job, function_arn=function_arn, moment=moment, ready=ready)
    except LabelStudioError as exc:
        tokens.release(job)
        raise FinishError(
            f"job {job.job_name}: Label Studio export failed, the job waits for the next "
            f"finish: {exc}"
        ) from None
    except BaseException:
        tokens.release(job)
        raise
    tokens.forget(job)
    return report


def _finish(
    settings: Settings, job: WaitingJob, *, function_arn: str, moment: datetime, ready: str
) -> FinishReport:
    project = settings.labelflow_projects[job.project]
    studio = aws.label_studio(settings)
    exported = studio.export_annotations(job.label_studio_project, include_unlabeled=True)
    bucket, key = parse_s3_uri(job.manifest_uri, field="manifestUri")
    lines = parse_manifest(aws.read_text(bucket, key))
    plan = plan_finish(job, project, lines, exported, issuer=settings.label_studio_url)
    results = settings.results_bucket
    folder = JobLayout(job.job_id).labeling_job(job.job_name)
    for object_id, doc in plan.responses.items():
        aws.write_json(results, plan.response_keys[object_id], doc)
    consolidated: list[dict[str, Any]] = []
    if plan.payload:
        aws.write_json(results, plan.request_key, plan.payload)
        event = consolidation_event(
            labeling_job_arn=labeling_job_arn(function_arn, job.job_name),
            project=project,
            payload_uri=f"s3://{results}/{plan.request_key}",
            role_arn=function_arn,
        )
        consolidated = consolidate_request(
            event,
            projects=settings.labelflow_projects,
            artifacts_bucket=settings.artifacts_bucket,
            skills_table=settings.skills_table,
            topic_arn=settings.topic_arn,
        )
        aws.write_json(results, folder.consolidation_response(plan.stamp), consolidated)
    body, counters = output_manifest(
        lines, plan, consolidated, attribute=project.name, job_name=job.job_name, created=moment
    )
    aws.write_bytes(results, folder.output_manifest, body, "application/jsonl")
    result = completed(job.job_name, f"s3://{results}/{folder.output_manifest}", counters)
    sent = send_outcome(client("stepfunctions"), job.task_token, result)
    logger.info(
        "label studio job finished",
        extra={
            "labeling_job": job.job_name,
            "sent": sent,
            "readiness": ready,
            "expired": len(plan.expired),
            "deleted": len(plan.deleted),
            "unconvertible": plan.unconvertible,
            **counters,
        },
    )
    return FinishReport(
        job_name=job.job_name,
        outcome="finished" if sent == "success" else "token-spent",
        readiness=ready,
        label_counters=counters,
        expired=plan.expired,
        deleted=plan.deleted,
        unconvertible=plan.unconvertible,
        skipped=plan.skipped,
    )
