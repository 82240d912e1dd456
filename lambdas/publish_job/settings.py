"""Settings of the Publish step, read once from the environment.

================ ==============================================================
variable         meaning
================ ==============================================================
RESULTS_BUCKET   bucket of job output (reads chunk manifests, writes ``jobs/<jobId>/output/``)
ARTIFACTS_BUCKET bucket of the batches' worker-skill documents
                 (``skills/<project>/<jobName>/``), read for the report
AUDIT_BUCKET     bucket of audit logs (``audit/<project>/<jobId>/<jobName>.jsonl``, Object Lock)
JOBS_TABLE       DynamoDB table of jobs (key ``jobId``)
TOPIC_ARN        SNS topic of job notifications
================ ==============================================================

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

    results_bucket: str = setting("RESULTS_BUCKET", bucket_name)
    artifacts_bucket: str = setting("ARTIFACTS_BUCKET", bucket_name)
    audit_bucket: str = setting("AUDIT_BUCKET", bucket_name)
    jobs_table: str = setting("JOBS_TABLE")
    topic_arn: str = setting("TOPIC_ARN", arn)


get_settings = settings_loader(Settings)
