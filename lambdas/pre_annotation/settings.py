"""Settings of the pre-annotation Lambda, read once from the environment.

================== ================================================================
variable           meaning
================== ================================================================
LABELFLOW_PROJECTS JSON object of projects (see :mod:`gt_contracts.projects`)
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

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Parse the settings.

        Raises:
            SettingsError: ``LABELFLOW_PROJECTS`` missing, not JSON, or with an invalid field.
        """
        try:
            projects = parse_projects(environ.get("LABELFLOW_PROJECTS"))
        except ContractError as exc:
            raise SettingsError(str(exc)) from None
        return cls(labelflow_projects=projects)


@functools.cache
def get_settings() -> Settings:
    """The settings of this process (parsed on first use)."""
    return Settings.from_env(os.environ)
