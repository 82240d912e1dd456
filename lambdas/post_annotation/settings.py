"""Settings of the consolidation Lambda, read once from the environment.

================== ================================================================
variable           meaning
================== ================================================================
LABELFLOW_PROJECTS JSON object of projects (see :mod:`gt_contracts.projects`)
ARTIFACTS_BUCKET   bucket for worker-skill files (``skills/<project>/...``) and for
                   segmentation masks when the payload URI has no job output prefix
================== ================================================================

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
    artifacts_bucket: str = field(metadata={"env": "ARTIFACTS_BUCKET"})

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Parse the settings.

        Raises:
            SettingsError: a variable is missing, empty or invalid.
        """
        try:
            projects = parse_projects(environ.get("LABELFLOW_PROJECTS"))
        except ContractError as exc:
            raise SettingsError(str(exc)) from None
        bucket = environ.get("ARTIFACTS_BUCKET", "").strip()
        if not bucket:
            raise SettingsError("ARTIFACTS_BUCKET is missing or empty")
        if "/" in bucket or bucket.startswith("s3:"):
            raise SettingsError(f"ARTIFACTS_BUCKET must be a bucket name, got {bucket!r}")
        return cls(labelflow_projects=projects, artifacts_bucket=bucket)


@functools.cache
def get_settings() -> Settings:
    """The settings of this process (parsed on first use)."""
    return Settings.from_env(os.environ)
