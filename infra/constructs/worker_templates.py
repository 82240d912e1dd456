"""WorkerTemplates: every project's worker UIs, rendered at synthesis and uploaded on deploy.

For each project the artifacts bucket gets, under `templates/`:

- `<project>.liquid.html`: the Ground Truth worker template (`worker_ui.ground_truth_template`),
  which labeling jobs name as `UiConfig.UiTemplateS3Uri`;
- `<project>.review.liquid.html`: the A2I human-review template (`worker_ui.review_template`);
- `<project>.labelstudio.xml` (`<project>.<image|text>.labelstudio.xml` for free text and
  numbers, which can label either): the Label Studio labeling config.

A `BucketDeployment` copies them, so a changed project replaces its files on the next deploy
and a removed project's files are pruned. Rendering errors (too many labels for an element, a
template over Ground Truth's 128,000 characters) fail synthesis with the project's name.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from aws_cdk import Acknowledgment, CfnResource, Stack, Validations
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3_deployment
from constructs import Construct

from infra.config import ConfigError, ProjectConfig
from worker_ui import ground_truth_template, label_studio_config, review_template

__all__ = ["TEMPLATES_PREFIX", "WorkerTemplates", "template_files"]

TEMPLATES_PREFIX = "templates/"
_EITHER_SOURCE = frozenset({"free-text", "numeric"})


def template_files(project: ProjectConfig) -> dict[str, str]:
    """The files of one project's worker UIs, by name under `templates/`.

    Raises:
        ConfigError: a UI cannot be generated for the project; the message names it.
    """
    name = project.name
    try:
        files = {
            f"{name}.liquid.html": ground_truth_template(project),
            f"{name}.review.liquid.html": review_template(project),
        }
        if project.task_type in _EITHER_SOURCE:
            files[f"{name}.image.labelstudio.xml"] = label_studio_config(project, source_kind="s3")
            files[f"{name}.text.labelstudio.xml"] = label_studio_config(project, source_kind="text")
        else:
            files[f"{name}.labelstudio.xml"] = label_studio_config(project)
    except ValueError as exc:
        raise ConfigError(f"project {name!r}: its worker UI cannot be generated: {exc}") from None
    return files


class WorkerTemplates(Construct):
    """Uploads the projects' worker UIs to `bucket` under `templates/`.

    Attributes:
        deployment: The bucket deployment; depend on it to use the templates.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        bucket: s3.IBucket,
        projects: Sequence[ProjectConfig],
    ) -> None:
        super().__init__(scope, id_)
        sources = [
            s3_deployment.Source.data(file_name, body)
            for project in projects
            for file_name, body in template_files(project).items()
        ]
        self.deployment = s3_deployment.BucketDeployment(
            self,
            "Upload",
            sources=sources,
            destination_bucket=bucket,
            destination_key_prefix=TEMPLATES_PREFIX,
            prune=True,
            retain_on_delete=False,
        )
        bucket_id = Stack.of(self).resolve(cast(CfnResource, bucket.node.default_child).logical_id)
        _acknowledge_deployment_handler(Stack.of(self), bucket_id)


def _acknowledge_deployment_handler(stack: Stack, destination: str) -> None:
    """Findings on the singleton function CDK adds to the stack for bucket deployments."""
    handler = next(
        (
            child
            for child in stack.node.children
            if child.node.id.startswith("Custom::CDKBucketDeployment")
        ),
        None,
    )
    if handler is None:  # pragma: no cover - CDK always adds it with a BucketDeployment
        return
    reasons = {
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
        "AWSLambdaBasicExecutionRole]": (
            "CDK's bucket-deployment function writes its own logs with the AWS managed basic "
            "execution policy; it holds no other managed policy"
        ),
        "AwsSolutions-L1": (
            "The bucket-deployment function's runtime is chosen by CDK for its bundled "
            "handler; it runs only during deployments"
        ),
    }
    for finding, reason in reasons.items():
        Validations.of(handler).acknowledge(Acknowledgment(id=finding, reason=reason))
    copy = (
        "CDK's bucket-deployment grant: it reads the template assets from the CDK asset bucket "
        "and writes, lists and prunes the objects of the destination bucket it is given"
    )
    policy_findings = [
        "Action::s3:GetBucket*",
        "Action::s3:GetObject*",
        "Action::s3:List*",
        "Action::s3:Abort*",
        "Action::s3:DeleteObject*",
        "Action::kms:GenerateDataKey*",
        "Action::kms:ReEncrypt*",
        "Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*",
        f"Resource::<{destination}.Arn>/*",
    ]
    for finding in policy_findings:
        Validations.of(handler).acknowledge(
            Acknowledgment(id=f"AwsSolutions-IAM5[{finding}]", reason=copy)
        )
