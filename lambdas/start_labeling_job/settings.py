"""Settings of the StartLabelingJob step, read once from the environment.

========================= =========================================================
variable                  meaning
========================= =========================================================
LABELFLOW_PROJECTS        JSON object of projects (see :mod:`gt_contracts.projects`)
RESULTS_BUCKET            bucket of job output (``jobs/<jobId>/gt/``)
ARTIFACTS_BUCKET          bucket of worker task templates (``templates/<project>.liquid.html``)
LABELING_JOB_ROLE_ARN     role Ground Truth assumes for the job
KMS_KEY_ARN               key that encrypts the job's output (``OutputConfig.KmsKeyId``)
AWS_REGION                the function's region (set by Lambda; names the public work team)
PRE_ANNOTATION_ARN        ARN of the pre-annotation function
CONSOLIDATION_ARN         ARN of the consolidation function
TOKENS_TABLE              DynamoDB table of ``jobName`` -> task token
========================= =========================================================

Each field is named after its variable (lower-cased) and records the variable in its
``metadata["env"]``. A missing or invalid variable raises :class:`SettingsError` naming it.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from gt_contracts import ContractError, ProjectConfig, parse_projects
from start_labeling_job.logic import JobSettings

__all__ = ["Settings", "SettingsError", "get_settings"]


class SettingsError(ValueError):
    """A missing or invalid environment variable; the message names it."""


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Typed settings; build with :meth:`from_env`."""

    labelflow_projects: Mapping[str, ProjectConfig] = field(metadata={"env": "LABELFLOW_PROJECTS"})
    results_bucket: str = field(metadata={"env": "RESULTS_BUCKET"})
    artifacts_bucket: str = field(metadata={"env": "ARTIFACTS_BUCKET"})
    labeling_job_role_arn: str = field(metadata={"env": "LABELING_JOB_ROLE_ARN"})
    kms_key_arn: str = field(metadata={"env": "KMS_KEY_ARN"})
    aws_region: str = field(metadata={"env": "AWS_REGION"})
    pre_annotation_arn: str = field(metadata={"env": "PRE_ANNOTATION_ARN"})
    consolidation_arn: str = field(metadata={"env": "CONSOLIDATION_ARN"})
    tokens_table: str = field(metadata={"env": "TOKENS_TABLE"})

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Parse the settings.

        Raises:
            SettingsError: a variable missing or empty, an ARN that is not an ARN, or
                ``LABELFLOW_PROJECTS`` invalid.
        """
        try:
            projects = parse_projects(environ.get("LABELFLOW_PROJECTS"))
        except ContractError as exc:
            raise SettingsError(str(exc)) from None
        values = {}
        for name in (
            "RESULTS_BUCKET",
            "ARTIFACTS_BUCKET",
            "LABELING_JOB_ROLE_ARN",
            "KMS_KEY_ARN",
            "AWS_REGION",
            "PRE_ANNOTATION_ARN",
            "CONSOLIDATION_ARN",
            "TOKENS_TABLE",
        ):
            value = environ.get(name, "").strip()
            if not value:
                raise SettingsError(f"{name} is missing or empty")
            if name.endswith("_ARN") and not value.startswith("arn:"):
                raise SettingsError(f"{name} must be an ARN, got {value!r}")
            if name.endswith("_BUCKET") and ("/" in value or value.startswith("s3:")):
                raise SettingsError(f"{name} must be a bucket name, got {value!r}")
            values[name.lower()] = value
        return cls(labelflow_projects=projects, **values)

    @property
    def job(self) -> JobSettings:
        """What every labeling job uses."""
        return JobSettings(
            results_bucket=self.results_bucket,
            artifacts_bucket=self.artifacts_bucket,
            role_arn=self.labeling_job_role_arn,
            kms_key_arn=self.kms_key_arn,
            region=self.aws_region,
            pre_annotation_arn=self.pre_annotation_arn,
            consolidation_arn=self.consolidation_arn,
        )


@functools.cache
def get_settings() -> Settings:
    """The settings of this process (parsed on first use)."""
    return Settings.from_env(os.environ)
