"""Settings of the Label Studio backend's functions, read once from the environment.

The start, webhook and sweep functions all get the same variables:

============================== ==============================================================
variable                       meaning
============================== ==============================================================
LABELFLOW_PROJECTS             JSON object of projects (see :mod:`gt_contracts.projects`)
RESULTS_BUCKET                 job output (``jobs/<jobId>/gt/<jobName>/``, Ground Truth's layout)
ARTIFACTS_BUCKET               labeling configs (``templates/<project>.labelstudio.xml``, with
                               ``.image``/``.text`` before ``.labelstudio`` for free text and
                               numbers), worker skill (``skills/<project>/``) and flagged
                               workers (``alerts/<project>/``)
TOKENS_TABLE                   DynamoDB table of ``jobName`` -> task token
SKILLS_TABLE                   DynamoDB table of worker skill (:mod:`job_contracts.skill_store`)
LABEL_STUDIO_URL               the Label Studio server (``https://...``, no ``/api``)
LABEL_STUDIO_TOKEN_SECRET_ARN  Secrets Manager secret holding the Label Studio API token
WEBHOOK_URL                    the webhook function's URL (function URL or API Gateway);
                               read by the start function only (the webhook function
                               cannot be given its own URL without a circular reference)
WEBHOOK_SECRET_ARN             Secrets Manager secret holding the shared webhook secret
IMAGE_URL_SECONDS              optional: lifetime of presigned image URLs (default 3600)
TOPIC_ARN                      optional: the notification topic told about flagged workers
                               (set when a project has a ``worker_alert``)
============================== ==============================================================

A secret's value is its ``SecretString``, or the ``token``/``secret`` key of a JSON
``SecretString``. Parsed by :mod:`handler_support.settings`: a missing or invalid variable
raises :class:`SettingsError` naming it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from gt_contracts import ProjectConfig
from handler_support.settings import (
    EnvSettings,
    SettingsError,
    arn,
    bucket_name,
    http_url,
    projects,
    setting,
    settings_loader,
    whole_number,
)

__all__ = ["DEFAULT_IMAGE_URL_SECONDS", "Settings", "SettingsError", "get_settings"]

DEFAULT_IMAGE_URL_SECONDS = 3600
#: SigV4 presigned URLs live at most seven days.
_MAX_IMAGE_URL_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True, kw_only=True)
class Settings(EnvSettings):
    """Typed settings; build with :meth:`from_env`."""

    labelflow_projects: Mapping[str, ProjectConfig] = setting("LABELFLOW_PROJECTS", projects)
    results_bucket: str = setting("RESULTS_BUCKET", bucket_name)
    artifacts_bucket: str = setting("ARTIFACTS_BUCKET", bucket_name)
    tokens_table: str = setting("TOKENS_TABLE")
    skills_table: str = setting("SKILLS_TABLE")
    label_studio_url: str = setting("LABEL_STUDIO_URL", http_url)
    label_studio_token_secret_arn: str = setting("LABEL_STUDIO_TOKEN_SECRET_ARN", arn)
    webhook_secret_arn: str = setting("WEBHOOK_SECRET_ARN", arn)
    # Only the start function registers webhooks; the others run without it.
    webhook_url: str = setting("WEBHOOK_URL", http_url, default="")
    image_url_seconds: int = setting(
        "IMAGE_URL_SECONDS",
        whole_number(60, _MAX_IMAGE_URL_SECONDS),
        default=DEFAULT_IMAGE_URL_SECONDS,
    )
    topic_arn: str | None = setting("TOPIC_ARN", arn, default=None)


get_settings = settings_loader(Settings)
