"""What the labeling stack must contain: functions, layers, logging, buckets, IAM and outputs."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import App, Duration, RemovalPolicy, Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Match, Template

from infra.config import StageConfig
from infra.constructs.numeric_layer import REQUIREMENTS, PipLocalBundling
from infra.constructs.runtime_function import FunctionPlatform, RuntimeFunction
from infra.stacks.labeling_stack import LabelingStack
from tests.infra.conftest import TEST_PROJECTS
from tests.infra.template_helpers import (
    actions_on,
    as_list,
    bucket_by_log_prefix,
    flatten,
    labelflow_functions,
    resources,
    role_by_service,
    role_statements,
)

PRE = "pre_annotation.handler.lambda_handler"
POST = "post_annotation.handler.lambda_handler"


@pytest.fixture(scope="module")
def functions(template_json: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return labelflow_functions(template_json)


@pytest.fixture(scope="module")
def labeling_role_id(template_json: dict[str, Any]) -> str:
    roles = role_by_service(template_json, "sagemaker.amazonaws.com")
    assert len(roles) == 1, roles
    return next(iter(roles))


def test_stack_id_is_project_stage_labeling(labeling_stack: LabelingStack) -> None:
    assert labeling_stack.node.id == "labelflow-test-Labeling"


def test_functions_are_the_ground_truth_and_workflow_handlers(functions: dict[str, Any]) -> None:
    assert set(functions) == {
        PRE,
        POST,
        "validate_manifest.handler.lambda_handler",
        "start_labeling_job.handler.lambda_handler",
        "job_events.handler.lambda_handler",
        "start_job.handler.lambda_handler",
        "publish_job.handler.lambda_handler",
        "record_failure.handler.lambda_handler",
        "reconcile_jobs.handler.lambda_handler",
    }


@pytest.mark.parametrize("handler", [PRE, POST])
def test_function_runtime_and_architecture_come_from_config(
    functions: dict[str, Any], handler: str
) -> None:
    assert functions[handler]["Runtime"] == "python3.12"
    assert functions[handler]["Architectures"] == ["x86_64"]


@pytest.mark.parametrize(("handler", "timeout", "memory"), [(PRE, 30, 256), (POST, 900, 1769)])
def test_function_timeout_and_memory(
    functions: dict[str, Any], handler: str, timeout: int, memory: int
) -> None:
    assert functions[handler]["Timeout"] == timeout
    assert functions[handler]["MemorySize"] == memory


@pytest.mark.parametrize("handler", [PRE, POST])
def test_function_has_powertools_and_numeric_layers(
    functions: dict[str, Any], template_json: dict[str, Any], handler: str
) -> None:
    numeric_layers = {
        logical_id: layer
        for logical_id, layer in resources(template_json, "AWS::Lambda::LayerVersion").items()
        if logical_id.startswith("NumericLayer")
    }
    assert len(numeric_layers) == 1
    layers = {flatten(layer) for layer in functions[handler]["Layers"]}
    assert layers == {
        "arn:aws:lambda:<AWS::Region>:017000801446:layer:"
        "AWSLambdaPowertoolsPythonV3-python312-x86_64:40",
        f"<{next(iter(numeric_layers))}>",
    }


def test_numeric_layer_matches_runtime_and_architecture(template: Template) -> None:
    template.has_resource_properties(
        "AWS::Lambda::LayerVersion",
        {"CompatibleRuntimes": ["python3.12"], "CompatibleArchitectures": ["x86_64"]},
    )


@pytest.mark.parametrize("handler", [PRE, POST])
def test_function_logs_json_to_its_own_encrypted_log_group(
    functions: dict[str, Any], template_json: dict[str, Any], handler: str
) -> None:
    logging = functions[handler]["LoggingConfig"]
    assert logging["LogFormat"] == "JSON"
    log_group = template_json["Resources"][logging["LogGroup"]["Ref"]]
    assert log_group["Properties"]["RetentionInDays"] == 90
    assert "KmsKeyId" in log_group["Properties"]


def test_log_groups_are_one_per_function(functions: dict[str, Any]) -> None:
    groups = {json.dumps(f["LoggingConfig"]["LogGroup"]) for f in functions.values()}
    assert len(groups) == len(functions)


@pytest.mark.parametrize(
    ("handler", "service"), [(PRE, "pre_annotation"), (POST, "post_annotation")]
)
def test_function_traces_and_names_its_powertools_service(
    functions: dict[str, Any], handler: str, service: str
) -> None:
    assert functions[handler]["TracingConfig"] == {"Mode": "Active"}
    assert functions[handler]["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"] == service


@pytest.mark.parametrize(
    ("handler", "keys"),
    [
        (PRE, {"LABELFLOW_PROJECTS", "POWERTOOLS_SERVICE_NAME"}),
        (
            POST,
            {"LABELFLOW_PROJECTS", "ARTIFACTS_BUCKET", "SKILLS_TABLE", "POWERTOOLS_SERVICE_NAME"},
        ),
    ],
)
def test_function_environment_keys(functions: dict[str, Any], handler: str, keys: set[str]) -> None:
    assert set(functions[handler]["Environment"]["Variables"]) == keys


def test_projects_setting_lists_every_project(
    functions: dict[str, Any], stage_config: StageConfig
) -> None:
    projects = json.loads(functions[PRE]["Environment"]["Variables"]["LABELFLOW_PROJECTS"])
    assert projects["cats"] == {
        "task_type": "image-classification",
        "labels": ["cat", "not-cat"],
        "method": "dawid-skene",
        "method_params": {"max_iterations": 50},
        "short_instruction": "Is this a cat?",
        "full_instruction": "<p>Answer cat only for domestic cats.</p>",
        "workers_per_item": 5,
        "workforce": {
            "type": "private",
            "workteam_arn": stage_config.workteam_arn,
            "price_usd": None,
            "free_of_pii": False,
            "free_of_adult_content": False,
        },
        "task_time_limit_seconds": 600,
        "task_availability_seconds": 864_000,
        "max_concurrent_tasks": None,
        "backend": "ground-truth",
    }
    assert set(projects) == {project.name for project in stage_config.projects}


def test_artifacts_bucket_setting_names_the_artifacts_bucket(
    functions: dict[str, Any], template_json: dict[str, Any]
) -> None:
    artifacts = bucket_by_log_prefix(template_json, "artifacts/")
    assert functions[POST]["Environment"]["Variables"]["ARTIFACTS_BUCKET"] == {"Ref": artifacts}


def test_there_are_four_data_buckets_and_an_access_log_bucket(
    template_json: dict[str, Any],
) -> None:
    buckets = resources(template_json, "AWS::S3::Bucket")
    assert len(buckets) == 5
    prefixes = {
        b["Properties"].get("LoggingConfiguration", {}).get("LogFilePrefix")
        for b in buckets.values()
    }
    assert prefixes == {"intake/", "results/", "artifacts/", "audit/", None}


def test_only_the_audit_bucket_is_object_locked_in_governance_mode(
    template_json: dict[str, Any],
) -> None:
    locked = [
        b["Properties"]
        for b in resources(template_json, "AWS::S3::Bucket").values()
        if b["Properties"].get("ObjectLockEnabled")
    ]
    (audit,) = locked
    assert audit["LoggingConfiguration"]["LogFilePrefix"] == "audit/"
    assert audit["ObjectLockConfiguration"] == {
        "ObjectLockEnabled": "Enabled",
        "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 365}},
    }


def test_every_bucket_blocks_public_access_and_is_versioned(template_json: dict[str, Any]) -> None:
    for bucket in resources(template_json, "AWS::S3::Bucket").values():
        properties = bucket["Properties"]
        assert properties["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
        assert properties["VersioningConfiguration"] == {"Status": "Enabled"}


def test_every_bucket_denies_requests_without_tls(template_json: dict[str, Any]) -> None:
    buckets = set(resources(template_json, "AWS::S3::Bucket"))
    tls_only = set()
    for policy in resources(template_json, "AWS::S3::BucketPolicy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            secure = statement.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport")
            if statement["Effect"] == "Deny" and secure == "false":
                tls_only.add(policy["Properties"]["Bucket"]["Ref"])
    assert tls_only == buckets


def test_data_buckets_use_the_customer_managed_key_and_log_access(
    template_json: dict[str, Any],
) -> None:
    keys = resources(template_json, "AWS::KMS::Key")
    assert len(keys) == 1
    key_id = next(iter(keys))
    access_logs = bucket_by_log_prefix_missing(template_json)
    for prefix in ("intake/", "results/", "artifacts/"):
        properties = template_json["Resources"][bucket_by_log_prefix(template_json, prefix)][
            "Properties"
        ]
        (rule,) = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert rule["ServerSideEncryptionByDefault"] == {
            "SSEAlgorithm": "aws:kms",
            "KMSMasterKeyID": {"Fn::GetAtt": [key_id, "Arn"]},
        }
        assert properties["LoggingConfiguration"]["DestinationBucketName"] == {"Ref": access_logs}


def bucket_by_log_prefix_missing(template_json: dict[str, Any]) -> str:
    """The access-log bucket: the one bucket that does not log its own accesses."""
    (logical_id,) = [
        logical_id
        for logical_id, bucket in resources(template_json, "AWS::S3::Bucket").items()
        if "LoggingConfiguration" not in bucket["Properties"]
    ]
    return logical_id


def test_access_log_bucket_uses_s3_managed_encryption(template_json: dict[str, Any]) -> None:
    bucket = template_json["Resources"][bucket_by_log_prefix_missing(template_json)]
    (rule,) = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}


def test_intake_allows_cross_origin_gets_for_worker_browsers(
    template_json: dict[str, Any],
) -> None:
    intake = template_json["Resources"][bucket_by_log_prefix(template_json, "intake/")]
    assert intake["Properties"]["CorsConfiguration"]["CorsRules"] == [
        {
            "AllowedMethods": ["GET"],
            "AllowedOrigins": ["*"],
            "ExposedHeaders": ["Access-Control-Allow-Origin"],
        }
    ]


def test_only_intake_sends_events_to_eventbridge(template_json: dict[str, Any]) -> None:
    intake = bucket_by_log_prefix(template_json, "intake/")
    notifications = resources(template_json, "Custom::S3BucketNotifications")
    assert [n["Properties"]["BucketName"] for n in notifications.values()] == [{"Ref": intake}]
    (notification,) = notifications.values()
    assert notification["Properties"]["NotificationConfiguration"] == {
        "EventBridgeConfiguration": {}
    }


def test_key_rotates_and_lets_cloudwatch_logs_use_it(template: Template) -> None:
    template.has_resource_properties(
        "AWS::KMS::Key",
        {
            "EnableKeyRotation": True,
            "KeyPolicy": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Principal": {
                                    "Service": {
                                        "Fn::Join": [
                                            "",
                                            ["logs.", {"Ref": "AWS::Region"}, Match.any_value()],
                                        ]
                                    }
                                },
                                "Condition": {"ArnLike": Match.any_value()},
                            }
                        )
                    ]
                )
            },
        },
    )


def test_labeling_role_invokes_exactly_the_two_functions(
    template_json: dict[str, Any], functions: dict[str, Any], labeling_role_id: str
) -> None:
    allowed = actions_on(role_statements(template_json, labeling_role_id))
    arns = [f"<{functions[handler]['LogicalId']}.Arn>" for handler in (PRE, POST)]
    # The unqualified ARN and its $LATEST alias: the same code, no other versions.
    assert allowed["lambda:InvokeFunction"] == {*arns, *(f"{arn}:$LATEST" for arn in arns)}


def test_no_policy_allows_invoking_functions_by_wildcard(template_json: dict[str, Any]) -> None:
    for policy in resources(template_json, "AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = as_list(statement["Action"])
            if any(action.startswith("lambda:") or action == "*" for action in actions):
                for resource in as_list(statement["Resource"]):
                    assert "*" not in flatten(resource), statement


def test_labeling_role_uses_no_managed_policies(
    template_json: dict[str, Any], labeling_role_id: str
) -> None:
    role = template_json["Resources"][labeling_role_id]["Properties"]
    assert "ManagedPolicyArns" not in role


def test_labeling_role_reads_intake_and_writes_results_with_the_key(
    template_json: dict[str, Any], labeling_role_id: str
) -> None:
    allowed = actions_on(role_statements(template_json, labeling_role_id))
    intake = bucket_by_log_prefix(template_json, "intake/")
    results = bucket_by_log_prefix(template_json, "results/")
    key = next(iter(resources(template_json, "AWS::KMS::Key")))
    assert f"<{intake}.Arn>/*" in allowed["s3:GetObject*"]
    assert f"<{results}.Arn>/*" in allowed["s3:GetObject*"]
    assert allowed["s3:PutObject"] == {f"<{results}.Arn>/*"}
    assert "s3:DeleteObject*" not in allowed
    for action in ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*", "kms:DescribeKey"):
        assert allowed[action] == {f"<{key}.Arn>"}, action


def test_labeling_role_writes_labeling_job_logs_and_metrics(
    template_json: dict[str, Any], labeling_role_id: str
) -> None:
    statements = role_statements(template_json, labeling_role_id)
    allowed = actions_on(statements)
    assert all("/aws/sagemaker/LabelingJobs" in r for r in allowed["logs:PutLogEvents"])
    (metrics,) = [s for s in statements if s["Action"] == "cloudwatch:PutMetricData"]
    assert metrics["Condition"] == {"StringEquals": {"cloudwatch:namespace": "AWS/SageMaker"}}


def _function_role_statements(
    template_json: dict[str, Any], function: dict[str, Any]
) -> list[dict[str, Any]]:
    role_id = function["Role"]["Fn::GetAtt"][0]
    return role_statements(template_json, role_id)


def test_consolidation_reads_results_and_writes_only_its_own_artifacts(
    template_json: dict[str, Any], functions: dict[str, Any]
) -> None:
    allowed = actions_on(_function_role_statements(template_json, functions[POST]))
    results = bucket_by_log_prefix(template_json, "results/")
    artifacts = bucket_by_log_prefix(template_json, "artifacts/")
    assert f"<{results}.Arn>/*" in allowed["s3:GetObject*"]
    assert f"<{artifacts}.Arn>/skills/*" in allowed["s3:GetObject*"]
    assert allowed["s3:PutObject"] == {
        f"<{results}.Arn>/*annotations/consolidated-annotation/output/*",
        f"<{artifacts}.Arn>/skills/*",
        f"<{artifacts}.Arn>/masks/*",
    }
    assert "kms:Decrypt" in allowed
    assert not any(action.startswith("s3:Delete") for action in allowed)


def test_pre_annotation_has_no_data_access(
    template_json: dict[str, Any], functions: dict[str, Any]
) -> None:
    allowed = actions_on(_function_role_statements(template_json, functions[PRE]))
    assert set(allowed) == {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
    }


@pytest.mark.parametrize("handler", [PRE, POST])
def test_function_roles_use_no_managed_policies(
    template_json: dict[str, Any], functions: dict[str, Any], handler: str
) -> None:
    role_id = functions[handler]["Role"]["Fn::GetAtt"][0]
    assert "ManagedPolicyArns" not in template_json["Resources"][role_id]["Properties"]


def test_outputs_name_every_resource_operators_need(template_json: dict[str, Any]) -> None:
    assert set(template_json["Outputs"]) == {
        "IntakeBucketName",
        "ResultsBucketName",
        "ArtifactsBucketName",
        "AuditBucketName",
        "PreAnnotationFunctionArn",
        "ConsolidationFunctionArn",
        "LabelingJobRoleArn",
        "KeyArn",
        "ProjectNames",
        "WorkflowStateMachineArn",
        "TokensTableName",
        "JobsTableName",
        "NotificationTopicArn",
    }


def test_project_names_output_lists_the_configured_projects(template_json: dict[str, Any]) -> None:
    names = ",".join(project.name for project in TEST_PROJECTS)
    assert template_json["Outputs"]["ProjectNames"] == {"Value": names}


# -- construct argument validation (no synth) -------------------------------------------------


def _platform(stack: Stack) -> FunctionPlatform:
    return FunctionPlatform(
        runtime=lambda_.Runtime.PYTHON_3_12,
        architecture=lambda_.Architecture.ARM_64,
        layers=(),
        log_retention=logs.RetentionDays.ONE_WEEK,
        log_key=kms.Key(stack, "Key"),
        removal_policy=RemovalPolicy.DESTROY,
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"handler": "pre_annotation.handler.main"}, "handler"),
        ({"handler": "lambdas.pre_annotation.handler.lambda_handler"}, "handler"),
        ({"memory_size": 64}, "memory_size"),
        ({"environment": {"POWERTOOLS_SERVICE_NAME": "x"}}, "reserved"),
        ({"environment": {"LABELFLOW_PROJECTS": "x" * 5000}}, "4096"),
    ],
)
def test_runtime_function_rejects_invalid_arguments(kwargs: dict[str, Any], message: str) -> None:
    stack = Stack(App(), "Validation")
    arguments: dict[str, Any] = {
        "handler": "pre_annotation.handler.lambda_handler",
        "environment": {},
        "timeout": Duration.seconds(3),
        "memory_size": 128,
        **kwargs,
    }
    with pytest.raises(ValueError, match=message):
        RuntimeFunction(stack, "Function", platform=_platform(stack), **arguments)


def test_numeric_layer_pip_command_targets_the_lambda_platform() -> None:
    bundling = PipLocalBundling(
        requirements=REQUIREMENTS, platform="manylinux_2_28_aarch64", python_version="3.12"
    )
    command = bundling.command("/out")
    for flag, value in [
        ("--platform", "manylinux_2_28_aarch64"),
        ("--python-version", "3.12"),
        ("--implementation", "cp"),
        ("--target", "/out/python"),
        ("--requirement", str(REQUIREMENTS)),
    ]:
        assert command[command.index(flag) + 1] == value
    assert {"--only-binary=:all:", "--no-compile"} <= set(command)


def test_numeric_layer_bundling_raises_instead_of_falling_back(tmp_path: Any) -> None:
    bundling = PipLocalBundling(
        requirements=tmp_path / "missing.txt",
        platform="manylinux_2_28_x86_64",
        python_version="3.12",
    )
    with pytest.raises(RuntimeError, match="numeric layer"):
        bundling.try_bundle(str(tmp_path / "out"), None)  # type: ignore[arg-type]
