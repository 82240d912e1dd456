"""Settings of the Validate step, read once from the environment.

=================== ===============================================================
variable            meaning
=================== ===============================================================
RESULTS_BUCKET      bucket for ``jobs/<jobId>/...`` (clean manifest, rejects, counts,
                    chunks)
MAX_OBJECTS_PER_JOB objects per labeling job, a positive integer; default 100000
                    (semantic segmentation is capped at 20000 whatever this says)
DATA_SOURCES        JSON list of the stage's data sources besides intake,
                    ``[{"bucket", "prefixes"}]`` (:mod:`validate_manifest.sources`);
                    default ``[]``: items live in the manifest's bucket only
=================== ===============================================================

Parsed by :mod:`handler_support.settings`: a missing or invalid variable raises
:class:`SettingsError` naming it.
"""

from __future__ import annotations

from dataclasses import dataclass

from handler_support.settings import (
    EnvSettings,
    SettingsError,
    bucket_name,
    setting,
    settings_loader,
    whole_number,
)
from validate_manifest.logic import DEFAULT_MAX_OBJECTS_PER_JOB
from validate_manifest.sources import DataSource, parse_data_sources

__all__ = ["Settings", "SettingsError", "get_settings"]


@dataclass(frozen=True, kw_only=True)
class Settings(EnvSettings):
    """Typed settings; build with :meth:`from_env`."""

    results_bucket: str = setting("RESULTS_BUCKET", bucket_name)
    max_objects_per_job: int = setting(
        "MAX_OBJECTS_PER_JOB", whole_number(1), default=DEFAULT_MAX_OBJECTS_PER_JOB
    )
    data_sources: tuple[DataSource, ...] = setting("DATA_SOURCES", parse_data_sources, default=())


get_settings = settings_loader(Settings)
