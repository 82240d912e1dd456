"""Fixtures of the local-emulator tests: the LabelFlow stack synthesized once, the emulator.

The stack is synthesized in-process by the same ``assembly.build_stacks`` as app.py, with
asset bundling skipped (``aws:cdk:bundling-stacks: []``: the function asset is then the
plain ``lambdas/`` folder, and the numeric layer is not built) and CDK's built-in template
validation off.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from labelflow.local import fake_sagemaker, patches
from labelflow.local.server import LocalAws

REPO_ROOT = Path(__file__).resolve().parents[2]
STACK = "labelflow-test-Labeling"
WORKTEAM_ARN = "arn:aws:sagemaker:us-east-1:123456789012:workteam/private-crowd/labelers"


def _synthesize(
    outdir: Path, *, max_objects_per_job: int = 100_000, worker_alert: Any = None
) -> None:
    from aws_cdk import App

    from infra import assembly
    from infra.config import ProjectConfig, StageConfig

    context: dict[str, Any] = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
    app = App(
        context={**context, "aws:cdk:bundling-stacks": []},
        outdir=str(outdir),
        builtin_cloud_formation_validation=False,
    )
    config = StageConfig(
        stage="test",
        architecture="x86_64",
        workteam_arn=WORKTEAM_ARN,
        max_objects_per_job=max_objects_per_job,
        projects=(
            ProjectConfig(
                name="reviews",
                task_type="text-classification",
                labels=("positive", "negative", "neutral"),
                method="majority-vote",
                short_instruction="What is the tone of this review?",
                full_instruction="<p>Choose the tone the writer expresses.</p>",
                workers_per_item=3,
                worker_alert=worker_alert,
            ),
        ),
    )
    assembly.build_stacks(app, config)
    app.synth()


@pytest.fixture(scope="session")
def cdk_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cloud assembly of the test stage, synthesized once per session."""
    outdir = tmp_path_factory.mktemp("cdk.out")
    _synthesize(outdir)
    return outdir


@pytest.fixture(scope="session")
def alerts_cdk_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test stage with worker alerts on its project: 3 answers below 60% flag a worker."""
    outdir = tmp_path_factory.mktemp("cdk.out.alerts")
    _synthesize(outdir, worker_alert={"min_accuracy": 0.6, "min_answers": 3})
    return outdir


#: Items per labeling job in :func:`small_chunks_cdk_out`.
SMALL_CHUNK = 2


@pytest.fixture(scope="session")
def small_chunks_cdk_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test stage with at most :data:`SMALL_CHUNK` items per labeling job.

    A stage of its own, so that the other tests keep labeling a manifest in one job.
    """
    outdir = tmp_path_factory.mktemp("cdk.out.small-chunks")
    _synthesize(outdir, max_objects_per_job=SMALL_CHUNK)
    return outdir


@pytest.fixture
def local_aws() -> Iterator[LocalAws]:
    """A running emulator; its workforces are cleared afterwards."""
    with LocalAws() as aws:
        try:
            yield aws
        finally:
            fake_sagemaker.clear_workforces()


@pytest.fixture
def patched() -> Iterator[None]:
    """moto patched and the SageMaker fakes installed, for in-process ``mock_aws`` tests."""
    patches.acquire()
    fake_sagemaker.install()
    try:
        yield
    finally:
        fake_sagemaker.uninstall()
        fake_sagemaker.runner().stop()
        fake_sagemaker.clear_workforces()
        patches.release()


def remove_intake_trigger(events: Any) -> None:
    """Detach the intake trigger, for tests that start executions or labeling jobs by hand.

    Without it, the manifest such a test puts into the intake bucket would also start an
    execution of its own.
    """
    for rule in events.list_rules()["Rules"]:
        pattern = json.loads(rule.get("EventPattern") or "{}")
        if pattern.get("source") == ["aws.s3"]:
            targets = events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
            events.remove_targets(Rule=rule["Name"], Ids=[t["Id"] for t in targets])
