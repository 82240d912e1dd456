"""Settings of the Label Studio backend's functions, read once from the environment.

The start, webhook and sweep functions all get the same variables:

============================== ==============================================================
variable                       meaning
============================== ==============================================================
LABELFLOW_PROJECTS             JSON object of projects (see :mod:`gt_contracts.projects`)
RESULTS_BUCKET                 job output (``jobs/<jobId>/gt/<jobName>/``, Ground Truth's layout)
ARTIFACTS_BUCKET               labeling configs (``templates/<project>.labelstudio.xml``, with
                               ``.image``/``.text`` before ``.labelstudio`` for free text and
                               numbers) and worker skill (``skills/<project>/``)
TOKENS_TABLE                   DynamoDB table of ``jobName`` -> task token
LABEL_STUDIO_URL               the Label Studio server (``https://...``, no ``/api``)
LABEL_STUDIO_TOKEN_SECRET_ARN  Secrets Manager secret holding the Label Studio API token
WEBHOOK_URL                    the webhook function's URL (function URL or API Gateway);
                               read by the start function only (the webhook function
                               cannot be given its own URL without a circular reference)
WEBHOOK_SECRET_ARN             Secrets Manager secret holding the shared webhook secret
IMAGE_URL_SECONDS              optional: lifetime of presigned image URLs (default 3600)
============================== ==============================================================

A secret's value is its ``SecretString``, or the ``token``/``secret`` key of a JSON
``SecretString``. A missing or invalid variable raises :class:`SettingsError` naming it.
"""

from __future__ import annotations

import functools
import os
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field

from gt_contracts import ContractError, ProjectConfig, parse_projects

__all__ = ["DEFAULT_IMAGE_URL_SECONDS", "Settings", "SettingsError", "get_settings"]

DEFAULT_IMAGE_URL_SECONDS = 3600
#: SigV4 presigned URLs live at most seven days.
_MAX_IMAGE_URL_SECONDS = 7 * 24 * 3600


class SettingsError(ValueError):
    """A missing or invalid environment variable; the message names it."""


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Typed settings; build with :meth:`from_env`."""

    labelflow_projects: Mapping[str, ProjectConfig] = field(metadata={"env": "LABELFLOW_PROJECTS"})
    results_bucket: str = field(metadata={"env": "RESULTS_BUCKET"})
    artifacts_bucket: str = field(metadata={"env": "ARTIFACTS_BUCKET"})
    tokens_table: str = field(metadata={"env": "TOKENS_TABLE"})
    label_studio_url: str = field(metadata={"env": "LABEL_STUDIO_URL"})
    label_studio_token_secret_arn: str = field(metadata={"env": "LABEL_STUDIO_TOKEN_SECRET_ARN"})
    webhook_secret_arn: str = field(metadata={"env": "WEBHOOK_SECRET_ARN"})
    webhook_url: str = field(default="", metadata={"env": "WEBHOOK_URL"})
    image_url_seconds: int = field(
        default=DEFAULT_IMAGE_URL_SECONDS, metadata={"env": "IMAGE_URL_SECONDS"}
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Parse the settings.

        Raises:
            SettingsError: a variable missing, empty or invalid.
        """
        try:
            projects = parse_projects(environ.get("LABELFLOW_PROJECTS"))
        except ContractError as exc:
            raise SettingsError(str(exc)) from None
        values: dict[str, str] = {}
        for name in (
            "RESULTS_BUCKET",
            "ARTIFACTS_BUCKET",
            "TOKENS_TABLE",
            "LABEL_STUDIO_URL",
            "LABEL_STUDIO_TOKEN_SECRET_ARN",
            "WEBHOOK_URL",
            "WEBHOOK_SECRET_ARN",
        ):
            value = environ.get(name, "").strip()
            if name == "WEBHOOK_URL" and not value:
                continue  # only the start function registers webhooks
            if not value:
                raise SettingsError(f"{name} is missing or empty")
            if name.endswith("_ARN") and not value.startswith("arn:"):
                raise SettingsError(f"{name} must be an ARN, got {value!r}")
            if name.endswith("_BUCKET") and ("/" in value or value.startswith("s3:")):
                raise SettingsError(f"{name} must be a bucket name, got {value!r}")
            if name.endswith("_URL"):
                parsed = urllib.parse.urlsplit(value)
                if parsed.scheme not in {"http", "https"} or not parsed.netloc:
                    raise SettingsError(f"{name} must be an http(s) address")
            values[name.lower()] = value
        seconds_text = environ.get("IMAGE_URL_SECONDS", "").strip()
        seconds = DEFAULT_IMAGE_URL_SECONDS
        if seconds_text:
            try:
                seconds = int(seconds_text)
            except ValueError:
                raise SettingsError("IMAGE_URL_SECONDS must be a whole number") from None
            if not 60 <= seconds <= _MAX_IMAGE_URL_SECONDS:
                raise SettingsError(
                    f"IMAGE_URL_SECONDS must be 60..{_MAX_IMAGE_URL_SECONDS}, got {seconds}"
                )
        return cls(labelflow_projects=projects, image_url_seconds=seconds, **values)


@functools.cache
def get_settings() -> Settings:
    """The settings of this process (parsed on first use)."""
    return Settings.from_env(os.environ)
