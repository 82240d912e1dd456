"""Template resolution, and the synthesized LabelFlow stack deployed and run end to end."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from labelflow.local import fake_sagemaker
from labelflow.local.deploy import (
    DeployError,
    TemplateResolver,
    deploy,
    deploy_template,
    state_machine_definitions,
)
from labelflow.local.server import LocalAws
from labelflow.local.workforce import SimulatedWorker, SimulatedWorkforce
from tests.local.conftest import STACK, remove_intake_trigger

TEMPLATE: dict[str, Any] = {
    "Parameters": {"Stage": {"Type": "String", "Default": "dev"}},
    "Conditions": {"IsDev": {"Fn::Equals": [{"Ref": "Stage"}, "dev"]}},
    "Resources": {
        "Data": {"Type": "AWS::S3::Bucket", "Properties": {}},
        "Named": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "explicit-name"}},
        "Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}}},
        "Queue": {"Type": "AWS::SQS::Queue", "Properties": {}},
        "Machine": {
            "Type": "AWS::StepFunctions::StateMachine",
            "Properties": {
                "RoleArn": {"Fn::GetAtt": ["Role", "Arn"]},
                "DefinitionString": {
                    "Fn::Join": [
                        "",
                        [
                            '{"StartAt":"P","States":{"P":{"Type":"Pass","Result":"',
                            {"Ref": "Data"},
                            '","Parameters":{"q":"${QueueUrl}"},"End":true}}}',
                        ],
                    ]
                },
                "DefinitionSubstitutions": {"QueueUrl": {"Ref": "Queue"}},
            },
        },
        "Rule": {
            "Type": "AWS::Events::Rule",
            "Properties": {
                "EventPattern": {"source": ["labelflow.test"]},
                "Targets": [
                    {
                        "Id": "m",
                        "Arn": {"Ref": "Machine"},
                        "RoleArn": {"Fn::GetAtt": ["Role", "Arn"]},
                    }
                ],
            },
        },
    },
    "Outputs": {
        "DataArn": {"Value": {"Fn::GetAtt": ["Data", "Arn"]}},
        "Sub": {"Value": {"Fn::Sub": "${AWS::Region}/${Data}/${Role.Arn}/${!Literal}"}},
        "Picked": {"Value": {"Fn::Select": [1, {"Fn::Split": [",", "a,b,c"]}]}},
        "Chosen": {"Value": {"Fn::If": ["IsDev", "yes", {"Ref": "AWS::NoValue"}]}},
    },
}


def test_resolver_evaluates_intrinsics_with_consistent_names() -> None:
    resolver = TemplateResolver(TEMPLATE, stack_name="Demo-Stack", region="eu-west-1")

    outputs = {key: resolver.resolve(value["Value"]) for key, value in TEMPLATE["Outputs"].items()}

    assert outputs == {
        "DataArn": "arn:aws:s3:::demo-stack-data",
        "Sub": (
            "eu-west-1/demo-stack-data/arn:aws:iam::123456789012:role/Demo-Stack-Role/${Literal}"
        ),
        "Picked": "b",
        "Chosen": "yes",
    }
    assert resolver.ref("Named") == "explicit-name"
    assert (
        resolver.ref("Queue") == "https://sqs.eu-west-1.amazonaws.com/123456789012/Demo-Stack-Queue"
    )
    assert resolver.ref("AWS::Partition") == "aws"


def test_state_machine_definitions_apply_substitutions() -> None:
    resolver = TemplateResolver(TEMPLATE, stack_name="demo")

    definition = state_machine_definitions(resolver)["Machine"]

    state = definition["States"]["P"]
    assert state["Result"] == "demo-data"
    assert state["Parameters"]["q"].endswith("/123456789012/demo-Queue")


def test_resolver_names_unsupported_attributes() -> None:
    resolver = TemplateResolver(TEMPLATE, stack_name="demo")

    with pytest.raises(DeployError, match=r"Data\.Nope"):
        resolver.resolve({"Fn::GetAtt": ["Data", "Nope"]})


def test_deploy_template_creates_machine_and_rule(local_aws: LocalAws, tmp_path: Path) -> None:
    deployment = deploy_template(
        TEMPLATE, stack_name="demo", asset_root=tmp_path, client=local_aws.client
    )
    events = local_aws.client("events")
    sfn = local_aws.client("stepfunctions")

    events.put_events(Entries=[{"Source": "labelflow.test", "DetailType": "t", "Detail": "{}"}])

    machine = deployment.physical_ids["Machine"]
    assert sfn.describe_state_machine(stateMachineArn=machine)["name"] == "demo-Machine"
    assert len(sfn.list_executions(stateMachineArn=machine)["executions"]) == 1
    assert local_aws.client("s3").head_bucket(Bucket="demo-data")
    assert deployment.outputs["Picked"] == "b"


def test_a_scheduled_rule_gets_no_targets(local_aws: LocalAws, tmp_path: Path) -> None:
    # moto matches every event to a rule without an EventPattern; a schedule must not fire
    # on them
    template = json.loads(json.dumps(TEMPLATE))
    rule = template["Resources"]["Rule"]["Properties"]
    del rule["EventPattern"]
    rule["ScheduleExpression"] = "rate(30 minutes)"
    deployment = deploy_template(
        template, stack_name="demo", asset_root=tmp_path, client=local_aws.client
    )
    events = local_aws.client("events")

    events.put_events(Entries=[{"Source": "labelflow.test", "DetailType": "t", "Detail": "{}"}])

    name = events.list_rules()["Rules"][0]["Name"]
    assert events.describe_rule(Name=name)["ScheduleExpression"] == "rate(30 minutes)"
    assert events.list_targets_by_rule(Rule=name)["Targets"] == []
    machine = deployment.physical_ids["Machine"]
    assert (
        local_aws.client("stepfunctions").list_executions(stateMachineArn=machine)["executions"]
        == []
    )


# ------------------------------------------------------------------------------- end to end

REVIEWS = {
    "r1": ("An absolute joy to use every day.", "positive"),
    "r2": ("Broke after two days and support never answered.", "negative"),
    "r3": ("It is a kettle. It boils water.", "neutral"),
    "r4": ("Best purchase of the year, highly recommended.", "positive"),
}


def test_labeling_job_runs_the_deployed_lambdas(local_aws: LocalAws, cdk_out: Path) -> None:
    # Given the synthesized stack deployed, a manifest and a rule capturing job events
    deployment = deploy(cdk_out, STACK, client=local_aws.client)
    outputs = deployment.outputs
    intake, results = outputs["IntakeBucketName"], outputs["ResultsBucketName"]
    s3, sqs, events = (local_aws.client(name) for name in ("s3", "sqs", "events"))
    remove_intake_trigger(events)
    queue_url = sqs.create_queue(QueueName="job-events")["QueueUrl"]
    events.put_rule(
        Name="job-events",
        EventPattern=json.dumps(
            {
                "source": ["aws.sagemaker"],
                "detail-type": [fake_sagemaker.EVENT_DETAIL_TYPE],
            }
        ),
    )
    events.put_targets(
        Rule="job-events",
        Targets=[{"Id": "q", "Arn": "arn:aws:sqs:us-east-1:123456789012:job-events"}],
    )
    lines = [{"source": text, "item-id": key} for key, (text, _) in REVIEWS.items()]
    s3.put_object(
        Bucket=intake,
        Key="reviews/batch.manifest",
        Body="\n".join(json.dumps(line) for line in lines).encode(),
    )
    s3.put_object(
        Bucket=intake,
        Key="ui/text.liquid.html",
        Body=b'<crowd-form><crowd-classifier name="tone"></crowd-classifier></crowd-form>',
    )
    fake_sagemaker.register_workforce(
        SimulatedWorkforce(
            workers=[
                SimulatedWorker("private.us-east-1.00000000000000a1", 1.0),
                SimulatedWorker("private.us-east-1.00000000000000a2", 1.0),
                SimulatedWorker("private.us-east-1.00000000000000a3", 0.0),
            ],
            truth=lambda line: REVIEWS[line["item-id"]][1],
            seed=7,
        ),
        job_prefix="reviews-",
    )

    # When a labeling job over it is created and run
    sagemaker = local_aws.client("sagemaker")
    arn = sagemaker.create_labeling_job(
        LabelingJobName="reviews-2026-01",
        LabelAttributeName="tone",
        InputConfig={
            "DataSource": {
                "S3DataSource": {"ManifestS3Uri": f"s3://{intake}/reviews/batch.manifest"}
            }
        },
        OutputConfig={"S3OutputPath": f"s3://{results}/jobs"},
        RoleArn=outputs["LabelingJobRoleArn"],
        HumanTaskConfig={
            "WorkteamArn": "arn:aws:sagemaker:us-east-1:123456789012:workteam/private-crowd/t",
            "UiConfig": {"UiTemplateS3Uri": f"s3://{intake}/ui/text.liquid.html"},
            "PreHumanTaskLambdaArn": outputs["PreAnnotationFunctionArn"],
            "TaskTitle": "Review tone",
            "TaskDescription": "Choose the tone of the review",
            "NumberOfHumanWorkersPerDataObject": 3,
            "TaskTimeLimitInSeconds": 300,
            "AnnotationConsolidationConfig": {
                "AnnotationConsolidationLambdaArn": outputs["ConsolidationFunctionArn"]
            },
        },
    )["LabelingJobArn"]
    assert local_aws.run_jobs() == ["reviews-2026-01"]

    # Then the output manifest has every input line with its consensus label
    described = sagemaker.describe_labeling_job(LabelingJobName="reviews-2026-01")
    assert described["LabelingJobStatus"] == "Completed", described.get("FailureReason")
    assert described["LabelCounters"]["TotalLabeled"] == 4
    manifest_uri = described["LabelingJobOutput"]["OutputDatasetS3Uri"]
    assert manifest_uri == f"s3://{results}/jobs/reviews-2026-01/manifests/output/output.manifest"
    body = s3.get_object(Bucket=results, Key=manifest_uri.split("/", 3)[3])["Body"].read()
    output = [json.loads(line) for line in body.decode().splitlines()]
    assert [row["item-id"] for row in output] == list(REVIEWS)
    for row in output:
        assert row["source"] == REVIEWS[row["item-id"]][0]
        assert row["tone"]["class-name"] == REVIEWS[row["item-id"]][1]
        assert row["tone-metadata"]["job-name"] == "labeling-job/reviews-2026-01"
        assert row["tone-metadata"]["type"] == "groundtruth/custom"
    responses = s3.list_objects_v2(
        Bucket=results, Prefix="jobs/reviews-2026-01/annotations/worker-response/iteration-1/0/"
    )["Contents"]
    first = json.loads(s3.get_object(Bucket=results, Key=responses[0]["Key"])["Body"].read())
    assert len(first["answers"]) == 3
    assert {"workerId", "answerContent", "acceptanceTime"} <= set(first["answers"][0])

    # And the job's state change reached EventBridge
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
    event = json.loads(messages[-1]["Body"])
    assert event["detail-type"] == "SageMaker Ground Truth Labeling Job State Change"
    assert event["source"] == "aws.sagemaker"
    assert event["resources"] == [arn]
    assert event["detail"] == {"LabelingJobStatus": "Completed"}


def test_worker_templates_are_uploaded(local_aws: LocalAws, cdk_out: Path) -> None:
    s3 = local_aws.client("s3")
    artifacts = deploy(cdk_out, STACK, client=local_aws.client).outputs["ArtifactsBucketName"]

    listed = s3.list_objects_v2(Bucket=artifacts, Prefix="templates/")["Contents"]
    assert sorted(item["Key"] for item in listed) == [
        "templates/reviews.labelstudio.xml",
        "templates/reviews.liquid.html",
        "templates/reviews.review.liquid.html",
    ]
    body = s3.get_object(Bucket=artifacts, Key="templates/reviews.liquid.html")["Body"].read()
    assert b"<crowd-form" in body
    assert b"task.input.taskObject" in body


def _deployment_stack(root: Path, stack: str, files: dict[str, str], *, bucket: bool) -> None:
    """A stack that copies ``files`` (one directory asset) to ``shared/`` of bucket "site"."""
    asset = root / f"asset.{stack}"
    asset.mkdir(parents=True)
    for name, text in files.items():
        (asset / name).write_text(text)
    (root / f"{stack}.assets.json").write_text(
        json.dumps({"files": {stack: {"source": {"path": asset.name, "packaging": "zip"}}}})
    )
    resources: dict[str, Any] = {
        "Copy": {
            "Type": "Custom::CDKBucketDeployment",
            "Properties": {
                "ServiceToken": {"Fn::GetAtt": ["Handler", "Arn"]},
                "SourceBucketNames": [{"Fn::Sub": "cdk-assets-${AWS::AccountId}"}],
                "SourceObjectKeys": [f"{stack}.zip"],
                "SourceMarkers": [{"<<marker:0xbaba:0>>": {"Ref": "AWS::Region"}}],
                "DestinationBucketName": "site",
                "DestinationBucketKeyPrefix": "shared",
                "Prune": True,
            },
        },
        "Handler": {"Type": "AWS::Lambda::Function", "Properties": {}},
    }
    if bucket:
        resources["Site"] = {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "site"}}
    (root / f"{stack}.template.json").write_text(json.dumps({"Resources": resources}))


def test_bucket_deployment_replaces_markers_and_prunes(local_aws: LocalAws, tmp_path: Path) -> None:
    _deployment_stack(tmp_path, "First", {"a.txt": "region <<marker:0xbaba:0>>"}, bucket=True)
    _deployment_stack(tmp_path, "Second", {"b.txt": "b"}, bucket=False)
    s3 = local_aws.client("s3")

    first = deploy(tmp_path, "First", client=local_aws.client)
    assert s3.get_object(Bucket="site", Key="shared/a.txt")["Body"].read() == b"region us-east-1"
    assert "Handler" in first.skipped  # the custom resource's function is not deployed
    deploy(tmp_path, "Second", client=local_aws.client)

    listed = s3.list_objects_v2(Bucket="site", Prefix="shared/")["Contents"]
    assert [item["Key"] for item in listed] == ["shared/b.txt"]


HOOK_CODE = """
import json, os
def handler(event, context):
    body = json.dumps({"path": event["rawPath"], "secret": event["headers"].get("x-secret"),
                       "region": os.environ.get("AWS_REGION")})
    return {"statusCode": 202, "headers": {"content-type": "application/json"}, "body": body}
"""

URL_TEMPLATE: dict[str, Any] = {
    "Resources": {
        "HookRole": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}}},
        "Hook": {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "Code": {"ZipFile": HOOK_CODE},
                "Handler": "index.handler",
                "Runtime": "python3.12",
                "Role": {"Fn::GetAtt": ["HookRole", "Arn"]},
            },
        },
        "HookUrl": {
            "Type": "AWS::Lambda::Url",
            "Properties": {
                "TargetFunctionArn": {"Fn::GetAtt": ["Hook", "Arn"]},
                "AuthType": "NONE",
            },
        },
        "Shared": {
            "Type": "AWS::SecretsManager::Secret",
            "Properties": {
                "GenerateSecretString": {"PasswordLength": 40, "ExcludePunctuation": True}
            },
        },
    },
    "Outputs": {
        "Url": {"Value": {"Fn::GetAtt": ["HookUrl", "FunctionUrl"]}},
        "Secret": {"Value": {"Ref": "Shared"}},
    },
}


def test_function_urls_are_served_and_secrets_generated(
    local_aws: LocalAws, tmp_path: Path
) -> None:
    import urllib.request

    deployment = deploy_template(
        URL_TEMPLATE,
        stack_name="hooks",
        asset_root=tmp_path,
        client=local_aws.client,
        function_url_base=local_aws.function_url_base,
    )
    url = deployment.outputs["Url"]
    assert url == f"{local_aws.function_url_base}hooks-Hook/"

    request = urllib.request.Request(
        url + "label-studio", data=b"{}", headers={"X-Secret": "abc"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 202
        assert json.loads(response.read()) == {
            "path": "/label-studio",
            "secret": "abc",
            "region": "us-east-1",
        }

    value = local_aws.client("secretsmanager").get_secret_value(
        SecretId=deployment.outputs["Secret"]
    )["SecretString"]
    assert len(value) == 40
    assert value.isalnum()


def test_function_urls_without_a_server_are_placeholders() -> None:
    resolver = TemplateResolver(URL_TEMPLATE, stack_name="hooks")
    assert resolver.get_att("HookUrl", "FunctionUrl").endswith(".lambda-url.us-east-1.on.aws/")


_ALLOW_GET = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
}
POLICIES: dict[str, Any] = {
    "Resources": {
        "Secret": {"Type": "AWS::SecretsManager::Secret", "Properties": {"SecretString": "x"}},
        "Role": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {},
                "Policies": [{"PolicyName": "inline", "PolicyDocument": _ALLOW_GET}],
                "ManagedPolicyArns": [
                    {"Ref": "Managed"},
                    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
                ],
            },
        },
        "Managed": {
            "Type": "AWS::IAM::ManagedPolicy",
            "Properties": {"PolicyDocument": _ALLOW_GET},
        },
        "Policy": {
            "Type": "AWS::IAM::Policy",
            "Properties": {
                "PolicyName": "RoleDefaultPolicy",
                "Roles": [{"Ref": "Role"}],
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Action": "secretsmanager:GetSecretValue",
                            "Resource": {"Ref": "Secret"},
                        }
                    ],
                },
            },
        },
    }
}


def test_roles_get_their_policies(local_aws: LocalAws, tmp_path: Path) -> None:
    deployment = deploy_template(
        POLICIES, stack_name="demo", asset_root=tmp_path, client=local_aws.client
    )
    iam = local_aws.client("iam")

    inline = iam.list_role_policies(RoleName="demo-Role")["PolicyNames"]
    policy = iam.get_role_policy(RoleName="demo-Role", PolicyName="RoleDefaultPolicy")
    attached = iam.list_attached_role_policies(RoleName="demo-Role")["AttachedPolicies"]

    assert sorted(inline) == ["RoleDefaultPolicy", "inline"]
    # a policy names a secret by its ARN, known once the secret exists
    resource = policy["PolicyDocument"]["Statement"][0]["Resource"]
    assert resource.startswith("arn:aws:secretsmanager:us-east-1:123456789012:secret:demo-Secret")
    assert [item["PolicyArn"] for item in attached] == [
        "arn:aws:iam::123456789012:policy/demo-Managed"
    ]
    assert deployment.skipped[
        "Role/arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
    ].startswith("AWS managed policy unknown to the emulator")
