"""Every S3 location a CreateLabelingJob request names is usable by the role the request names.

The request is built by the StartLabelingJob function's own code from its synthesized settings
(bucket names, role and key ARNs resolved as the emulator's deployer resolves them); the role's
permissions are read from the synthesized IAM policies and evaluated as IAM matches actions
and resources.
"""

from __future__ import annotations

from typing import Any

import pytest

from gt_contracts import parse_s3_uri, s3_uri
from job_contracts.layout import JobLayout, LabelingJobFolder, template_key
from job_contracts.steps import StartRequest
from labelflow.local.deploy import TemplateResolver
from start_labeling_job.logic import build_request
from start_labeling_job.settings import Settings
from tests.infra.template_helpers import (
    allows,
    bucket_by_log_prefix,
    iam_match,
    labelflow_functions,
    resources,
    role_statements,
)

STACK = "labelflow-test-Labeling"
START = "start_labeling_job.handler.lambda_handler"
VALIDATE = "validate_manifest.handler.lambda_handler"
JOB_ID = "0123456789abcdef"
PROJECTS = ("cats", "cells")


@pytest.fixture(scope="module")
def resolver(template_json: dict[str, Any]) -> TemplateResolver:
    return TemplateResolver(template_json, stack_name=STACK)


def _environment(resolver: TemplateResolver, function: dict[str, Any]) -> dict[str, str]:
    variables = function["Environment"]["Variables"]
    return {name: str(resolver.resolve(value)) for name, value in variables.items()}


@pytest.fixture(scope="module")
def requests(template_json: dict[str, Any], resolver: TemplateResolver) -> dict[str, Any]:
    """Each project's CreateLabelingJob request for chunk 0 of a job, as the function builds it."""
    functions = labelflow_functions(template_json)
    environment = {**_environment(resolver, functions[START]), "AWS_REGION": resolver.region}
    settings = Settings.from_env(environment)
    # The chunk manifest is where Validate writes it.
    results = _environment(resolver, functions[VALIDATE])["RESULTS_BUCKET"]
    chunk = {"index": 0, "manifestUri": s3_uri(results, JobLayout(JOB_ID).chunk(0))}
    built = {}
    for name, project in settings.labelflow_projects.items():
        event = {"taskToken": "token", "jobId": JOB_ID, "project": name, "chunk": chunk}
        built[name] = build_request(StartRequest.from_event(event), project, settings.job)
    assert set(built) == set(PROJECTS)
    return built


def _statements(
    template_json: dict[str, Any], resolver: TemplateResolver, role_arn: str
) -> list[dict[str, Any]]:
    """The resolved statements of the role whose synthesized ARN is `role_arn`."""
    (role_id,) = [
        logical_id
        for logical_id in resources(template_json, "AWS::IAM::Role")
        if resolver.get_att(logical_id, "Arn") == role_arn
    ]
    return [resolver.resolve(statement) for statement in role_statements(template_json, role_id)]


def _bucket_keys(template_json: dict[str, Any], resolver: TemplateResolver) -> dict[str, str]:
    """Bucket name -> the ARN of the KMS key its objects are encrypted with."""
    keys = {}
    for logical_id, bucket in resources(template_json, "AWS::S3::Bucket").items():
        (rule,) = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        key = rule["ServerSideEncryptionByDefault"].get("KMSMasterKeyID")
        if key is not None:
            keys[resolver.name(logical_id)] = str(resolver.resolve(key))
    return keys


def _object_arn(uri: str) -> str:
    bucket, key = parse_s3_uri(uri)
    return f"arn:aws:s3:::{bucket}/{key}"


@pytest.mark.parametrize("project", PROJECTS)
def test_every_location_a_labeling_job_reads_is_readable_by_its_role(
    template_json: dict[str, Any],
    resolver: TemplateResolver,
    requests: dict[str, Any],
    project: str,
) -> None:
    request = requests[project]
    statements = _statements(template_json, resolver, request["RoleArn"])
    keys = _bucket_keys(template_json, resolver)
    reads = {
        "ManifestS3Uri": request["InputConfig"]["DataSource"]["S3DataSource"]["ManifestS3Uri"],
        "UiTemplateS3Uri": request["HumanTaskConfig"]["UiConfig"]["UiTemplateS3Uri"],
        "LabelCategoryConfigS3Uri": request["LabelCategoryConfigS3Uri"],
    }
    for field, uri in reads.items():
        bucket, _ = parse_s3_uri(uri, field=field)
        assert allows(statements, "s3:GetObject", _object_arn(uri)), f"{field} {uri}"
        assert allows(statements, "kms:Decrypt", keys[bucket]), f"{field}: key of {bucket}"


@pytest.mark.parametrize("project", PROJECTS)
def test_the_output_path_of_a_labeling_job_is_writable_by_its_role(
    template_json: dict[str, Any],
    resolver: TemplateResolver,
    requests: dict[str, Any],
    project: str,
) -> None:
    request = requests[project]
    statements = _statements(template_json, resolver, request["RoleArn"])
    output = request["OutputConfig"]
    folder = LabelingJobFolder(output["S3OutputPath"] + request["LabelingJobName"])
    for uri in (folder.output_manifest, folder.worker_response("0", "2024-05-03_15:40:07")):
        assert allows(statements, "s3:PutObject", _object_arn(uri)), uri
    # Ground Truth encrypts its output with OutputConfig.KmsKeyId, and reads it back.
    for action in ("kms:GenerateDataKey", "kms:Encrypt", "kms:Decrypt", "kms:DescribeKey"):
        assert allows(statements, action, output["KmsKeyId"]), action


def test_the_role_reads_the_worker_templates_and_nothing_else_of_artifacts(
    template_json: dict[str, Any], resolver: TemplateResolver, requests: dict[str, Any]
) -> None:
    statements = _statements(template_json, resolver, requests["cats"]["RoleArn"])
    artifacts = resolver.name(bucket_by_log_prefix(template_json, "artifacts/"))
    assert requests["cats"]["HumanTaskConfig"]["UiConfig"]["UiTemplateS3Uri"] == s3_uri(
        artifacts, template_key("cats")
    )
    for key in ("skills/cats/prior.json", "masks/cats/job/0.png"):
        assert not allows(statements, "s3:GetObject", f"arn:aws:s3:::{artifacts}/{key}"), key
    assert not allows(statements, "s3:PutObject", f"arn:aws:s3:::{artifacts}/templates/x")
    assert not allows(statements, "s3:ListBucket", f"arn:aws:s3:::{artifacts}")


@pytest.mark.parametrize(
    ("pattern", "value", "ignore_case", "matches"),
    [
        ("s3:GetObject*", "s3:GetObject", True, True),
        ("s3:getobject", "s3:GetObject", True, True),
        ("kms:GenerateDataKey*", "kms:GenerateDataKeyWithoutPlaintext", True, True),
        ("s3:Get?bject", "s3:GetObject", True, True),
        ("s3:PutObject", "s3:PutObjectAcl", True, False),
        ("arn:aws:s3:::b/templates/*", "arn:aws:s3:::b/templates/a/b.html", False, True),
        ("arn:aws:s3:::b/templates/*", "arn:aws:s3:::b/Templates/a.html", False, False),
        ("arn:aws:s3:::b/*", "arn:aws:s3:::b", False, False),
        ("arn:aws:s3:::b[1]/*", "arn:aws:s3:::b1/x", False, False),
    ],
)
def test_iam_match_follows_iam_wildcards(
    pattern: str, value: str, ignore_case: bool, matches: bool
) -> None:
    assert iam_match(pattern, value, ignore_case=ignore_case) is matches


def test_allows_counts_only_unconditional_allows_and_lets_a_deny_win() -> None:
    resource = "arn:aws:s3:::b/k"
    allow = {"Effect": "Allow", "Action": ["s3:Get*"], "Resource": "arn:aws:s3:::b/*"}
    conditional = {**allow, "Condition": {"Bool": {"aws:SecureTransport": "true"}}}
    deny = {"Effect": "Deny", "Action": "s3:*", "Resource": resource}

    assert allows([allow], "s3:GetObject", resource)
    assert not allows([allow], "s3:PutObject", resource)
    assert not allows([conditional], "s3:GetObject", resource)
    assert not allows([allow, deny], "s3:GetObject", resource)
