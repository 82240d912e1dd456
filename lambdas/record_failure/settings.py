"""Settings of the record-failure function, read once from the environment.

============== ==========================================================
variable       meaning
============== ==========================================================
JOBS_TABLE     DynamoDB table of jobs (``jobId`` -> job item)
TOPIC_ARN      SNS topic of job notifications
RESULTS_BUCKET bucket of ``jobs/<jobId>/validation.json`` (read only)
============== ==========================================================

Parsed by :mod:`handler_support.settings`: a missing or invalid variable raises
:class:`SettingsError` naming it.
"""

from __future__ import annotations

from dataclasses import dataclass

from handler_support.settings import (
    EnvSettings,
    SettingsError,
    arn,
    bucket_name,
    setting,
    settings_loader,
)

__all__ = ["Settings", "SettingsError", "get_settings"]


@dataclass(frozen=True, kw_only=True)
class Settings(EnvSettings):
    """Typed settings; build with :meth:`from_env`."""

    jobs_table: str = setting("JOBS_TABLE")
    topic_arn: str = setting("TOPIC_ARN", arn)
    results_bucket: str = setting("RESULTS_BUCKET", bucket_name)


get_settings = settings_loader(Settings)
