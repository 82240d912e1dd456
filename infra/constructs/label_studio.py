"""LabelStudio: the Label Studio server of a stage's "labelstudio" projects.

Two modes, chosen by `LabelStudioConfig.mode`:

- `existing`: a server the team already runs. The construct imports the admin's API-token
  secret by ARN and creates the webhook secret; nothing else.
- `provisioned`: the construct runs Label Studio from a digest-pinned image on ECS Fargate:
  - a VPC over two AZs: public subnets for the load balancer and one NAT gateway, private
    subnets with egress for the tasks, isolated subnets for the database, an S3 gateway
    endpoint, and flow logs to an encrypted log group. One NAT gateway rather than interface
    endpoints: the tasks pull the image from Docker Hub and Label Studio sends webhooks to
    LabelFlow's public endpoint, neither of which an endpoint serves, and the interface
    endpoints the tasks would need (Secrets Manager, KMS, CloudWatch Logs, STS) cost more
    across two AZs than one gateway;
  - RDS PostgreSQL in the isolated subnets: encrypted with the stage key, TLS required
    (`rds.force_ssl`), 7 days of automated backups, deletion protection unless the removal
    policy is DESTROY, credentials in a generated secret;
  - an S3 media bucket (stage key, TLS only, versioned, access-logged);
  - an internet-facing Application Load Balancer that accepts HTTPS only from the configured
    CIDR blocks (and the VPC's NAT address, so functions placed in the VPC reach it), redirects
    HTTP to HTTPS and writes access logs;
  - the Fargate service in the private subnets, its secrets (database password, admin password
    and API token, Django secret key) read from Secrets Manager at start, logs in an encrypted
    log group, autoscaling on CPU between the desired and maximum task counts.

Both modes expose `url`, `token_secret` (the admin's API token, which LabelFlow's functions
use) and `webhook_secret` (the shared secret Label Studio's webhooks carry). Granting functions
read access to the secrets, handing them the URL, and the DNS record that points `domain_name`
at the load balancer are left to the caller.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from aws_cdk import Acknowledgment, Duration, RemovalPolicy, Stack, Token, Validations
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_ecs_patterns as ecs_patterns
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_rds as rds
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.config import LabelStudioConfig

__all__ = ["ADMIN_USERNAME", "CONTAINER_PORT", "HEALTH_CHECK_PATH", "LabelStudio"]

#: The admin account LabelFlow acts as (Label Studio's user names are e-mail addresses).
ADMIN_USERNAME = "labelflow-admin@labelflow.internal"
#: The port `label-studio start` listens on in the official image.
CONTAINER_PORT = 8080
#: Label Studio's health view; it sets APPEND_SLASH = False, so "/health" is a 404.
HEALTH_CHECK_PATH = "/health/"
_DATABASE_NAME = "labelstudio"
_DATABASE_USER = "labelstudio"
_MEDIA_FOLDER = "media"
# Label Studio keeps API tokens in a 40-character column.
_TOKEN_LENGTH = 40
# The Secrets Manager suffix of a complete secret ARN.
_COMPLETE_ARN = re.compile(r"-[A-Za-z0-9]{6}$")


class LabelStudio(Construct):
    """A Label Studio server, imported or provisioned.

    Attributes:
        url: https:// address of the server, without a trailing slash.
        token_secret: Secret holding the admin's API token (a plain string).
        webhook_secret: Generated shared secret that webhooks carry, so receivers can tell
            Label Studio's calls from anyone else's.
        vpc: The VPC of the service and the database (provisioned mode only).
        database: The PostgreSQL instance (provisioned mode only).
        media_bucket: Bucket of uploaded media (provisioned mode only).
        service: The Fargate service (provisioned mode only).
        load_balancer: The HTTPS load balancer; point `domain_name` at its DNS name
            (provisioned mode only).
        access_logs: Bucket of the load balancer's and media bucket's access logs
            (provisioned mode only).
        log_group: Log group of the Label Studio containers (provisioned mode only).
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        config: LabelStudioConfig,
        key: kms.IKey,
        removal_policy: RemovalPolicy,
        log_retention: logs.RetentionDays = logs.RetentionDays.THREE_MONTHS,
    ) -> None:
        if config.mode == "provisioned" and Token.is_unresolved(Stack.of(scope).region):
            raise ValueError(
                "a provisioned Label Studio needs a stack with an explicit region: load "
                "balancer access logging is granted to that region's log-delivery account"
            )
        super().__init__(scope, id_)
        self.url = config.service_url
        self.vpc: ec2.Vpc | None = None
        self.database: rds.DatabaseInstance | None = None
        self.media_bucket: s3.Bucket | None = None
        self.service: ecs.FargateService | None = None
        self.load_balancer: elbv2.ApplicationLoadBalancer | None = None
        self.access_logs: s3.Bucket | None = None
        self.log_group: logs.LogGroup | None = None

        self.webhook_secret: secretsmanager.ISecret = self._generated_secret(
            "WebhookSecret",
            "Shared secret that Label Studio webhooks to LabelFlow carry",
            key=key,
            removal_policy=removal_policy,
            length=64,
            rotation_reason=(
                "Label Studio keeps the secret in each project's webhook headers; a rotation "
                "would have to rewrite every webhook at the same moment, so it is rotated by "
                "redeploying with a new secret."
            ),
        )
        self.token_secret: secretsmanager.ISecret
        if config.mode == "existing":
            arn = str(config.token_secret_arn)
            if _COMPLETE_ARN.search(arn):
                self.token_secret = secretsmanager.Secret.from_secret_complete_arn(
                    self, "TokenSecret", arn
                )
            else:
                self.token_secret = secretsmanager.Secret.from_secret_partial_arn(
                    self, "TokenSecret", arn
                )
            return
        self._provision(config, key=key, removal_policy=removal_policy, log_retention=log_retention)

    def _provision(
        self,
        config: LabelStudioConfig,
        *,
        key: kms.IKey,
        removal_policy: RemovalPolicy,
        log_retention: logs.RetentionDays,
    ) -> None:
        """The provisioned server, piece by piece (see the module docstring)."""
        protected = removal_policy != RemovalPolicy.DESTROY
        secrets = self._service_secrets(key=key, removal_policy=removal_policy)
        self.vpc = self._network(
            key=key, removal_policy=removal_policy, log_retention=log_retention
        )
        self.database = self._database(config, vpc=self.vpc, key=key, protected=protected)
        self.access_logs, self.media_bucket = self._buckets(key=key, removal_policy=removal_policy)
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            encryption_key=key,
            retention=log_retention,
            removal_policy=removal_policy,
        )
        fargate = self._service(
            config,
            vpc=self.vpc,
            database=self.database,
            media_bucket=self.media_bucket,
            log_group=self.log_group,
            secrets=secrets,
        )
        self.service = fargate.service
        self.load_balancer = fargate.load_balancer
        self._load_balancer(
            config,
            fargate=fargate,
            vpc=self.vpc,
            access_logs=self.access_logs,
            protected=protected,
        )
        self.database.connections.allow_default_port_from(
            self.service, "Label Studio tasks to PostgreSQL"
        )
        self._grant_media(fargate.task_definition, self.media_bucket)
        self._autoscale(self.service, config)

    def _service_secrets(
        self, *, key: kms.IKey, removal_policy: RemovalPolicy
    ) -> dict[str, secretsmanager.Secret]:
        """The admin's API token (`token_secret`), the admin password and the Django key.

        Returns:
            The service's secrets by the container variable that reads each one.
        """
        token = self._generated_secret(
            "AdminToken",
            "API token of the Label Studio admin that LabelFlow acts as",
            key=key,
            removal_policy=removal_policy,
            length=_TOKEN_LENGTH,
            rotation_reason=(
                "Label Studio sets the admin token from this secret only when it first creates "
                "the admin; a rotated secret would no longer match the stored token."
            ),
        )
        self.token_secret = token
        admin_password = self._generated_secret(
            "AdminPassword",
            "Password of the Label Studio admin",
            key=key,
            removal_policy=removal_policy,
            length=32,
            rotation_reason=(
                "Label Studio reads the admin password only when it first creates the admin; "
                "the password is changed in Label Studio, and LabelFlow uses the token."
            ),
        )
        django_key = self._generated_secret(
            "DjangoSecretKey",
            "Django SECRET_KEY shared by all Label Studio tasks (signs sessions)",
            key=key,
            removal_policy=removal_policy,
            length=64,
            rotation_reason=(
                "The key signs every session cookie; all tasks must share it, and rotating it "
                "logs every worker out, so it changes only with a deliberate redeploy."
            ),
        )
        return {
            "LABEL_STUDIO_PASSWORD": admin_password,
            "LABEL_STUDIO_USER_TOKEN": token,
            "SECRET_KEY": django_key,
        }

    def _network(
        self, *, key: kms.IKey, removal_policy: RemovalPolicy, log_retention: logs.RetentionDays
    ) -> ec2.Vpc:
        """Two AZs of public, private-with-egress and isolated subnets, one NAT gateway."""
        flow_logs = logs.LogGroup(
            self,
            "FlowLogs",
            encryption_key=key,
            retention=log_retention,
            removal_policy=removal_policy,
        )
        return ec2.Vpc(
            self,
            "Vpc",
            max_azs=2,
            nat_gateways=1,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="Public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24
                ),
                ec2.SubnetConfiguration(
                    name="Service", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, cidr_mask=22
                ),
                ec2.SubnetConfiguration(
                    name="Database", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=24
                ),
            ],
            gateway_endpoints={
                "S3": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.S3)
            },
            flow_logs={
                "All": ec2.FlowLogOptions(
                    destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs),
                    traffic_type=ec2.FlowLogTrafficType.ALL,
                )
            },
        )

    def _database(
        self, config: LabelStudioConfig, *, vpc: ec2.IVpc, key: kms.IKey, protected: bool
    ) -> rds.DatabaseInstance:
        """PostgreSQL in the isolated subnets: encrypted, TLS only, backed up, protected."""
        engine = rds.DatabaseInstanceEngine.postgres(version=rds.PostgresEngineVersion.VER_17_9)
        database = rds.DatabaseInstance(
            self,
            "Database",
            engine=engine,
            instance_type=ec2.InstanceType(config.db_instance_class),
            vpc=vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
            publicly_accessible=False,
            multi_az=config.db_multi_az,
            database_name=_DATABASE_NAME,
            credentials=rds.Credentials.from_generated_secret(_DATABASE_USER, encryption_key=key),
            storage_encrypted=True,
            storage_encryption_key=key,
            storage_type=rds.StorageType.GP3,
            allocated_storage=20,
            max_allocated_storage=200,
            parameter_group=rds.ParameterGroup(
                self, "DatabaseParameters", engine=engine, parameters={"rds.force_ssl": "1"}
            ),
            backup_retention=Duration.days(7),
            copy_tags_to_snapshot=True,
            auto_minor_version_upgrade=True,
            deletion_protection=protected,
            removal_policy=RemovalPolicy.SNAPSHOT if protected else RemovalPolicy.DESTROY,
        )
        Validations.of(database).acknowledge(
            Acknowledgment(
                id="AwsSolutions-RDS11",
                reason=(
                    "A non-default port adds no protection here: the instance is reachable only "
                    "from the service's security group inside isolated subnets, over TLS."
                ),
            ),
        )
        if not config.db_multi_az:
            Validations.of(database).acknowledge(
                Acknowledgment(
                    id="AwsSolutions-RDS3",
                    reason=(
                        "The stage sets db_multi_az=False to halve the database cost; an AZ "
                        "outage is recovered from the automated backups."
                    ),
                )
            )
        # The generated credentials secret is the instance's child "Secret".
        Validations.of(database.node.find_child("Secret")).acknowledge(
            Acknowledgment(
                id="AwsSolutions-SMG4",
                reason=(
                    "The tasks read the database password when they start; rotating it under "
                    "running tasks would cut them off until they restart. Rotate by changing "
                    "the password and redeploying the service."
                ),
            )
        )
        return database

    def _buckets(
        self, *, key: kms.IKey, removal_policy: RemovalPolicy
    ) -> tuple[s3.Bucket, s3.Bucket]:
        """The access-log bucket (SSE-S3, as load balancer logs need) and the media bucket."""
        access_logs = s3.Bucket(
            self,
            "AccessLogs",
            # Load balancer access logs can only be delivered to SSE-S3 buckets.
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[
                s3.LifecycleRule(
                    expiration=Duration.days(365), noncurrent_version_expiration=Duration.days(1)
                )
            ],
            removal_policy=removal_policy,
            auto_delete_objects=False,
        )
        media = s3.Bucket(
            self,
            "Media",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=key,
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix="media/",
            # Workers' browsers load media through presigned URLs from the labeling UI.
            cors=[
                s3.CorsRule(
                    allowed_methods=[s3.HttpMethods.GET, s3.HttpMethods.HEAD],
                    allowed_origins=[self.url],
                )
            ],
            removal_policy=removal_policy,
        )
        return access_logs, media

    def _service(
        self,
        config: LabelStudioConfig,
        *,
        vpc: ec2.IVpc,
        database: rds.DatabaseInstance,
        media_bucket: s3.IBucket,
        log_group: logs.ILogGroup,
        secrets: Mapping[str, secretsmanager.ISecret],
    ) -> ecs_patterns.ApplicationLoadBalancedFargateService:
        """The Fargate service behind an HTTPS load balancer, its secrets from Secrets Manager."""
        database_secret = database.secret
        assert database_secret is not None  # generated credentials always have a secret
        cluster = ecs.Cluster(
            self,
            "Cluster",
            vpc=vpc,
            container_insights_v2=ecs.ContainerInsights.ENABLED,
        )
        fargate = ecs_patterns.ApplicationLoadBalancedFargateService(
            self,
            "Service",
            cluster=cluster,
            cpu=config.cpu,
            memory_limit_mib=config.memory,
            desired_count=config.desired_count,
            task_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            assign_public_ip=False,
            public_load_balancer=True,
            open_listener=False,
            protocol=elbv2.ApplicationProtocol.HTTPS,
            certificate=acm.Certificate.from_certificate_arn(
                self, "Certificate", str(config.certificate_arn)
            ),
            redirect_http=True,
            circuit_breaker=ecs.DeploymentCircuitBreaker(rollback=True),
            min_healthy_percent=100,
            # The first start runs Label Studio's database migrations.
            health_check_grace_period=Duration.minutes(10),
            task_image_options=ecs_patterns.ApplicationLoadBalancedTaskImageOptions(
                image=ecs.ContainerImage.from_registry(str(config.image)),
                container_name="label-studio",
                container_port=CONTAINER_PORT,
                log_driver=ecs.LogDrivers.aws_logs(
                    stream_prefix="label-studio", log_group=log_group
                ),
                environment={
                    "DJANGO_DB": "default",
                    "POSTGRE_HOST": database.db_instance_endpoint_address,
                    "POSTGRE_PORT": database.db_instance_endpoint_port,
                    "POSTGRE_NAME": _DATABASE_NAME,
                    # libpq: never fall back to an unencrypted connection.
                    "PGSSLMODE": "require",
                    "LABEL_STUDIO_HOST": self.url,
                    "CSRF_TRUSTED_ORIGINS": self.url,
                    "SESSION_COOKIE_SECURE": "1",
                    "CSRF_COOKIE_SECURE": "1",
                    "LABEL_STUDIO_USERNAME": ADMIN_USERNAME,
                    "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true",
                    "LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK": "true",
                    "STORAGE_TYPE": "s3",
                    "STORAGE_AWS_BUCKET_NAME": media_bucket.bucket_name,
                    "STORAGE_AWS_REGION_NAME": Stack.of(self).region,
                    "STORAGE_AWS_FOLDER": _MEDIA_FOLDER,
                    # Nothing about the labeling data leaves for the vendor's services.
                    "COLLECT_ANALYTICS": "false",
                    "LATEST_VERSION_CHECK": "false",
                    "SENTRY_DSN": "",
                    "FRONTEND_SENTRY_DSN": "",
                },
                secrets={
                    "POSTGRE_USER": ecs.Secret.from_secrets_manager(database_secret, "username"),
                    "POSTGRE_PASSWORD": ecs.Secret.from_secrets_manager(
                        database_secret, "password"
                    ),
                    **{
                        variable: ecs.Secret.from_secrets_manager(secret)
                        for variable, secret in secrets.items()
                    },
                },
            ),
        )
        Validations.of(fargate.task_definition).acknowledge(
            Acknowledgment(
                id="AwsSolutions-ECS2",
                reason=(
                    "The environment holds only non-secret settings (hosts, names, flags); the "
                    "passwords, the API token and the Django key come from Secrets Manager."
                ),
            )
        )
        return fargate

    def _load_balancer(
        self,
        config: LabelStudioConfig,
        *,
        fargate: ecs_patterns.ApplicationLoadBalancedFargateService,
        vpc: ec2.Vpc,
        access_logs: s3.IBucket,
        protected: bool,
    ) -> None:
        """Health check, access logs, and HTTPS only from the allowed CIDRs and the NAT."""
        balancer = fargate.load_balancer
        fargate.target_group.configure_health_check(
            path=HEALTH_CHECK_PATH,
            healthy_http_codes="200",
            interval=Duration.seconds(30),
            healthy_threshold_count=2,
            unhealthy_threshold_count=5,
        )
        balancer.set_attribute("routing.http.drop_invalid_header_fields.enabled", "true")
        if protected:
            balancer.set_attribute("deletion_protection.enabled", "true")
        balancer.log_access_logs(access_logs, prefix="alb")

        for cidr in config.allowed_cidrs:
            for port in (443, 80):
                balancer.connections.allow_from(
                    ec2.Peer.ipv4(cidr), ec2.Port.tcp(port), f"Workers from {cidr}"
                )
        # Functions placed in this VPC reach the URL through the NAT gateway's address.
        balancer_group = balancer.connections.security_groups[0]
        for subnet in vpc.public_subnets:
            eip = subnet.node.try_find_child("EIP")
            if isinstance(eip, ec2.CfnEIP):
                nat_ingress = ec2.CfnSecurityGroupIngress(
                    self,
                    f"NatIngress{subnet.node.id}",
                    group_id=balancer_group.security_group_id,
                    ip_protocol="tcp",
                    from_port=443,
                    to_port=443,
                    cidr_ip=f"{eip.attr_public_ip}/32",
                    description="LabelFlow functions in this VPC, through its NAT gateway",
                )
                Validations.of(nat_ingress).acknowledge(
                    Acknowledgment(
                        id="AwsSolutions-EC23",
                        reason=(
                            "The source is this VPC's own NAT gateway address (/32), known only "
                            "at deploy time, so cdk-nag cannot evaluate it."
                        ),
                    )
                )
        if "0.0.0.0/0" in config.allowed_cidrs:
            Validations.of(balancer).acknowledge(
                Acknowledgment(
                    id="AwsSolutions-EC23",
                    reason=(
                        "The stage's allowed_cidrs opens the labeling UI to the internet for "
                        "workers on any network; it accepts HTTPS only (HTTP redirects) and "
                        "every page needs a Label Studio login."
                    ),
                )
            )

    @staticmethod
    def _autoscale(service: ecs.FargateService, config: LabelStudioConfig) -> None:
        """From the desired to the maximum task count, on CPU."""
        scaling = service.auto_scale_task_count(
            min_capacity=config.desired_count, max_capacity=config.max_count
        )
        scaling.scale_on_cpu_utilization(
            "Cpu",
            target_utilization_percent=60,
            scale_in_cooldown=Duration.minutes(5),
            scale_out_cooldown=Duration.minutes(1),
        )

    def _grant_media(self, task_definition: ecs.TaskDefinition, media_bucket: s3.Bucket) -> None:
        """The tasks read, write and delete uploads in the media folder only."""
        media_bucket.grant_read_write(task_definition.task_role, f"{_MEDIA_FOLDER}/*")
        media_objects = Stack.of(self).resolve(media_bucket.bucket_arn)["Fn::GetAtt"][0]
        Validations.of(task_definition.task_role).acknowledge(
            *(
                Acknowledgment(id=f"AwsSolutions-IAM5[{finding}]", reason=reason)
                for finding, reason in {
                    f"Resource::<{media_objects}.Arn>/{_MEDIA_FOLDER}/*": (
                        "Label Studio stores uploads under generated keys below its media "
                        "folder; the grant covers that folder of the media bucket only"
                    ),
                    "Action::s3:GetObject*": (
                        "CDK's read grant (object, version, tags), only on the media folder"
                    ),
                    "Action::s3:GetBucket*": (
                        "CDK's read grant: bucket metadata such as its location, media bucket only"
                    ),
                    "Action::s3:List*": (
                        "CDK's read grant: listing objects and uploads of the media bucket only"
                    ),
                    "Action::s3:DeleteObject*": (
                        "Label Studio deletes an upload when its task or project is deleted; "
                        "only in the media folder"
                    ),
                    "Action::s3:Abort*": (
                        "CDK's write grant: aborting multipart uploads into the media folder"
                    ),
                    "Action::kms:GenerateDataKey*": (
                        "Writing SSE-KMS objects needs data keys; the statement names the stage "
                        "key only"
                    ),
                    "Action::kms:ReEncrypt*": (
                        "CDK's encrypt grant includes re-encryption; the statement names the "
                        "stage key only"
                    ),
                }.items()
            )
        )

    def _generated_secret(
        self,
        id_: str,
        description: str,
        *,
        key: kms.IKey,
        removal_policy: RemovalPolicy,
        length: int,
        rotation_reason: str,
    ) -> secretsmanager.Secret:
        secret = secretsmanager.Secret(
            self,
            id_,
            description=description,
            encryption_key=key,
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=length, exclude_punctuation=True, include_space=False
            ),
            removal_policy=removal_policy,
        )
        Validations.of(secret).acknowledge(
            Acknowledgment(id="AwsSolutions-SMG4", reason=rotation_reason)
        )
        return secret
