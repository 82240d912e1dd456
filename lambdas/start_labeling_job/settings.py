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

Parsed by :mod:`handler_support.settings`: a missing or invalid variable raises
:class:`SettingsError` naming it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from gt_contracts import ProjectConfig
from handler_support.settings import (
    EnvSettings,
    SettingsError,
    arn,
    bucket_name,
    projects,
    setting,
    settings_loader,
)
from start_labeling_job.logic import JobSettings

__all__ = ["Settings", "SettingsError", "get_settings"]


@dataclass(frozen=True, kw_only=True)
class Settings(EnvSettings):
    """Typed settings; build with :meth:`from_env`."""

    labelflow_projects: Mapping[str, ProjectConfig] = setting("LABELFLOW_PROJECTS", projects)
    results_bucket: str = setting("RESULTS_BUCKET", bucket_name)
    artifacts_bucket: str = setting("ARTIFACTS_BUCKET", bucket_name)
    labeling_job_role_arn: str = setting("LABELING_JOB_ROLE_ARN", arn)
    kms_key_arn: str = setting("KMS_KEY_ARN", arn)
    aws_region: str = setting("AWS_REGION")
    pre_annotation_arn: str = setting("PRE_ANNOTATION_ARN", arn)
    consolidation_arn: str = setting("CONSOLIDATION_ARN", arn)
    tokens_table: str = setting("TOKENS_TABLE")

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


get_settings = settings_loader(Settings)
