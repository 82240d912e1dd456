"""GroundTruthLambdas: the pre-annotation and consolidation functions of a custom labeling job.

Ground Truth calls the pre-annotation function once per data object to build the worker task
input, and the consolidation (post-annotation) function once per batch of answered objects. Both
read the projects' settings from `LABELFLOW_PROJECTS`; the consolidation function also gets
`ARTIFACTS_BUCKET`, where it writes each batch's skill document, and `SKILLS_TABLE`, the skill
store every batch reads and adds to (docs/contracts.md). The construct owns that table: worker
skill is consolidation's own state.

The caller grants the labeling-job role permission to invoke these functions, and grants the
consolidation function access to the results and artifacts buckets; when a project has worker
alerts, it also gives the consolidation function the stage's topic (`TOPIC_ARN`, owned by the
job workflow, which is built after these functions) and what flagging workers takes.
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.constructs.runtime_function import FunctionPlatform, RuntimeFunction
from infra.constructs.tables import encrypted_table

__all__ = ["CONSOLIDATION_HANDLER", "PRE_ANNOTATION_HANDLER", "GroundTruthLambdas"]

PRE_ANNOTATION_HANDLER = "pre_annotation.handler.lambda_handler"
CONSOLIDATION_HANDLER = "post_annotation.handler.lambda_handler"


class GroundTruthLambdas(Construct):
    """The two functions a Ground Truth custom workflow invokes.

    Attributes:
        pre_annotation: Builds each task's input (`PreHumanTaskLambdaArn`).
        consolidation: Consolidates workers' answers
            (`AnnotationConsolidationConfig.AnnotationConsolidationLambdaArn`).
        skills: The skill store (`project`, `entry`): additive worker skill per project.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        platform: FunctionPlatform,
        projects_setting: str,
        artifacts_bucket: s3.IBucket,
        key: kms.IKey,
        removal_policy: RemovalPolicy,
    ) -> None:
        if not projects_setting.startswith("{"):
            raise ValueError("projects_setting must be the JSON object of project settings")
        super().__init__(scope, id_)

        self.pre_annotation = RuntimeFunction(
            self,
            "PreAnnotation",
            platform=platform,
            handler=PRE_ANNOTATION_HANDLER,
            environment={"LABELFLOW_PROJECTS": projects_setting},
            timeout=Duration.seconds(30),
            memory_size=256,
        )
        self.skills = encrypted_table(
            self,
            "Skills",
            partition_key="project",
            sort_key="entry",
            key=key,
            removal_policy=removal_policy,
        )
        # The largest batches Ground Truth sends are consolidated in one call: the maximum
        # timeout, and 1769 MB, the size at which a function gets one full vCPU.
        self.consolidation = RuntimeFunction(
            self,
            "Consolidation",
            platform=platform,
            handler=CONSOLIDATION_HANDLER,
            environment={
                "LABELFLOW_PROJECTS": projects_setting,
                "ARTIFACTS_BUCKET": artifacts_bucket.bucket_name,
                "SKILLS_TABLE": self.skills.table_name,
            },
            timeout=Duration.seconds(900),
            memory_size=1769,
        )
