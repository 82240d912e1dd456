"""Flagging workers mid-job and announcing each flag once (the I/O around the pure rule).

:func:`watch_workers` judges the workers of one consolidated batch for a project with a
``worker_alert`` (the rule: :mod:`job_contracts.worker_alerts`) and announces each worker it
flags for the first time in the labeling job:

1. the marker ``s3://<artifacts>/alerts/<project>/<jobName>/<worker>.json``
   (:func:`job_contracts.layout.alert_key`) is written only if absent (``IfNoneMatch: *``):
   of two batches, retries or sweeps that flag the same worker, one announces it; workers
   with a marker are not judged again;
2. on Label Studio, the caller's ``remove`` is tried and its outcome written to the marker;
3. the :class:`~job_contracts.worker_alerts.FlaggedWorker` document goes on the default event
   bus (``source: labelflow``, ``detail-type: LabelFlow Worker Flagged``) and, when the stage
   has a notification topic, to it with the ``project`` and ``kind`` (``worker-flagged``)
   message attributes, so the project's subscribers hear of it.

Errors: if the event or the notification fails, the marker is deleted and the error raised, so
the caller fails and a retry (Ground Truth retries the batch; the Label Studio finish and sweep
run again) announces the worker then. ``remove`` reports its own failures in its outcome.
Logs carry ids and figures only.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from aws_lambda_powertools import Logger

from gt_contracts import ProjectConfig
from handler_support import client, notify, put_event
from job_contracts.layout import alert_key, alerts_prefix
from job_contracts.skills import SkillRecord, StoredSkills
from job_contracts.tokens import error_code
from job_contracts.worker_alerts import (
    ALERT_KIND,
    WORKER_FLAGGED,
    FlaggedWorker,
    RemovalOutcome,
    WorkerFlag,
    current_skill,
    flag_workers,
)

__all__ = ["Remover", "watch_workers"]

logger = Logger(child=True)

#: Takes a flagged worker off the job (Label Studio) and says what became of them.
Remover = Callable[[WorkerFlag], RemovalOutcome]

# A marker already there, or another conditional write of it under way.
_TAKEN = frozenset({"PreconditionFailed", "412", "ConditionalRequestConflict", "409"})


def watch_workers(
    project: ProjectConfig,
    job_name: str,
    *,
    carried: StoredSkills,
    batch_workers: Sequence[Mapping[str, Any]],
    artifacts_bucket: str,
    topic_arn: str | None,
    remove: Remover | None = None,
) -> list[FlaggedWorker]:
    """Flag and announce the batch's workers whose accuracy is too low (module docstring).

    Args:
        project: the job's project; nothing happens without its ``worker_alert``.
        job_name: the labeling job.
        carried: the project's skill before this batch.
        batch_workers: the batch's worker-skill entries (``WorkerSkill.to_json``).
        artifacts_bucket: where the markers are.
        topic_arn: the stage's notification topic, if it has one.
        remove: what to do to a flagged worker besides the alert (Label Studio).

    Returns:
        The workers announced now.
    """
    alert = project.worker_alert
    if alert is None:
        return []
    batch = [SkillRecord.from_json(entry, f"workers[{i}]") for i, entry in enumerate(batch_workers)]
    flags = flag_workers(
        current_skill(carried.records, batch),
        min_accuracy=alert.min_accuracy,
        min_answers=alert.min_answers,
        already=_flagged(artifacts_bucket, project.name, job_name),
    )
    announced: list[FlaggedWorker] = []
    for flag in flags:
        flagged = FlaggedWorker(project=project.name, job_name=job_name, flag=flag)
        done = _announce(flagged, bucket=artifacts_bucket, topic_arn=topic_arn, remove=remove)
        if done is not None:
            announced.append(done)
    if announced:
        logger.warning(
            "workers flagged",
            extra={
                "project": project.name,
                "labeling_job": job_name,
                "workers": [f.flag.worker_id for f in announced],
            },
        )
    return announced


def _flagged(bucket: str, project: str, job_name: str) -> set[str]:
    """The workers with a marker in this labeling job."""
    pages = (
        client("s3")
        .get_paginator("list_objects_v2")
        .paginate(Bucket=bucket, Prefix=alerts_prefix(project, job_name))
    )
    return {
        urllib.parse.unquote(entry["Key"].rsplit("/", 1)[-1].removesuffix(".json"))
        for page in pages
        for entry in page.get("Contents", [])
    }


def _announce(
    flagged: FlaggedWorker, *, bucket: str, topic_arn: str | None, remove: Remover | None
) -> FlaggedWorker | None:
    """Claim the worker's marker, remove, announce; ``None`` when another call has claimed it."""
    key = alert_key(flagged.project, flagged.job_name, flagged.flag.worker_id)
    try:
        _put(bucket, key, flagged, only_new=True)
    except Exception as exc:
        if error_code(exc) in _TAKEN:
            return None
        raise
    try:
        if remove is not None:
            flagged = replace(flagged, removal=remove(flagged.flag))
            _put(bucket, key, flagged, only_new=False)
        detail = flagged.to_json()
        put_event(WORKER_FLAGGED, detail)
        if topic_arn is not None:
            notify(
                topic_arn,
                subject=f"LabelFlow: worker flagged in {flagged.job_name}",
                message=detail,
                project=flagged.project,
                kind=ALERT_KIND,
            )
    except BaseException:
        client("s3").delete_object(Bucket=bucket, Key=key)
        raise
    return flagged


def _put(bucket: str, key: str, flagged: FlaggedWorker, *, only_new: bool) -> None:
    """Write the marker; ``only_new``: only if there is none (``IfNoneMatch: *``)."""
    request: dict[str, Any] = {
        "Bucket": bucket,
        "Key": key,
        "Body": json.dumps(flagged.to_json(), sort_keys=True).encode(),
        "ContentType": "application/json",
    }
    if only_new:
        request["IfNoneMatch"] = "*"
    client("s3").put_object(**request)
