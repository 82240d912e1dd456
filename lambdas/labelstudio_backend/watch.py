"""Worker alerts for Label Studio jobs still running (the sweep's mid-job check).

A Label Studio job is consolidated once, when it finishes; a worker who answers badly would
otherwise be noticed only then. So for each waiting job of a project with a
``worker_alert``, the sweep calls :func:`watch_job`: it exports the answers given so far,
plans them as the finish would (:func:`labelstudio_backend.logic.plan_finish`, in memory) and
judges the workers on them (:func:`gt_consolidation.check_workers`: consolidated in memory,
on the project's current skill; nothing is written but the flags).

A worker flagged now is, by the project's ``worker_alert.removal``:

* ``"none"``: only announced;
* ``"project"``: taken off the job's Label Studio project (project membership, Label Studio
  Enterprise); a server without it (Community Edition answers 404) keeps the worker, and the
  alert says ``"unsupported"``;
* ``"organization"``: taken out of the Label Studio organization LabelFlow acts in, so out of
  every project there (the account and its answers are kept; an administrator can add it
  back); one already out counts as removed.

Removal never fails the check: a refusal or an unreachable server is logged and the alert
says ``"failed"``. A worker first flagged when the job finishes is announced by the finish's
consolidation and not removed (the job has no task left to give them).

Errors: Label Studio unreadable while exporting raises
:class:`~label_studio_api.LabelStudioError`; a failed event or notification raises (the next
sweep tries again).
"""

from __future__ import annotations

from aws_lambda_powertools import Logger

from gt_consolidation import check_workers
from gt_consolidation.alerts import Remover
from gt_contracts import parse_s3_uri
from gt_contracts.project_schema import WorkerRemoval
from job_contracts.worker_alerts import FlaggedWorker, RemovalOutcome, WorkerFlag
from label_studio_api import LabelStudioClient, LabelStudioError
from labelstudio_backend import aws
from labelstudio_backend.logic import (
    WaitingJob,
    consolidation_event,
    labeling_job_arn,
    parse_manifest,
    plan_finish,
    user_id,
)
from labelstudio_backend.settings import Settings

__all__ = ["watch_job"]

logger = Logger(child=True)


def watch_job(settings: Settings, job: WaitingJob, *, function_arn: str) -> list[FlaggedWorker]:
    """Flag (and, as configured, remove) the workers of a running job (module docstring).

    Args:
        settings: the function's settings.
        job: the waiting job.
        function_arn: the calling function's ARN, as for
            :func:`~labelstudio_backend.finish.try_finish`.

    Returns:
        The workers flagged now; none for a project without a ``worker_alert``.
    """
    project = settings.labelflow_projects.get(job.project)
    if project is None or project.worker_alert is None:
        return []
    studio = aws.label_studio(settings)
    exported = studio.export_annotations(job.label_studio_project)
    bucket, key = parse_s3_uri(job.manifest_uri, field="manifestUri")
    lines = parse_manifest(aws.read_text(bucket, key))
    plan = plan_finish(job, project, lines, exported, issuer=settings.label_studio_url)
    if not plan.payload:
        return []
    event = consolidation_event(
        labeling_job_arn=labeling_job_arn(function_arn, job.job_name),
        project=project,
        payload_uri=f"s3://{settings.results_bucket}/{plan.request_key}",
        role_arn=function_arn,
    )
    return check_workers(
        event,
        plan.payload,
        projects=settings.labelflow_projects,
        artifacts_bucket=settings.artifacts_bucket,
        skills_table=settings.skills_table,
        topic_arn=settings.topic_arn,
        remove=_remover(studio, job, project.worker_alert.removal),
    )


def _remover(studio: LabelStudioClient, job: WaitingJob, removal: WorkerRemoval) -> Remover | None:
    if removal == "none":
        return None

    def remove(flag: WorkerFlag) -> RemovalOutcome:
        user = user_id(flag.worker_id)
        where = {"labeling_job": job.job_name, "worker": flag.worker_id, "removal": removal}
        if user is None:
            logger.error("flagged worker is no Label Studio user", extra=where)
            return "failed"
        try:
            if removal == "project":
                studio.remove_project_member(job.label_studio_project, user)
                return "removed-from-project"
            organization = studio.whoami().organization
            if organization is None:
                logger.error("Label Studio names no active organization", extra=where)
                return "failed"
            studio.remove_organization_member(organization, user)
        except LabelStudioError as exc:
            return _refused(removal, exc, where)
        return "removed-from-organization"

    return remove


def _refused(
    removal: WorkerRemoval, exc: LabelStudioError, where: dict[str, str]
) -> RemovalOutcome:
    """What a refused removal means: Community Edition, a worker already out, or a failure."""
    if removal == "project" and exc.status == 404:
        logger.warning(
            "this Label Studio has no project membership (Community Edition); the flagged "
            "worker keeps labeling: set worker_alert.removal to 'organization' to remove them",
            extra=where,
        )
        return "unsupported"
    if removal == "organization" and exc.status == 404:
        return "removed-from-organization"  # already out of the organization
    logger.error("flagged worker not removed", extra={**where, "reason": str(exc)})
    return "failed"
