"""LabelingJobRole: the execution role that SageMaker Ground Truth assumes for labeling jobs.

It trusts `sagemaker.amazonaws.com` and carries what every labeling job needs regardless of its
data: writing the job's CloudWatch logs under `/aws/sagemaker/LabelingJobs` and publishing its
metrics to the `AWS/SageMaker` namespace.

It deliberately does not use the managed policy `AmazonSageMakerGroundTruthExecution`, whose
Lambda and S3 permissions rely on resource-name patterns (`*SageMaker*`, `*GtRecipe*`,
`*LabelingFunction*`). The stack grants the exact functions, buckets, prefixes and keys
instead: invoking the two Ground Truth functions, reading items (intake and the stage's data
sources), the worker templates (`templates/` of artifacts) and the job's manifests, writing
the job's output in results.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, Aws, Validations
from aws_cdk import aws_iam as iam
from constructs import Construct

__all__ = ["LabelingJobRole"]

_LOG_GROUP = "/aws/sagemaker/LabelingJobs"


class LabelingJobRole(Construct):
    """The Ground Truth execution role.

    Attributes:
        role: The IAM role; pass its ARN as `RoleArn` of `CreateLabelingJob`.
    """

    def __init__(self, scope: Construct, id_: str) -> None:
        super().__init__(scope, id_)

        log_group_arn = (
            f"arn:{Aws.PARTITION}:logs:{Aws.REGION}:{Aws.ACCOUNT_ID}:log-group:{_LOG_GROUP}"
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description="Execution role of LabelFlow's Ground Truth labeling jobs",
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="LabelingJobLogs",
                actions=[
                    "logs:CreateLogGroup",
                    "logs:CreateLogStream",
                    "logs:DescribeLogStreams",
                    "logs:PutLogEvents",
                ],
                resources=[log_group_arn, f"{log_group_arn}:log-stream:*"],
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="LabelingJobMetrics",
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringEquals": {"cloudwatch:namespace": "AWS/SageMaker"}},
            )
        )
        Validations.of(self.role).acknowledge(
            Acknowledgment(
                id="AwsSolutions-IAM5[Resource::*]",
                reason=(
                    "cloudwatch:PutMetricData supports no resource-level permissions; the "
                    "statement is limited to the AWS/SageMaker namespace by condition."
                ),
            ),
            Acknowledgment(
                id=(
                    "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:"
                    f"<AWS::Region>:<AWS::AccountId>:log-group:{_LOG_GROUP}:log-stream:*]"
                ),
                reason=(
                    "Ground Truth names one log stream per labeling job at run time; the "
                    "wildcard covers streams of the labeling-job log group only."
                ),
            ),
        )
