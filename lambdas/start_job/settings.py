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

Each field is named after its variable (lower-cased) and records the variable in its
``metadata["env"]``. A missing or invalid variable raises :class:`SettingsError` naming it.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from gt_contracts import ContractError, ProjectConfig, parse_projects

__all__ = ["Settings", "SettingsError", "get_settings"]


class SettingsError(ValueError):
    """A missing or invalid environment variable; the message names it."""


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Typed settings; build with :meth:`from_env`."""

    labelflow_projects: Mapping[str, ProjectConfig] = field(metadata={"env": "LABELFLOW_PROJECTS"})
    results_bucket: str = field(metadata={"env": "RESULTS_BUCKET"})
    jobs_table: str = field(metadata={"env": "JOBS_TABLE"})
    topic_arn: str = field(metadata={"env": "TOPIC_ARN"})
    state_machine_arn: str = field(metadata={"env": "STATE_MACHINE_ARN"})

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Parse the settings.

        Raises:
            SettingsError: a variable missing or empty, an ARN that is not an ARN, a bucket
                that is not a bucket name, or ``LABELFLOW_PROJECTS`` invalid.
        """
        try:
            projects = parse_projects(environ.get("LABELFLOW_PROJECTS"))
        except ContractError as exc:
            raise SettingsError(str(exc)) from None
        values = {}
        for name in ("RESULTS_BUCKET", "JOBS_TABLE", "TOPIC_ARN", "STATE_MACHINE_ARN"):
            value = environ.get(name, "").strip()
            if not value:
                raise SettingsError(f"{name} is missing or empty")
            if name.endswith("_ARN") and not value.startswith("arn:"):
                raise SettingsError(f"{name} must be an ARN, got {value!r}")
            if name.endswith("_BUCKET") and ("/" in value or value.startswith("s3:")):
                raise SettingsError(f"{name} must be a bucket name, got {value!r}")
            values[name.lower()] = value
        return cls(labelflow_projects=projects, **values)


@functools.cache
def get_settings() -> Settings:
    """The settings of this process (parsed on first use)."""
    return Settings.from_env(os.environ)
