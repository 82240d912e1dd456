"""Fixtures of the infra tests: the LabelFlow app built once per session, in process.

The app is built by the same `assembly.build_stacks` as app.py, with the feature flags of
cdk.json, a test StageConfig, asset bundling skipped (`aws:cdk:bundling-stacks: []`, so the
numeric layer is not pip-installed) and CDK's built-in CloudFormation validation off (it
dominates synth time; cfn-lint covers it in `make test`). The App property is used rather
than `CDK_VALIDATION=false` because the jsii runtime reads the environment only once, when
aws_cdk is first imported, which may happen before any fixture runs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App
from aws_cdk.assertions import Template

from infra import assembly
from infra.config import ProjectConfig, StageConfig
from infra.stacks.labeling_stack import LabelingStack

REPO_ROOT = Path(__file__).resolve().parents[2]


def cdk_context() -> dict[str, Any]:
    """cdk.json's context, with bundling switched off for unit-test synths."""
    context: dict[str, Any] = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
    return {**context, "aws:cdk:bundling-stacks": []}


def new_app() -> App:
    return App(context=cdk_context(), builtin_cloud_formation_validation=False)


WORKTEAM_ARN = "arn:aws:sagemaker:us-east-1:123456789012:workteam/private-crowd/labelers"

TEST_PROJECTS = (
    ProjectConfig(
        name="cats",
        task_type="image-classification",
        labels=("cat", "not-cat"),
        method="dawid-skene",
        method_params={"max_iterations": 50},
        short_instruction="Is this a cat?",
        full_instruction="<p>Answer cat only for domestic cats.</p>",
        workers_per_item=5,
    ),
    ProjectConfig(
        name="cells",
        task_type="semantic-segmentation",
        labels=("nucleus", "membrane"),
        short_instruction="Paint every nucleus and membrane.",
        full_instruction="<p>Use the fill tool for large regions.</p>",
        workers_per_item=3,
    ),
)


@pytest.fixture(scope="session")
def stage_config() -> StageConfig:
    return StageConfig(
        stage="test",
        architecture="x86_64",
        powertools_layer_version=40,
        workteam_arn=WORKTEAM_ARN,
        projects=TEST_PROJECTS,
    )


@pytest.fixture(scope="session")
def app_and_stack(stage_config: StageConfig) -> tuple[App, LabelingStack]:
    app = new_app()
    return app, assembly.build_stacks(app, stage_config)


@pytest.fixture(scope="session")
def labeling_stack(app_and_stack: tuple[App, LabelingStack]) -> LabelingStack:
    return app_and_stack[1]


@pytest.fixture(scope="session")
def template(labeling_stack: LabelingStack) -> Template:
    return Template.from_stack(labeling_stack)


@pytest.fixture(scope="session")
def template_json(template: Template) -> dict[str, Any]:
    return dict(template.to_json())
