"""Settings of the record-failure function, read once from the environment.

=========== ==========================================================
variable    meaning
=========== ==========================================================
JOBS_TABLE  DynamoDB table of jobs (``jobId`` -> job item)
TOPIC_ARN   SNS topic of job notifications
=========== ==========================================================

A missing variable raises :class:`SettingsError` naming it.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["Settings", "SettingsError", "get_settings"]


class SettingsError(ValueError):
    """A missing or invalid environment variable; the message names it."""


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Typed settings; build with :meth:`from_env`."""

    jobs_table: str = field(metadata={"env": "JOBS_TABLE"})
    topic_arn: str = field(metadata={"env": "TOPIC_ARN"})

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Parse the settings.

        Raises:
            SettingsError: a variable missing or empty, or a topic that is not an ARN.
        """
        values = {}
        for name in ("JOBS_TABLE", "TOPIC_ARN"):
            value = environ.get(name, "").strip()
            if not value:
                raise SettingsError(f"{name} is missing or empty")
            values[name.lower()] = value
        if not values["topic_arn"].startswith("arn:"):
            raise SettingsError(f"TOPIC_ARN must be an ARN, got {values['topic_arn']!r}")
        return cls(**values)


@functools.cache
def get_settings() -> Settings:
    """The settings of this execution environment."""
    return Settings.from_env(os.environ)
