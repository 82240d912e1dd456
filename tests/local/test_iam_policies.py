"""Recorded calls decided from a template's policies: identity, key and bucket policies."""

from __future__ import annotations

from typing import Any

import pytest

from labelflow.local.deploy import TemplateResolver
from labelflow.local.iam import Call
from labelflow.local.iam_policies import TemplatePolicies

ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/demo-Role"


def _template(key_principal: Any, bucket_statement: dict[str, Any] | None = None) -> Any:
    statements = [
        {"Effect": "Allow", "Action": "S3:GetObject*", "Resource": "arn:aws:s3:::demo-data/in/*"},
        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": {"Fn::GetAtt": ["Key", "Arn"]}},
        {"Effect": "Allow", "Action": "sns:Publish", "Resource": "arn:aws:sns:*:*:topic-?"},
        {
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": ROLE,
            "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
        },
        {
            "Effect": "Allow",
            "Action": "events:PutEvents",
            "Resource": "*",
            "Condition": {"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}},
        },
    ]
    resources: dict[str, Any] = {
        "Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}}},
        "Policy": {
            "Type": "AWS::IAM::Policy",
            "Properties": {
                "PolicyName": "p",
                "Roles": [{"Ref": "Role"}],
                "PolicyDocument": {"Statement": statements},
            },
        },
        "Key": {
            "Type": "AWS::KMS::Key",
            "Properties": {
                "KeyPolicy": {
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"AWS": key_principal},
                            "Action": "kms:*",
                            "Resource": "*",
                        }
                    ]
                }
            },
        },
        "Data": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "demo-data"}},
    }
    if bucket_statement:
        resources["DataPolicy"] = {
            "Type": "AWS::S3::BucketPolicy",
            "Properties": {
                "Bucket": {"Ref": "Data"},
                "PolicyDocument": {"Statement": [bucket_statement]},
            },
        }
    return {"Resources": resources}


def _policies(key_principal: Any = f"arn:aws:iam::{ACCOUNT}:root", **kwargs: Any) -> Any:
    resolver = TemplateResolver(_template(key_principal, **kwargs), stack_name="demo")
    return TemplatePolicies.from_resolver(resolver), resolver.get_att("Key", "Arn")


def _call(action: str, resource: str, **context: str) -> Call:
    return Call(ROLE, action, resource, context, True, "request")


@pytest.mark.parametrize(
    ("action", "resource", "context"),
    [
        ("s3:GetObject", "arn:aws:s3:::demo-data/in/a.png", {}),
        ("s3:getobjecttagging", "arn:aws:s3:::demo-data/in/a.png", {}),  # actions: any case
        ("sns:Publish", f"arn:aws:sns:us-east-1:{ACCOUNT}:topic-1", {}),  # "?": one character
        ("iam:PassRole", ROLE, {"iam:PassedToService": "sagemaker.amazonaws.com"}),
    ],
)
def test_a_call_the_roles_policy_allows_has_no_problem(
    action: str, resource: str, context: dict[str, str]
) -> None:
    policies, _ = _policies()

    assert policies.problems(_call(action, resource, **context)) == []


@pytest.mark.parametrize(
    ("action", "resource", "context", "problem"),
    [
        ("s3:GetObject", "arn:aws:s3:::demo-data/out/a.png", {}, "no statement"),
        ("s3:PutObject", "arn:aws:s3:::demo-data/in/a.png", {}, "no statement"),
        ("sns:Publish", f"arn:aws:sns:us-east-1:{ACCOUNT}:topic-12", {}, "no statement"),
        ("iam:PassRole", ROLE, {"iam:PassedToService": "lambda.amazonaws.com"}, "no statement"),
        ("iam:PassRole", ROLE, {}, "no statement"),
        ("events:PutEvents", "*", {}, "NumericLessThan on aws:MultiFactorAuthAge"),
    ],
)
def test_a_call_the_roles_policy_does_not_allow_is_named(
    action: str, resource: str, context: dict[str, str], problem: str
) -> None:
    policies, _ = _policies()

    (found,) = policies.problems(_call(action, resource, **context))

    assert found.startswith(f"{ROLE} {action} on {resource}: ")
    assert problem in found


def test_a_key_policy_that_names_the_account_lets_the_roles_policy_decide() -> None:
    policies, key = _policies()

    assert policies.problems(_call("kms:Decrypt", key)) == []
    assert "the role's policies" in policies.problems(_call("kms:GenerateDataKey", key))[0]


def test_a_key_policy_that_names_neither_role_nor_account_refuses() -> None:
    policies, key = _policies(key_principal="arn:aws:iam::999999999999:root")

    (found,) = policies.problems(_call("kms:Decrypt", key))

    assert found.endswith("not allowed by the key policy")


def test_a_key_policy_that_names_the_role_allows_without_its_policy() -> None:
    policies, key = _policies(key_principal=ROLE)

    assert policies.problems(_call("kms:GenerateDataKey", key)) == []


@pytest.mark.parametrize(
    ("statement", "denied"),
    [
        (
            {
                "Effect": "Deny",
                "Principal": {"AWS": "*"},
                "Action": "s3:*",
                "Resource": "arn:aws:s3:::demo-data/*",
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
            False,  # AWS calls are made over TLS
        ),
        (
            {
                "Effect": "Deny",
                "Principal": {"AWS": "*"},
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::demo-data/in/*",
            },
            True,
        ),
    ],
)
def test_a_bucket_policys_deny_refuses_the_call(statement: dict[str, Any], denied: bool) -> None:
    policies, _ = _policies(bucket_statement=statement)

    found = policies.problems(_call("s3:GetObject", "arn:aws:s3:::demo-data/in/a.png"))

    assert bool(found) is denied
    if denied:
        assert found == [
            f"{ROLE} s3:GetObject on arn:aws:s3:::demo-data/in/a.png: denied by the resource "
            "policy of arn:aws:s3:::demo-data"
        ]


def test_check_reports_each_distinct_call_once() -> None:
    policies, _ = _policies()
    refused = _call("s3:PutObject", "arn:aws:s3:::demo-data/in/a.png")

    assert len(policies.check([refused, refused, _call("s3:GetObject", refused.resource)])) == 1
