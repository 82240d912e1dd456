"""Settings of the Publish step, read once from the environment.

================ ==============================================================
variable         meaning
================ ==============================================================
RESULTS_BUCKET   bucket of job output (reads chunk manifests, writes ``jobs/<jobId>/output/``)
ARTIFACTS_BUCKET bucket of worker-skill documents (``skills/<project>/<jobName>/``) and
                 of the carried-over prior (``skills/<project>/prior.json``)
AUDIT_BUCKET     bucket of audit logs (``audit/<project>/<jobId>/<jobName>.jsonl``, Object Lock)
JOBS_TABLE       DynamoDB table of jobs (key ``jobId``)
TOPIC_ARN        SNS topic of job notifications
================ ==============================================================

Each field is named after its variable (lower-cased) and records the variable in its
``metadata["env"]``. A missing or invalid variable raises :class:`SettingsError` naming it.
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

    results_bucket: str = field(metadata={"env": "RESULTS_BUCKET"})
    artifacts_bucket: str = field(metadata={"env": "ARTIFACTS_BUCKET"})
    audit_bucket: str = field(metadata={"env": "AUDIT_BUCKET"})
    jobs_table: str = field(metadata={"env": "JOBS_TABLE"})
    topic_arn: str = field(metadata={"env": "TOPIC_ARN"})

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Parse the settings.

        Raises:
            SettingsError: a variable missing or empty, an ARN that is not an ARN, or a
                bucket that is not a bucket name.
        """
        values = {}
        for name in (
            "RESULTS_BUCKET",
            "ARTIFACTS_BUCKET",
            "AUDIT_BUCKET",
            "JOBS_TABLE",
            "TOPIC_ARN",
        ):
            value = environ.get(name, "").strip()
            if not value:
                raise SettingsError(f"{name} is missing or empty")
            if name.endswith("_ARN") and not value.startswith("arn:"):
                raise SettingsError(f"{name} must be an ARN, got {value!r}")
            if name.endswith("_BUCKET") and ("/" in value or value.startswith("s3:")):
                raise SettingsError(f"{name} must be a bucket name, got {value!r}")
            values[name.lower()] = value
        return cls(**values)


@functools.cache
def get_settings() -> Settings:
    """The settings of this process (parsed on first use)."""
    return Settings.from_env(os.environ)
