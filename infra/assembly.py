"""build_stacks: the one wiring of LabelFlow stacks, shared by app.py and the tests."""

from __future__ import annotations

from aws_cdk import App, Environment

from infra.config import StageConfig
from infra.stacks.labeling_stack import LabelingStack

__all__ = ["build_stacks", "stack_id"]


def stack_id(config: StageConfig, name: str) -> str:
    """The id of one of the stage's stacks, e.g. "labelflow-dev-Labeling"."""
    return f"{config.project}-{config.stage}-{name}"


def build_stacks(app: App, config: StageConfig) -> LabelingStack:
    """Add the stage's stacks to `app` and return the labeling stack."""
    env = None
    if config.account is not None or config.region is not None:
        env = Environment(account=config.account, region=config.region)
    return LabelingStack(
        app,
        stack_id(config, "Labeling"),
        config=config,
        env=env,
        description=f"LabelFlow {config.stage}: storage, Ground Truth functions and roles",
    )
