"""Settings of the record-failure function, read once from the environment.

=========== ==========================================================
variable    meaning
=========== ==========================================================
JOBS_TABLE  DynamoDB table of jobs (``jobId`` -> job item)
TOPIC_ARN   SNS topic of job notifications
=========== ==========================================================

Parsed by :mod:`handler_support.settings`: a missing or invalid variable raises
:class:`SettingsError` naming it.
"""

from __future__ import annotations

from dataclasses import dataclass

from handler_support.settings import EnvSettings, SettingsError, arn, setting, settings_loader

__all__ = ["Settings", "SettingsError", "get_settings"]


@dataclass(frozen=True, kw_only=True)
class Settings(EnvSettings):
    """Typed settings; build with :meth:`from_env`."""

    jobs_table: str = setting("JOBS_TABLE")
    topic_arn: str = setting("TOPIC_ARN", arn)


get_settings = settings_loader(Settings)
