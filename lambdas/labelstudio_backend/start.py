"""Start step of a Label Studio job: parse → fetch → decide → shape.

Invoked by the same ``.waitForTaskToken`` task event as the Ground Truth start step, once per
manifest chunk::

    {"taskToken": "...", "jobId": "<job id>", "project": "<project>",
     "chunk": {"index": 0, "manifestUri": "s3://<RESULTS_BUCKET>/jobs/<jobId>/chunks/0.manifest"}}

For the chunk's job (named :func:`job_contracts.ids.labeling_job_name`, like the Ground Truth
job) it:

1. reads the chunk's lines and the project's labeling config from
   ``s3://<ARTIFACTS_BUCKET>/templates/<project>.labelstudio.xml`` (``.image.`` / ``.text.``
   before ``labelstudio.xml`` for free text and numbers, by the chunk's kind of item);
2. finds the Label Studio project whose description is the job name, or creates it: title
   the job name (cut to 50 characters), the config, the project's instructions,
   ``maximum_annotations = workers_per_item``;
3. keeps the waiting step in ``TOKENS_TABLE`` (:meth:`job_contracts.tokens.TokenStore.put`)
   under the job name with ``backend = "label-studio"``, ``labelStudioProjectId``,
   ``manifestUri``, ``deadline`` (now + the project's ``task_availability_seconds``; a retry
   keeps the first deadline), ``jobId``, ``project``, ``storedAt`` and ``expiresAt``;
4. imports the lines that have no task yet: images as presigned GET URLs of their
   ``source-ref`` (``IMAGE_URL_SECONDS``), texts as ``text``, each with its line index and
   ``source-ref``/``source`` (:func:`labelstudio_backend.logic.build_tasks`);
5. registers the webhook ``<WEBHOOK_URL>?job=<jobName>`` with the shared secret in the
   ``X-LabelFlow-Secret`` header, unless the project already has one to that URL.

Every step finds what an earlier attempt made, so a retried step reuses the project, its
tasks and its webhook, and replaces the token with the new one. Returns ``{"jobName",
"labelStudioProjectId", "reused", "imported"}`` (the state machine ignores it).

Errors: a malformed event, an unknown project, a task type Label Studio answers cannot be
converted from, or a chunk the project cannot label raise ``ContractError``. DynamoDB
throttling raises :class:`job_contracts.tokens.Throttled` (retried by the workflow);
Label Studio unreachable after the client's retries raises ``LabelStudioUnavailable``, other
Label Studio failures ``LabelStudioError`` (neither message holds a secret).
"""

from __future__ import annotations

import time
import urllib.parse
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from gt_contracts import ContractError, ProjectConfig, parse_s3_uri
from handler_support import client, traced
from job_contracts.ids import labeling_job_name
from job_contracts.steps import StartRequest
from job_contracts.tokens import LABEL_STUDIO, TOKEN_GRACE_SECONDS, WaitingStep
from label_studio_api import LabelStudioClient
from labelstudio_backend import aws
from labelstudio_backend.convert import CONVERTIBLE_TASK_TYPES
from labelstudio_backend.logic import (
    LINE_KEY,
    SECRET_HEADER,
    build_tasks,
    chunk_source_kind,
    instructions_html,
    parse_manifest,
    project_title,
    template_key,
)
from labelstudio_backend.settings import Settings, SettingsError, get_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

__all__ = ["lambda_handler", "webhook_address"]

logger = Logger()


def _handle(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = get_settings()
    try:
        request = StartRequest.from_event(event)
        project = settings.labelflow_projects.get(request.project)
        if project is None:
            raise ContractError(f"project {request.project!r} is not configured")
        if project.task_type not in CONVERTIBLE_TASK_TYPES:
            raise ContractError(f"task type {project.task_type!r} cannot run on Label Studio")
        name = labeling_job_name(request.project, request.job_id, request.chunk.index)
        lines = parse_manifest(aws.read_text(*parse_s3_uri(request.chunk.manifest_uri)))
        kind = chunk_source_kind(project, lines)
    except ContractError as exc:
        logger.error("start event rejected", extra={"reason": str(exc)})
        raise
    logger.append_keys(job_id=request.job_id, project=request.project, labeling_job=name)
    config = aws.read_text(settings.artifacts_bucket, template_key(project, kind))
    studio = aws.label_studio(settings)
    project_id, reused = _project(studio, name, config, project)
    _store_token(settings, name, request, project, project_id)
    existing = studio.list_tasks(project_id) if reused else []
    skip = frozenset(
        index for task in existing if isinstance(index := task.data.get(LINE_KEY), int)
    )
    tasks = build_tasks(lines, kind, presign=_presigner(settings), skip=skip)
    studio.import_tasks(project_id, tasks)
    _webhook(studio, settings, project_id, name)
    logger.info(
        "label studio job started",
        extra={"label_studio_project": project_id, "reused": reused, "imported": len(tasks)},
    )
    return {
        "jobName": name,
        "labelStudioProjectId": project_id,
        "reused": reused,
        "imported": len(tasks),
    }


lambda_handler = logger.inject_lambda_context(log_event=False)(traced(_handle))


def webhook_address(base: str, job: str) -> str:
    """The webhook URL of one job: ``base`` with ``job=<job name>`` in its query."""
    parts = urllib.parse.urlsplit(base)
    query = [*urllib.parse.parse_qsl(parts.query), ("job", job)]
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


def _project(
    studio: LabelStudioClient, name: str, config: str, project: ProjectConfig
) -> tuple[int, bool]:
    """The job's Label Studio project id, and whether it already existed."""
    for found in studio.find_projects(project_title(name)):
        if found.description == name:
            return found.id, True
    created = studio.create_project(
        project_title(name),
        config,
        instructions=instructions_html(project),
        description=name,
        maximum_annotations=project.workers_per_item,
    )
    return created.id, False


def _presigner(settings: Settings) -> Any:
    def presign(uri: str) -> str:
        bucket, key = parse_s3_uri(uri, field="source-ref")
        url: str = client("s3").generate_presigned_url(
            "get_object",
            Params={"Bucket": bucket, "Key": key},
            ExpiresIn=settings.image_url_seconds,
        )
        return url

    return presign


def _webhook(studio: LabelStudioClient, settings: Settings, project_id: int, name: str) -> None:
    if not settings.webhook_url:
        raise SettingsError("WEBHOOK_URL is missing or empty: webhooks cannot be registered")
    url = webhook_address(settings.webhook_url, name)
    if any(hook.url == url for hook in studio.list_webhooks(project_id)):
        return
    studio.create_webhook(
        project_id, url, headers={SECRET_HEADER: aws.secret(settings.webhook_secret_arn)}
    )


def _store_token(
    settings: Settings,
    name: str,
    request: StartRequest,
    project: ProjectConfig,
    project_id: int,
) -> None:
    """Keep (or, on a retry, replace) the token; a retry keeps the first deadline."""
    now = int(time.time())
    aws.tokens(settings).put(
        WaitingStep(
            job_name=name,
            task_token=request.task_token,
            job_id=request.job_id,
            project=request.project,
            stored_at=now,
            expires_at=now + project.task_availability_seconds + TOKEN_GRACE_SECONDS,
            backend=LABEL_STUDIO,
            label_studio_project=project_id,
            deadline=now + project.task_availability_seconds,
            manifest_uri=request.chunk.manifest_uri,
        )
    )
