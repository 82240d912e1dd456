"""LabelStudio: configuration checks, both modes synthesized, and cdk-nag in each mode."""

from __future__ import annotations

import re
from typing import Any

import pytest
from aws_cdk import Acknowledgment, App, Environment, RemovalPolicy, Stack, Validations
from aws_cdk.assertions import Match, Template
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct

from infra.config import ConfigError, LabelStudioConfig, ProjectConfig, StageConfig
from infra.constructs.label_studio import (
    ADMIN_USERNAME,
    CONTAINER_PORT,
    HEALTH_CHECK_PATH,
    LabelStudio,
)
from infra.constructs.storage import Storage
from tests.infra.conftest import TEST_PROJECTS, new_app

DIGEST = "sha256:" + "0123456789abcdef" * 4
IMAGE = f"heartexlabs/label-studio:1.23.2@{DIGEST}"
CERTIFICATE = "arn:aws:acm:eu-west-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"
TOKEN_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:labelstudio/token-AbC123"
EXISTING: dict[str, Any] = {
    "mode": "existing",
    "url": "https://labels.example.com",
    "token_secret_arn": TOKEN_ARN,
}
PROVISIONED: dict[str, Any] = {
    "mode": "provisioned",
    "image": IMAGE,
    "domain_name": "labels.example.com",
    "certificate_arn": CERTIFICATE,
    "allowed_cidrs": ("203.0.113.0/24",),
    "desired_count": 2,
    "max_count": 4,
}
ENV = Environment(account="123456789012", region="eu-west-1")


# Configuration


def test_existing_config_needs_only_url_and_token() -> None:
    config = LabelStudioConfig(**{**EXISTING, "url": "https://labels.example.com/"})
    assert config.service_url == "https://labels.example.com"


def test_provisioned_config_defaults_and_url() -> None:
    config = LabelStudioConfig(**PROVISIONED)
    assert config.service_url == "https://labels.example.com"
    assert (config.cpu, config.memory, config.db_instance_class) == (1024, 2048, "t4g.small")
    assert config.db_multi_az


def test_db_instance_class_accepts_the_rds_prefix() -> None:
    config = LabelStudioConfig(**{**PROVISIONED, "db_instance_class": "db.m7g.large"})
    assert config.db_instance_class == "m7g.large"


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({**EXISTING, "url": "http://labels.example.com"}, "url", "pattern"),
        ({**EXISTING, "url": "http://10.0.0.5:8080"}, "url", "pattern"),
        ({**EXISTING, "token_secret_arn": "labelstudio/token"}, "token_secret_arn", "pattern"),
        (
            {**EXISTING, "token_secret_arn": "arn:aws:ssm:eu-west-1:123456789012:parameter/t"},
            "token_secret_arn",
            "pattern",
        ),
        ({"mode": "existing", "url": "https://a.example.com"}, "token_secret_arn", "required"),
        ({**EXISTING, "cpu": 2048}, "cpu", "do not apply in existing mode"),
        ({**PROVISIONED, "image": "heartexlabs/label-studio:1.23.2"}, "image", "tag and digest"),
        ({**PROVISIONED, "image": f"heartexlabs/label-studio@{DIGEST}"}, "image", "tag and"),
        ({**PROVISIONED, "image": "heartexlabs/label-studio:1.23.2@sha256:abc"}, "image", "digest"),
        ({**PROVISIONED, "image": None}, "image", "required"),
        ({**PROVISIONED, "domain_name": None}, "domain_name", "required"),
        ({**PROVISIONED, "domain_name": "https://labels.example.com"}, "domain_name", "pattern"),
        ({**PROVISIONED, "certificate_arn": None}, "certificate_arn", "required"),
        ({**PROVISIONED, "certificate_arn": "arn:aws:acm:x"}, "certificate_arn", "pattern"),
        ({**PROVISIONED, "allowed_cidrs": ()}, "allowed_cidrs", "CIDR blocks"),
        ({**PROVISIONED, "allowed_cidrs": ("10.0.0.1/8",)}, "allowed_cidrs", "host bits"),
        ({**PROVISIONED, "allowed_cidrs": ("2001:db8::/32",)}, "allowed_cidrs", "IPv4"),
        ({**PROVISIONED, "url": "https://a.example.com"}, "url", "provisioned mode"),
        ({**PROVISIONED, "max_count": 1}, "max_count", "below desired_count 2"),
        ({**PROVISIONED, "desired_count": 0}, "desired_count", "greater than or equal"),
        ({**PROVISIONED, "cpu": 1000}, "cpu", "is not one of"),
        ({**PROVISIONED, "memory": 1024}, "memory", "does not fit cpu 1024"),
        ({**PROVISIONED, "db_instance_class": "small"}, "db_instance_class", "pattern"),
        ({**PROVISIONED, "mode": "hosted"}, "mode", "'existing' or 'provisioned'"),
        ({**PROVISIONED, "replicas": 3}, "replicas", "Extra inputs"),
    ],
)
def test_invalid_label_studio_config_names_the_field(
    fields: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(ConfigError, match="invalid label_studio config") as raised:
        LabelStudioConfig(**fields)
    text = str(raised.value)
    assert re.search(rf"fields? \[?'{field}'", text), text
    assert message in text


def test_project_backend_defaults_to_ground_truth() -> None:
    assert TEST_PROJECTS[0].backend == "ground-truth"


def test_project_backend_rejects_unknown_values() -> None:
    fields = {**TEST_PROJECTS[0].model_dump(), "backend": "mturk"}
    with pytest.raises(ConfigError, match="field 'backend'"):
        ProjectConfig(**fields)


def _studio_project() -> ProjectConfig:
    return ProjectConfig(**{**TEST_PROJECTS[0].model_dump(), "backend": "labelstudio"})


def test_labelstudio_project_without_label_studio_fails_naming_the_project() -> None:
    with pytest.raises(ConfigError, match=r"projects \['cats'\] use the labelstudio backend"):
        StageConfig(stage="test", projects=(_studio_project(),))


def test_labelstudio_project_with_label_studio_builds() -> None:
    config = StageConfig(
        stage="test", projects=(_studio_project(),), label_studio=LabelStudioConfig(**EXISTING)
    )
    assert config.label_studio is not None
    assert config.label_studio.mode == "existing"


def test_provisioned_label_studio_needs_the_stage_region() -> None:
    with pytest.raises(ConfigError, match="field 'region'"):
        StageConfig(
            stage="test", projects=TEST_PROJECTS, label_studio=LabelStudioConfig(**PROVISIONED)
        )


def test_certificate_must_be_in_the_stage_region() -> None:
    with pytest.raises(ConfigError, match="field 'certificate_arn' is in eu-west-1"):
        StageConfig(
            stage="test",
            region="us-east-1",
            projects=TEST_PROJECTS,
            label_studio=LabelStudioConfig(**PROVISIONED),
        )


# Synthesis


def _stack(fields: dict[str, Any], app: App | None = None) -> tuple[Stack, LabelStudio]:
    stack = Stack(app or new_app(), "LabelStudioTest", env=ENV)
    storage = Storage(stack, "Storage", removal_policy=RemovalPolicy.RETAIN)
    studio = LabelStudio(
        stack,
        "LabelStudio",
        config=LabelStudioConfig(**fields),
        key=storage.key,
        removal_policy=RemovalPolicy.RETAIN,
    )
    return stack, studio


@pytest.fixture(scope="module")
def existing() -> tuple[Stack, LabelStudio]:
    return _stack(EXISTING)


@pytest.fixture(scope="module")
def provisioned() -> tuple[Stack, LabelStudio]:
    return _stack(PROVISIONED)


@pytest.fixture(scope="module")
def template(provisioned: tuple[Stack, LabelStudio]) -> Template:
    return Template.from_stack(provisioned[0])


def _media_bucket(template: Template) -> tuple[str, dict[str, Any]]:
    """The bucket whose CORS rule admits the Label Studio origin."""
    cors = {"CorsRules": [Match.object_like({"AllowedOrigins": ["https://labels.example.com"]})]}
    ((bucket_id, bucket),) = template.find_resources(
        "AWS::S3::Bucket", {"Properties": {"CorsConfiguration": cors}}
    ).items()
    return bucket_id, dict(bucket)


def _key_ref(template: Template) -> dict[str, Any]:
    (key_id,) = template.find_resources("AWS::KMS::Key")
    return {"Fn::GetAtt": [key_id, "Arn"]}


def test_existing_mode_creates_only_the_webhook_secret(
    existing: tuple[Stack, LabelStudio],
) -> None:
    stack, studio = existing
    template = Template.from_stack(stack)
    studio_resources = {
        logical_id: resource["Type"]
        for logical_id, resource in template.to_json()["Resources"].items()
        if logical_id.startswith("LabelStudio")
    }
    assert list(studio_resources.values()) == ["AWS::SecretsManager::Secret"]
    template.has_resource_properties(
        "AWS::SecretsManager::Secret",
        {
            "KmsKeyId": _key_ref(template),
            "GenerateSecretString": Match.object_like({"PasswordLength": 64}),
        },
    )
    assert studio.url == "https://labels.example.com"
    assert studio.token_secret.secret_arn == TOKEN_ARN
    assert (studio.service, studio.database, studio.vpc) == (None, None, None)


def test_existing_mode_accepts_a_partial_token_arn() -> None:
    partial = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:labelstudio/token"
    _, studio = _stack({**EXISTING, "token_secret_arn": partial})
    assert studio.token_secret.secret_arn == partial


def test_provisioned_mode_needs_a_stack_region() -> None:
    stack = Stack(new_app(), "Agnostic")
    storage = Storage(stack, "Storage", removal_policy=RemovalPolicy.DESTROY)
    with pytest.raises(ValueError, match="explicit region"):
        LabelStudio(
            stack,
            "LabelStudio",
            config=LabelStudioConfig(**PROVISIONED),
            key=storage.key,
            removal_policy=RemovalPolicy.DESTROY,
        )


def test_database_is_encrypted_private_backed_up_and_protected(template: Template) -> None:
    template.has_resource(
        "AWS::RDS::DBInstance",
        {
            "Properties": Match.object_like(
                {
                    "Engine": "postgres",
                    "StorageEncrypted": True,
                    "KmsKeyId": _key_ref(template),
                    "PubliclyAccessible": False,
                    "BackupRetentionPeriod": 7,
                    "DeletionProtection": True,
                    "MultiAZ": True,
                    "DBInstanceClass": "db.t4g.small",
                }
            ),
            "DeletionPolicy": "Snapshot",
        },
    )


def test_database_sits_in_the_isolated_subnets(template: Template) -> None:
    (group,) = template.find_resources("AWS::RDS::DBSubnetGroup").values()
    subnets = {ref["Ref"] for ref in group["Properties"]["SubnetIds"]}
    isolated = {
        logical_id
        for logical_id, subnet in template.find_resources("AWS::EC2::Subnet").items()
        if {"Key": "aws-cdk:subnet-type", "Value": "Isolated"} in subnet["Properties"]["Tags"]
    }
    assert len(subnets) == 2
    assert subnets == isolated


def test_database_enforces_tls(template: Template) -> None:
    template.has_resource_properties(
        "AWS::RDS::DBParameterGroup", {"Parameters": {"rds.force_ssl": "1"}}
    )


def test_database_credentials_are_a_generated_encrypted_secret(template: Template) -> None:
    template.has_resource_properties(
        "AWS::SecretsManager::Secret",
        {
            "KmsKeyId": _key_ref(template),
            "GenerateSecretString": Match.object_like(
                {"SecretStringTemplate": '{"username":"labelstudio"}'}
            ),
        },
    )


def test_development_database_can_be_deleted() -> None:
    stack = Stack(new_app(), "Dev", env=ENV)
    storage = Storage(stack, "Storage", removal_policy=RemovalPolicy.DESTROY)
    LabelStudio(
        stack,
        "LabelStudio",
        config=LabelStudioConfig(**PROVISIONED),
        key=storage.key,
        removal_policy=RemovalPolicy.DESTROY,
    )
    template = Template.from_stack(stack)
    template.has_resource(
        "AWS::RDS::DBInstance",
        {
            "Properties": Match.object_like({"DeletionProtection": False}),
            "DeletionPolicy": "Delete",
        },
    )


def test_load_balancer_listens_on_https_and_redirects_http(template: Template) -> None:
    template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::Listener",
        {
            "Protocol": "HTTPS",
            "Port": 443,
            "Certificates": [{"CertificateArn": CERTIFICATE}],
            "SslPolicy": Match.any_value(),
        },
    )
    template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::Listener",
        {
            "Protocol": "HTTP",
            "Port": 80,
            "DefaultActions": [
                Match.object_like(
                    {
                        "Type": "redirect",
                        "RedirectConfig": Match.object_like(
                            {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}
                        ),
                    }
                )
            ],
        },
    )


def test_load_balancer_logs_access_and_drops_invalid_headers(template: Template) -> None:
    (balancer,) = template.find_resources("AWS::ElasticLoadBalancingV2::LoadBalancer").values()
    attributes = {a["Key"]: a["Value"] for a in balancer["Properties"]["LoadBalancerAttributes"]}
    assert attributes["access_logs.s3.enabled"] == "true"
    assert attributes["access_logs.s3.prefix"] == "alb"
    assert attributes["routing.http.drop_invalid_header_fields.enabled"] == "true"
    assert attributes["deletion_protection.enabled"] == "true"
    assert balancer["Properties"]["Scheme"] == "internet-facing"


def test_load_balancer_admits_only_the_allowed_cidrs_and_the_nat(template: Template) -> None:
    groups = template.find_resources(
        "AWS::EC2::SecurityGroup",
        {"Properties": {"GroupDescription": Match.string_like_regexp("LB")}},
    )
    (group,) = groups.values()
    rules = group["Properties"]["SecurityGroupIngress"]
    sources = {(str(rule["CidrIp"]), rule["FromPort"]) for rule in rules}
    assert ("203.0.113.0/24", 443) in sources
    assert ("203.0.113.0/24", 80) in sources
    assert not any(rule["CidrIp"] == "0.0.0.0/0" for rule in rules)
    (nat_rule,) = template.find_resources(
        "AWS::EC2::SecurityGroupIngress", {"Properties": {"CidrIp": Match.any_value()}}
    ).values()
    (eip_id,) = template.find_resources("AWS::EC2::EIP")
    assert nat_rule["Properties"]["FromPort"] == 443
    assert nat_rule["Properties"]["CidrIp"] == {
        "Fn::Join": ["", [{"Fn::GetAtt": [eip_id, "PublicIp"]}, "/32"]]
    }


def test_target_group_checks_label_studio_health(template: Template) -> None:
    template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::TargetGroup",
        {
            "HealthCheckPath": HEALTH_CHECK_PATH,
            "Matcher": {"HttpCode": "200"},
            "Protocol": "HTTP",
            "TargetType": "ip",
        },
    )
    # IP targets are registered with the container's port, which the health check uses.
    template.has_resource_properties(
        "AWS::ECS::Service",
        {"LoadBalancers": [Match.object_like({"ContainerPort": CONTAINER_PORT})]},
    )


def test_tasks_run_in_private_subnets_without_public_ips(template: Template) -> None:
    (service,) = template.find_resources("AWS::ECS::Service").values()
    network = service["Properties"]["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert network["AssignPublicIp"] == "DISABLED"
    private = {
        logical_id
        for logical_id, subnet in template.find_resources("AWS::EC2::Subnet").items()
        if {"Key": "aws-cdk:subnet-type", "Value": "Private"} in subnet["Properties"]["Tags"]
    }
    assert {ref["Ref"] for ref in network["Subnets"]} == private
    assert len(private) == 2
    assert service["Properties"]["DesiredCount"] == 2


def _container(template: Template) -> dict[str, Any]:
    (task,) = template.find_resources("AWS::ECS::TaskDefinition").values()
    (container,) = task["Properties"]["ContainerDefinitions"]
    return dict(container)


def test_container_runs_the_digest_pinned_image(template: Template) -> None:
    assert _container(template)["Image"] == IMAGE


def test_container_secrets_come_from_secrets_manager(template: Template) -> None:
    container = _container(template)
    secrets = {secret["Name"]: secret["ValueFrom"] for secret in container["Secrets"]}
    assert set(secrets) == {
        "POSTGRE_USER",
        "POSTGRE_PASSWORD",
        "LABEL_STUDIO_PASSWORD",
        "LABEL_STUDIO_USER_TOKEN",
        "SECRET_KEY",
    }
    # The database secret is referenced through its attachment to the instance.
    secret_ids = set(template.find_resources("AWS::SecretsManager::Secret")) | set(
        template.find_resources("AWS::SecretsManager::SecretTargetAttachment")
    )
    for name, value_from in secrets.items():
        text = str(value_from)
        assert any(secret_id in text for secret_id in secret_ids), name
    environment = {item["Name"]: item["Value"] for item in container["Environment"]}
    assert not set(secrets) & set(environment)
    assert not [name for name in environment if name.endswith(("PASSWORD", "USER_TOKEN", "KEY"))]


def test_container_settings_point_label_studio_at_its_resources(template: Template) -> None:
    environment = {item["Name"]: item["Value"] for item in _container(template)["Environment"]}
    assert environment["DJANGO_DB"] == "default"
    assert environment["PGSSLMODE"] == "require"
    assert environment["LABEL_STUDIO_HOST"] == "https://labels.example.com"
    assert environment["CSRF_TRUSTED_ORIGINS"] == "https://labels.example.com"
    assert environment["LABEL_STUDIO_USERNAME"] == ADMIN_USERNAME
    assert environment["LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN"] == "true"
    assert environment["STORAGE_TYPE"] == "s3"
    bucket_id, _ = _media_bucket(template)
    assert environment["STORAGE_AWS_BUCKET_NAME"] == {"Ref": bucket_id}
    (database_id,) = template.find_resources("AWS::RDS::DBInstance")
    assert environment["POSTGRE_HOST"] == {"Fn::GetAtt": [database_id, "Endpoint.Address"]}


def test_container_logs_to_an_encrypted_log_group(template: Template) -> None:
    options = _container(template)["LogConfiguration"]
    assert options["LogDriver"] == "awslogs"
    group_id = options["Options"]["awslogs-group"]["Ref"]
    group = template.find_resources("AWS::Logs::LogGroup")[group_id]
    assert group["Properties"]["KmsKeyId"] == _key_ref(template)
    assert group["Properties"]["RetentionInDays"] == 90


def test_cluster_has_container_insights(template: Template) -> None:
    template.has_resource_properties(
        "AWS::ECS::Cluster",
        {"ClusterSettings": [{"Name": "containerInsights", "Value": "enabled"}]},
    )


def test_service_scales_on_cpu_between_desired_and_max(template: Template) -> None:
    template.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalableTarget", {"MinCapacity": 2, "MaxCapacity": 4}
    )
    template.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalingPolicy",
        {
            "PolicyType": "TargetTrackingScaling",
            "TargetTrackingScalingPolicyConfiguration": Match.object_like(
                {
                    "PredefinedMetricSpecification": {
                        "PredefinedMetricType": "ECSServiceAverageCPUUtilization"
                    },
                    "TargetValue": 60,
                }
            ),
        },
    )


def test_media_bucket_is_encrypted_tls_only_versioned_and_logged(template: Template) -> None:
    bucket_id, bucket = _media_bucket(template)
    properties = bucket["Properties"]
    (rule,) = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "aws:kms",
        "KMSMasterKeyID": _key_ref(template),
    }
    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
    assert properties["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert properties["LoggingConfiguration"]["LogFilePrefix"] == "media/"
    template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "Bucket": {"Ref": bucket_id},
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        )
                    ]
                )
            },
        },
    )


def test_task_role_reaches_only_the_media_folder(template: Template) -> None:
    roles = template.find_resources(
        "AWS::IAM::Role",
        {
            "Properties": {
                "AssumeRolePolicyDocument": Match.object_like(
                    {
                        "Statement": [
                            Match.object_like({"Principal": {"Service": "ecs-tasks.amazonaws.com"}})
                        ]
                    }
                )
            }
        },
    )
    policies = template.find_resources("AWS::IAM::Policy")
    media_id, _ = _media_bucket(template)
    task_policies = [
        policy
        for policy in policies.values()
        if any(role["Ref"] in roles for role in policy["Properties"]["Roles"])
        and "TaskRole" in str(policy["Properties"]["Roles"])
    ]
    (policy,) = task_policies
    s3_resources = [
        resource
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if any(str(action).startswith("s3:") for action in statement["Action"])
        for resource in statement["Resource"]
    ]
    assert {"Fn::GetAtt": [media_id, "Arn"]} in s3_resources
    assert {"Fn::Join": ["", [{"Fn::GetAtt": [media_id, "Arn"]}, "/media/*"]]} in s3_resources
    assert len(s3_resources) == 2


def test_vpc_has_flow_logs_to_an_encrypted_group(template: Template) -> None:
    (flow_log,) = template.find_resources("AWS::EC2::FlowLog").values()
    assert flow_log["Properties"]["TrafficType"] == "ALL"
    group = flow_log["Properties"]["LogGroupName"]["Ref"]
    properties = template.find_resources("AWS::Logs::LogGroup")[group]["Properties"]
    assert properties["KmsKeyId"] == _key_ref(template)


def test_vpc_uses_one_nat_gateway_and_an_s3_endpoint(template: Template) -> None:
    template.resource_count_is("AWS::EC2::NatGateway", 1)
    (endpoint,) = template.find_resources(
        "AWS::EC2::VPCEndpoint", {"Properties": {"VpcEndpointType": "Gateway"}}
    ).values()
    assert ".s3" in str(endpoint["Properties"]["ServiceName"])


def test_construct_exposes_its_resources(provisioned: tuple[Stack, LabelStudio]) -> None:
    _, studio = provisioned
    assert studio.url == "https://labels.example.com"
    assert studio.service is not None
    assert studio.database is not None
    assert studio.media_bucket is not None
    assert studio.load_balancer is not None
    assert studio.vpc is not None


# cdk-nag


def _findings(scope: IConstruct) -> list[tuple[str, str]]:
    report = AwsSolutionsChecks().validate_scope(scope)
    return sorted(
        (violation.rule_name, resource.construct_path or "")
        for violation in report.violations
        for resource in violation.violating_resources
    )


NAG_CASES = {
    "existing": EXISTING,
    "provisioned": PROVISIONED,
    "provisioned-open-single-az": {
        **PROVISIONED,
        "allowed_cidrs": ("0.0.0.0/0",),
        "db_multi_az": False,
    },
}


@pytest.mark.parametrize("fields", NAG_CASES.values(), ids=NAG_CASES.keys())
def test_nag_reports_no_unacknowledged_findings(fields: dict[str, Any]) -> None:
    app = new_app()
    _stack(fields, app)
    assert _findings(app) == []


@pytest.mark.parametrize("fields", NAG_CASES.values(), ids=NAG_CASES.keys())
def test_every_acknowledgement_matches_a_finding(
    monkeypatch: pytest.MonkeyPatch, fields: dict[str, Any]
) -> None:
    # Given the construct built with its acknowledgements recorded instead of applied
    acknowledged: list[tuple[str, str]] = []

    class Recorder:
        def __init__(self, scope: IConstruct) -> None:
            self._scope = scope

        def acknowledge(self, *rules: Acknowledgment) -> None:
            for rule in rules:
                assert len(rule.reason) >= 40, f"reason too thin for {rule.id}"
                acknowledged.append((rule.id, self._scope.node.path))

    monkeypatch.setattr(Validations, "of", staticmethod(Recorder))
    app = new_app()
    _stack(fields, app)
    monkeypatch.undo()

    # When cdk-nag sees every finding
    findings = _findings(app)

    # Then each finding is acknowledged on its construct or an ancestor, and no
    # acknowledgement of the construct is idle
    def covers(ack: tuple[str, str], finding: tuple[str, str]) -> bool:
        return ack[0] == finding[0] and (finding[1] + "/").startswith(ack[1] + "/")

    assert [f for f in findings if not any(covers(a, f) for a in acknowledged)] == []
    idle = [
        a
        for a in acknowledged
        if "/LabelStudio" in a[1] and not any(covers(a, f) for f in findings)
    ]
    assert idle == []


def test_a_label_studio_on_this_machine_may_use_plain_http() -> None:
    local = LabelStudioConfig(**{**EXISTING, "url": "http://127.0.0.1:8089"})
    assert local.url == "http://127.0.0.1:8089"
