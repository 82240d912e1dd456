"""Settings of the consolidation Lambda, read once from the environment.

================== ================================================================
variable           meaning
================== ================================================================
LABELFLOW_PROJECTS JSON object of projects (see :mod:`gt_contracts.projects`)
ARTIFACTS_BUCKET   bucket for each batch's skill document (``skills/<project>/...``), for
                   segmentation masks when the payload URI has no job output prefix,
                   and for flagged workers (``alerts/<project>/...``)
SKILLS_TABLE       DynamoDB table of worker skill (:mod:`job_contracts.skill_store`)
TOPIC_ARN          optional: the notification topic told about flagged workers (set
                   when a project has a ``worker_alert`` and the stage runs jobs)
================== ================================================================

Parsed by :mod:`handler_support.settings`: a missing or invalid variable raises
:class:`SettingsError` naming it.
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
    projects,
    setting,
    settings_loader,
)

__all__ = ["Settings", "SettingsError", "get_settings"]


@dataclass(frozen=True, kw_only=True)
class Settings(EnvSettings):
    """Typed settings; build with :meth:`from_env`."""

    labelflow_projects: Mapping[str, ProjectConfig] = setting("LABELFLOW_PROJECTS", projects)
    artifacts_bucket: str = setting("ARTIFACTS_BUCKET", bucket_name)
    skills_table: str = setting("SKILLS_TABLE")
    topic_arn: str | None = setting("TOPIC_ARN", arn, default=None)


get_settings = settings_loader(Settings)
