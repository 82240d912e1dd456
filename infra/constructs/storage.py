"""Storage: the customer-managed KMS key and the S3 buckets of a LabelFlow stage.

Creates:
- `key`: a KMS key with yearly rotation; it encrypts the data buckets and the functions' log
  groups (its key policy lets CloudWatch Logs of this account and region use it);
- `intake`: where manifests and items to label arrive. It sends S3 events to EventBridge and
  allows cross-origin GETs, because Ground Truth workers' browsers load images from it;
- `results`: labeling-job output (Ground Truth writes here) and published results;
- `artifacts`: derived state, such as worker-skill estimates carried between jobs;
- `audit`: the audit trail of every worker answer, under S3 Object Lock (governance mode for
  `audit_retention_days`, a year by default): within its retention a written record cannot
  be changed or deleted except by someone explicitly allowed to bypass governance retention;
- `access_logs`: the target of the other buckets' server access logs.

Every bucket blocks public access, accepts only TLS requests and is versioned. The data buckets
are encrypted with `key`; the access-log bucket uses S3-managed keys, because S3 server access
logging cannot deliver to a bucket whose default encryption is SSE-KMS.

Who may read or write what is decided by the stack.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, Aws, Duration, RemovalPolicy, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

__all__ = ["Storage"]


class Storage(Construct):
    """The stage's KMS key, data buckets and access-log bucket.

    Attributes:
        key: Customer-managed key of the data buckets and log groups.
        intake: Bucket for incoming manifests and items.
        results: Bucket for labeling-job output and results.
        artifacts: Bucket for derived state such as worker-skill estimates.
        audit: Object-locked bucket of the audit trail.
        access_logs: Bucket that receives the server access logs of the others.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        removal_policy: RemovalPolicy,
        access_log_retention_days: int = 365,
        audit_retention_days: int = 365,
    ) -> None:
        if access_log_retention_days < 1:
            raise ValueError(f"access_log_retention_days {access_log_retention_days} must be >= 1")
        super().__init__(scope, id_)

        self.key = kms.Key(
            self,
            "Key",
            description="Encrypts LabelFlow data buckets and function logs",
            enable_key_rotation=True,
            removal_policy=removal_policy,
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchLogsOfThisAccount",
                principals=[iam.ServicePrincipal(f"logs.{Aws.REGION}.amazonaws.com")],
                actions=[
                    "kms:Encrypt*",
                    "kms:Decrypt*",
                    "kms:ReEncrypt*",
                    "kms:GenerateDataKey*",
                    "kms:Describe*",
                ],
                resources=["*"],
                conditions={
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": (
                            f"arn:{Aws.PARTITION}:logs:{Aws.REGION}:{Aws.ACCOUNT_ID}:log-group:*"
                        )
                    }
                },
            )
        )

        self.access_logs = s3.Bucket(
            self,
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[
                s3.LifecycleRule(
                    expiration=Duration.days(access_log_retention_days),
                    noncurrent_version_expiration=Duration.days(1),
                )
            ],
            removal_policy=removal_policy,
        )
        self.intake = self._data_bucket(
            "Intake",
            removal_policy=removal_policy,
            event_bridge_enabled=True,
            cors=[
                s3.CorsRule(
                    allowed_methods=[s3.HttpMethods.GET],
                    allowed_origins=["*"],
                    exposed_headers=["Access-Control-Allow-Origin"],
                )
            ],
        )
        # EventBridge delivery is switched on by a CDK-provided custom resource whose handler is a
        # stack-level singleton; its role is CDK's, with the basic Lambda logging policy.
        for child in Stack.of(self).node.children:
            if child.node.id.startswith("BucketNotificationsHandler"):
                Validations.of(child).acknowledge(
                    Acknowledgment(
                        id=(
                            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/"
                            "service-role/AWSLambdaBasicExecutionRole]"
                        ),
                        reason=(
                            "CDK's deploy-time handler that turns on EventBridge notifications "
                            "for the intake bucket; the managed policy only lets it write its "
                            "own CloudWatch logs."
                        ),
                    )
                )
        self.results = self._data_bucket("Results", removal_policy=removal_policy)
        self.artifacts = self._data_bucket("Artifacts", removal_policy=removal_policy)
        self.audit = self._data_bucket(
            "Audit",
            removal_policy=removal_policy,
            object_lock=s3.ObjectLockRetention.governance(Duration.days(audit_retention_days)),
        )

    def _data_bucket(
        self,
        id_: str,
        *,
        removal_policy: RemovalPolicy,
        event_bridge_enabled: bool = False,
        cors: list[s3.CorsRule] | None = None,
        object_lock: s3.ObjectLockRetention | None = None,
    ) -> s3.Bucket:
        return s3.Bucket(
            self,
            id_,
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.key,
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix=f"{id_.lower()}/",
            event_bridge_enabled=event_bridge_enabled,
            cors=cors,
            object_lock_enabled=object_lock is not None or None,
            object_lock_default_retention=object_lock,
            removal_policy=removal_policy,
        )
