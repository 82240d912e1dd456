"""Settings of the intake trigger, read once from the environment.

================== ==========================================================
variable           meaning
================== ==========================================================
LABELFLOW_PROJECTS JSON object of projects (see :mod:`gt_contracts.projects`)
RESULTS_BUCKET     bucket of rejection records (``rejected/<key>.json``)
JOBS_TABLE         DynamoDB table of jobs (key ``jobId``)
TOPIC_ARN          SNS topic of job notifications
STATE_MACHINE_ARN  the job workflow
================== ==========================================================

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
    results_bucket: str = setting("RESULTS_BUCKET", bucket_name)
    jobs_table: str = setting("JOBS_TABLE")
    topic_arn: str = setting("TOPIC_ARN", arn)
    state_machine_arn: str = setting("STATE_MACHINE_ARN", arn)


get_settings = settings_loader(Settings)
