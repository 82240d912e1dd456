"""Decisions of the Label Studio backend (pure: no AWS, no HTTP, no logging).

The backend runs a labeling job of one manifest chunk as one Label Studio project and hands
the workflow exactly what a Ground Truth job would: worker responses, a consolidation request,
an output manifest in Ground Truth's layout and ``{"jobName", "status", "outputManifestUri",
"labelCounters"}``.

* Start: :func:`chunk_source_kind`, :func:`template_key`, :func:`build_tasks`,
  :func:`instructions_html`, :func:`project_title`.
* Webhook: :func:`header`, :func:`authenticate`, :class:`WebhookCall`.
* Waiting jobs: :class:`WaitingJob` (the tokens-table item), :func:`readiness`.
* Finish: :func:`plan_finish` (worker-response files and the consolidation payload from Label
  Studio's export) and :func:`output_manifest` (lines and label counters once consolidated).
* Workers: :func:`worker_id` and :func:`user_id`, a Label Studio user as a Ground Truth
  ``workerId`` (``labelstudio.<user id>``) and back.

Items and tasks. Line ``i`` (0-based) of the chunk's manifest is Ground Truth's
``datasetObjectId`` ``"i"``; its Label Studio task carries ``i`` under :data:`LINE_KEY`, the
line's ``source-ref``/``source`` under the same key, and the item under ``image`` (a URL the
browser can load) or ``text``, so every answer maps back to its line.
"""

from __future__ import annotations

import base64
import hmac
import html
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from gt_contracts import ContractError, ProjectConfig, SourceKind
from job_contracts.layout import JobLayout, labelstudio_config_key
from job_contracts.tokens import LABEL_STUDIO, WaitingStep
from labelstudio_backend.convert import ConversionError, answer_content

__all__ = [
    "DEFAULT_ANSWER_NAME",
    "EXPIRED_REASON",
    "LINE_KEY",
    "SECRET_HEADER",
    "WORKER_PREFIX",
    "FinishPlan",
    "Readiness",
    "WaitingJob",
    "WebhookCall",
    "authenticate",
    "build_tasks",
    "chunk_source_kind",
    "consolidation_event",
    "header",
    "instructions_html",
    "labeling_job_arn",
    "output_manifest",
    "parse_manifest",
    "plan_finish",
    "project_title",
    "readiness",
    "template_key",
    "timestamp",
    "user_id",
    "worker_id",
]

#: The task data key holding the manifest line's 0-based index.
LINE_KEY = "labelflowLine"
#: The header carrying the shared webhook secret (Label Studio sends the webhook's headers).
SECRET_HEADER = "X-LabelFlow-Secret"
#: Name of the answer element when the project sets no ``answer_name`` (as ``worker_ui``).
DEFAULT_ANSWER_NAME = "answer"
#: Prefix of a Label Studio user's ``workerId``.
WORKER_PREFIX = "labelstudio."
#: Ground Truth's failure reason for items nobody answered before the tasks expired.
EXPIRED_REASON = (
    "ClientError: Annotation tasks expired. No worker answered the task before the job's deadline."
)
_DATA_KEYS: Mapping[SourceKind, str] = {"s3": "image", "text": "text"}
_SOURCE_KEYS: Mapping[SourceKind, str] = {"s3": "source-ref", "text": "source"}
_IMAGE_TYPES = frozenset(
    {
        "image-classification",
        "image-classification-multilabel",
        "bounding-box",
        "semantic-segmentation",
        "keypoint",
    }
)
_EITHER_TYPES = frozenset({"free-text", "numeric"})
_MAX_TITLE = 50


# -- start ----------------------------------------------------------------------------------------


def _line_kind(line: Mapping[str, Any], index: int) -> SourceKind:
    has_ref, has_text = "source-ref" in line, "source" in line
    if has_ref == has_text:
        raise ContractError(f"line {index}: needs exactly one of 'source-ref' and 'source'")
    return "s3" if has_ref else "text"


def chunk_source_kind(project: ProjectConfig, lines: Sequence[Mapping[str, Any]]) -> SourceKind:
    """What the chunk's items are: ``"s3"`` (images) or ``"text"``.

    A Label Studio project shows one kind of item, so a free-text or numeric chunk must not
    mix them.

    Raises:
        ContractError: an empty chunk, a line of neither or both kinds, a kind the task type
            cannot label, or a mixed free-text/numeric chunk.
    """
    if not lines:
        raise ContractError("the chunk has no lines")
    kinds = {_line_kind(line, index) for index, line in enumerate(lines)}
    if project.task_type in _EITHER_TYPES:
        if len(kinds) > 1:
            raise ContractError(
                f"project {project.name!r}: a Label Studio job labels images or texts, not both"
            )
        return kinds.pop()
    expected: SourceKind = "s3" if project.task_type in _IMAGE_TYPES else "text"
    if kinds != {expected}:
        raise ContractError(
            f"project {project.name!r} ({project.task_type}) labels {_SOURCE_KEYS[expected]!r} "
            "lines only"
        )
    return expected


def template_key(project: ProjectConfig, source_kind: SourceKind) -> str:
    """The key of the project's labeling config in the artifacts bucket."""
    if project.task_type in _EITHER_TYPES:
        return labelstudio_config_key(project.name, "image" if source_kind == "s3" else "text")
    return labelstudio_config_key(project.name, None)


def build_tasks(
    lines: Sequence[Mapping[str, Any]],
    source_kind: SourceKind,
    *,
    presign: Callable[[str], str],
    skip: frozenset[int] = frozenset(),
) -> list[dict[str, Any]]:
    """The Label Studio tasks of the chunk's lines, leaving out the line indexes in ``skip``.

    ``presign`` turns a ``source-ref`` S3 URI into a URL the worker's browser can load.
    """
    source_key = _SOURCE_KEYS[source_kind]
    tasks = []
    for index, line in enumerate(lines):
        if index in skip:
            continue
        source = line[source_key]
        item = presign(source) if source_kind == "s3" else source
        tasks.append({"data": {_DATA_KEYS[source_kind]: item, LINE_KEY: index, source_key: source}})
    return tasks


def instructions_html(project: ProjectConfig) -> str:
    """The project's instructions as escaped HTML paragraphs (Label Studio shows HTML)."""
    texts = [project.short_instruction, *project.full_instruction.splitlines()]
    return "".join(f"<p>{html.escape(text.strip())}</p>" for text in texts if text.strip())


def project_title(job_name: str) -> str:
    """The Label Studio project's title: the job name, cut to Label Studio's 50 characters.

    The full job name is the project's description, which a retried start step matches.
    """
    return job_name[:_MAX_TITLE]


# -- webhook --------------------------------------------------------------------------------------


def header(headers: Mapping[str, Any] | None, name: str) -> str | None:
    """A request header, whatever its case (function URLs lower-case them)."""
    wanted = name.lower()
    for key, value in (headers or {}).items():
        if key.lower() == wanted and isinstance(value, str):
            return value
    return None


def authenticate(presented: str | None, secret: str) -> Literal[200, 401, 403]:
    """200 when ``presented`` is the secret (constant-time), 401 when absent, 403 when wrong."""
    if not presented:
        return 401
    if hmac.compare_digest(presented.encode(), secret.encode()):
        return 200
    return 403


@dataclass(frozen=True, slots=True)
class WebhookCall:
    """What a Label Studio webhook call says: the action and the project it happened in."""

    action: str
    project_id: int

    @classmethod
    def from_request(cls, event: Mapping[str, Any]) -> WebhookCall:
        """Parse the HTTP event's body (function URL or API Gateway; base64 or not).

        Label Studio sends ``{"action", "project": {"id", ...}, ...}``; annotation actions
        add ``annotation`` (a list for ``ANNOTATIONS_CREATED``) and ``task``, each with its
        ``project`` id, which is used when ``project`` is missing.

        Raises:
            ContractError: no JSON body, no action or no project id.
        """
        raw = event.get("body")
        if not isinstance(raw, str) or not raw:
            raise ContractError("the webhook call has no body")
        if event.get("isBase64Encoded"):
            try:
                raw = base64.b64decode(raw).decode("utf-8")
            except ValueError:
                raise ContractError("the webhook body is not base64 UTF-8") from None
        try:
            body = json.loads(raw)
        except ValueError:
            raise ContractError("the webhook body is not JSON") from None
        if not isinstance(body, Mapping):
            raise ContractError("the webhook body is not a JSON object")
        action = body.get("action")
        if not isinstance(action, str) or not action:
            raise ContractError("the webhook body has no action")
        project_id = _project_id(body)
        if project_id is None:
            raise ContractError(f"the {action} webhook names no project")
        return cls(action, project_id)


def _project_id(body: Mapping[str, Any]) -> int | None:
    project = body.get("project")
    if isinstance(project, Mapping):
        project = project.get("id")
    if isinstance(project, int) and not isinstance(project, bool):
        return project
    for key in ("annotation", "task", "tasks", "annotations"):
        rows = body.get(key)
        for row in rows if isinstance(rows, list) else [rows]:
            if isinstance(row, Mapping):
                found = row.get("project")
                if isinstance(found, int) and not isinstance(found, bool):
                    return found
    return None


# -- waiting jobs ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WaitingJob:
    """A waiting step of a Label Studio job: its tokens-table item, every field present."""

    job_name: str
    task_token: str
    job_id: str
    project: str
    label_studio_project: int
    deadline: int
    manifest_uri: str
    stored_at: int

    @classmethod
    def from_step(cls, step: WaitingStep) -> WaitingJob:
        """The Label Studio view of a tokens-table item.

        Raises:
            ContractError: not a Label Studio item, or a field of one missing.
        """
        if step.backend != LABEL_STUDIO:
            raise ContractError(
                f"tokens item is not a {LABEL_STUDIO} job: backend={step.backend!r}"
            )
        if step.label_studio_project is None or step.deadline is None or not step.manifest_uri:
            raise ContractError("tokens item: a Label Studio job's fields are missing")
        if not step.job_id or not step.project:
            raise ContractError("tokens item: jobId and project are required")
        return cls(
            job_name=step.job_name,
            task_token=step.task_token,
            job_id=step.job_id,
            project=step.project,
            label_studio_project=step.label_studio_project,
            deadline=step.deadline,
            manifest_uri=step.manifest_uri,
            stored_at=step.stored_at,
        )

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> WaitingJob:
        """Parse a DynamoDB item (attribute-value form).

        Raises:
            ContractError: not a Label Studio item, or an attribute missing or malformed.
        """
        return cls.from_step(WaitingStep.from_item(item))


Readiness = Literal["complete", "deadline", "waiting"]


def readiness(
    answers_per_task: Sequence[int], *, workers_per_item: int, deadline: int, now: int
) -> Readiness:
    """Whether to finish: every remaining task has its answers, or the deadline has passed.

    ``answers_per_task`` counts the submitted (not skipped) answers of each task still in
    the project; deleted tasks are not waited for.
    """
    if all(count >= workers_per_item for count in answers_per_task):
        return "complete"
    if now >= deadline:
        return "deadline"
    return "waiting"


# -- finish ---------------------------------------------------------------------------------------


def timestamp(moment: datetime) -> str:
    """Ground Truth's worker-response time format: ``YYYY-MM-DDTHH:MM:SS.mmmZ``."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _parse_time(raw: object) -> datetime | None:
    if not isinstance(raw, str):
        return None
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def worker_id(user: str | int) -> str:
    """The ``workerId`` of Label Studio user ``user``: ``labelstudio.<user id>``."""
    return f"{WORKER_PREFIX}{user}"


def user_id(worker: str) -> int | None:
    """The Label Studio user id of a ``workerId`` (``None``: not a Label Studio worker).

    Example:
        >>> user_id("labelstudio.7"), user_id("private.us-east-1.abc")
        (7, None)
    """
    number = worker.removeprefix(WORKER_PREFIX)
    if number == worker or not number.isdigit():
        return None
    return int(number)


def _user_id(raw: object) -> str | None:
    if isinstance(raw, Mapping):
        raw = raw.get("id")
    if isinstance(raw, int) and not isinstance(raw, bool):
        return str(raw)
    return None


@dataclass(frozen=True, kw_only=True)
class FinishPlan:
    """What to write for one finished Label Studio job, before consolidation.

    Attributes:
        responses: worker-response file documents by ``datasetObjectId``.
        response_keys: their keys in the results bucket by ``datasetObjectId``.
        payload: the consolidation request (one entry per item with answers).
        request_key: where the consolidation request goes.
        answered: ``datasetObjectId`` s with at least one answer.
        expired: items whose task nobody answered (Ground Truth's expired tasks).
        deleted: items whose task is gone from Label Studio (left unlabeled).
        unconvertible: answers that had no Ground Truth form (recorded as ``{}``).
        skipped: skipped (cancelled) Label Studio answers, not counted as answers.
    """

    responses: Mapping[str, dict[str, Any]]
    response_keys: Mapping[str, str]
    payload: list[dict[str, Any]]
    request_key: str
    answered: frozenset[str]
    expired: tuple[str, ...]
    deleted: tuple[str, ...]
    unconvertible: int
    skipped: int
    stamp: str = field(default="")


def plan_finish(
    job: WaitingJob,
    project: ProjectConfig,
    lines: Sequence[Mapping[str, Any]],
    exported: Sequence[Mapping[str, Any]],
    *,
    issuer: str,
) -> FinishPlan:
    """Worker responses and the consolidation request from Label Studio's JSON export.

    Args:
        job: the waiting job.
        project: its project.
        lines: the chunk's manifest lines, in order.
        exported: Label Studio's export of the project, unanswered tasks included.
        issuer: the Label Studio address, recorded as the workers' identity issuer.

    File names are the latest submission time among the answers they hold (the request's: of
    the whole job), so a retried finish writes the same keys instead of adding files.

    Raises:
        ContractError: an exported task without a valid line index.
    """
    name = project.answer_name or DEFAULT_ANSWER_NAME
    folder = JobLayout(job.job_id).labeling_job(job.job_name)
    tasks: dict[int, Mapping[str, Any]] = {}
    for task in exported:
        data = task.get("data")
        index = data.get(LINE_KEY) if isinstance(data, Mapping) else None
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(lines):
            raise ContractError(f"Label Studio task {task.get('id')!r} has no valid {LINE_KEY}")
        tasks[index] = task
    responses: dict[str, dict[str, Any]] = {}
    keys: dict[str, str] = {}
    payload: list[dict[str, Any]] = []
    expired: list[str] = []
    deleted: list[str] = []
    unconvertible = skipped = 0
    latest_overall: datetime | None = None
    for index, line in enumerate(lines):
        object_id = str(index)
        found = tasks.get(index)
        if found is None:
            deleted.append(object_id)
            continue
        text = line.get("source") if isinstance(line.get("source"), str) else None
        answers: list[dict[str, Any]] = []
        latest: datetime | None = None
        for annotation in found.get("annotations") or []:
            if not isinstance(annotation, Mapping):
                continue
            if annotation.get("was_cancelled"):
                skipped += 1
                continue
            worker = _user_id(annotation.get("completed_by"))
            if worker is None:
                continue
            try:
                content = answer_content(
                    project.task_type, annotation.get("result") or [], name=name, text=text
                )
            except ConversionError:
                content = {}
                unconvertible += 1
            submitted = _parse_time(annotation.get("updated_at")) or _parse_time(
                annotation.get("created_at")
            )
            spent = annotation.get("lead_time")
            seconds = round(float(spent), 3) if isinstance(spent, int | float) else None
            entry: dict[str, Any] = {"answerContent": content}
            if submitted is not None:
                accepted = submitted - timedelta(seconds=seconds or 0)
                entry["acceptanceTime"] = timestamp(accepted)
                entry["submissionTime"] = timestamp(submitted)
                latest = submitted if latest is None else max(latest, submitted)
            if seconds is not None:
                entry["timeSpentInSeconds"] = seconds
            entry["workerId"] = worker_id(worker)
            entry["workerMetadata"] = {
                "identityData": {
                    "identityProviderType": "LabelStudio",
                    "issuer": issuer,
                    "sub": worker,
                }
            }
            answers.append(entry)
        if not answers:
            expired.append(object_id)
            continue
        stamp = _file_stamp(latest)
        responses[object_id] = {"answers": answers}
        keys[object_id] = folder.worker_response(object_id, stamp)
        if latest is not None:
            latest_overall = latest if latest_overall is None else max(latest_overall, latest)
        data_object = (
            {"s3Uri": line["source-ref"]} if "source-ref" in line else {"content": line["source"]}
        )
        payload.append(
            {
                "datasetObjectId": object_id,
                "dataObject": data_object,
                "annotations": [
                    {
                        "workerId": answer["workerId"],
                        "annotationData": {"content": json.dumps(answer["answerContent"])},
                    }
                    for answer in answers
                ],
            }
        )
    stamp = _file_stamp(latest_overall)
    return FinishPlan(
        responses=responses,
        response_keys=keys,
        payload=payload,
        request_key=folder.consolidation_request(stamp),
        answered=frozenset(responses),
        expired=tuple(expired),
        deleted=tuple(deleted),
        unconvertible=unconvertible,
        skipped=skipped,
        stamp=stamp,
    )


def _file_stamp(moment: datetime | None) -> str:
    if moment is None:
        return "1970-01-01_00:00:00"
    return moment.astimezone(UTC).strftime("%Y-%m-%d_%H:%M:%S")


def consolidation_event(
    *, labeling_job_arn: str, project: ProjectConfig, payload_uri: str, role_arn: str
) -> dict[str, Any]:
    """The consolidation request Ground Truth would send for this job."""
    return {
        "version": "2018-10-16",
        "labelingJobArn": labeling_job_arn,
        "labelCategories": list(project.labels),
        "labelAttributeName": project.name,
        "roleArn": role_arn,
        "payload": {"s3Uri": payload_uri},
    }


def output_manifest(
    lines: Sequence[Mapping[str, Any]],
    plan: FinishPlan,
    consolidated: Sequence[Mapping[str, Any]],
    *,
    attribute: str,
    job_name: str,
    created: datetime,
) -> tuple[bytes, dict[str, int]]:
    """The output manifest (Ground Truth's augmented-manifest format) and label counters.

    Each line is the input line plus ``<attribute>`` and ``<attribute>-metadata`` when
    consolidated; an item with answers but no consolidated value, and an item nobody answered
    (expired), get only the metadata with a ``failure-reason`` (``FailedNonRetryableError``);
    an item whose task was deleted is written unchanged (``Unlabeled``).
    """
    values: dict[str, Any] = {}
    for entry in consolidated:
        content = entry.get("consolidatedAnnotation", {}).get("content", {})
        if isinstance(content, Mapping) and attribute in content:
            values[str(entry.get("datasetObjectId"))] = content[attribute]
    stamp = created.astimezone(UTC).replace(tzinfo=None).isoformat()
    expired = set(plan.expired)
    out: list[str] = []
    labeled = failed = 0
    for index, line in enumerate(lines):
        object_id = str(index)
        row = dict(line)
        if object_id in values:
            row[attribute] = values[object_id]
            row[f"{attribute}-metadata"] = {
                "type": "groundtruth/custom",
                "job-name": f"labeling-job/{job_name}",
                "human-annotated": "yes",
                "creation-date": stamp,
            }
            labeled += 1
        elif object_id in plan.answered or object_id in expired:
            reason = (
                EXPIRED_REASON
                if object_id in expired
                else "ClientError: The consolidation returned no annotation"
            )
            row[f"{attribute}-metadata"] = {
                "retry-count": 1,
                "failure-reason": reason,
                "human-annotated": "true",
            }
            failed += 1
        out.append(json.dumps(row, ensure_ascii=False))
    counters = {
        "TotalLabeled": labeled,
        "HumanLabeled": labeled,
        "MachineLabeled": 0,
        "FailedNonRetryableError": failed,
        "Unlabeled": len(lines) - labeled - failed,
    }
    return ("\n".join(out) + "\n").encode("utf-8"), counters


def labeling_job_arn(function_arn: str, job_name: str) -> str:
    """The labeling-job ARN a Ground Truth job of this name would have, in the function's
    partition, region and account (the consolidation reads the job name from it)."""
    parts = function_arn.split(":")
    if len(parts) < 5 or parts[0] != "arn":
        raise ContractError(f"not an ARN: {function_arn!r}")
    partition, region, account = parts[1], parts[3], parts[4]
    return f"arn:{partition}:sagemaker:{region}:{account}:labeling-job/{job_name}"


def parse_manifest(text: str) -> list[dict[str, Any]]:
    """The JSON objects of a manifest's non-blank lines.

    Raises:
        ContractError: a line that is not a JSON object.
    """
    lines: list[dict[str, Any]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            line = json.loads(raw)
        except ValueError:
            raise ContractError(f"manifest line {number} is not JSON") from None
        if not isinstance(line, dict):
            raise ContractError(f"manifest line {number} is not a JSON object")
        lines.append(line)
    return lines
