"""Settings of the Validate step, read once from the environment.

=================== ===============================================================
variable            meaning
=================== ===============================================================
RESULTS_BUCKET      bucket for ``jobs/<jobId>/...`` (clean manifest, rejects, chunks)
MAX_OBJECTS_PER_JOB objects per labeling job, a positive integer; default 100000
                    (semantic segmentation is capped at 20000 whatever this says)
=================== ===============================================================

Each field is named after its variable (lower-cased) and records the variable in its
``metadata["env"]``. A missing or invalid variable raises :class:`SettingsError` naming it.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from validate_manifest.logic import DEFAULT_MAX_OBJECTS_PER_JOB

__all__ = ["Settings", "SettingsError", "get_settings"]


class SettingsError(ValueError):
    """A missing or invalid environment variable; the message names it."""


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Typed settings; build with :meth:`from_env`."""

    results_bucket: str = field(metadata={"env": "RESULTS_BUCKET"})
    max_objects_per_job: int = field(
        default=DEFAULT_MAX_OBJECTS_PER_JOB, metadata={"env": "MAX_OBJECTS_PER_JOB"}
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Parse the settings.

        Raises:
            SettingsError: ``RESULTS_BUCKET`` missing, empty or not a bucket name, or
                ``MAX_OBJECTS_PER_JOB`` not a positive integer.
        """
        bucket = environ.get("RESULTS_BUCKET", "").strip()
        if not bucket:
            raise SettingsError("RESULTS_BUCKET is missing or empty")
        if "/" in bucket or bucket.startswith("s3:"):
            raise SettingsError(f"RESULTS_BUCKET must be a bucket name, got {bucket!r}")
        raw_limit = environ.get("MAX_OBJECTS_PER_JOB", "").strip()
        limit = DEFAULT_MAX_OBJECTS_PER_JOB
        if raw_limit:
            try:
                limit = int(raw_limit)
            except ValueError:
                limit = 0
            if limit < 1:
                raise SettingsError(
                    f"MAX_OBJECTS_PER_JOB must be a positive integer, got {raw_limit!r}"
                )
        return cls(results_bucket=bucket, max_objects_per_job=limit)


@functools.cache
def get_settings() -> Settings:
    """The settings of this process (parsed on first use)."""
    return Settings.from_env(os.environ)
