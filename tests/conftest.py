"""Fixtures shared by every test: an offline AWS environment, Lambda context, sample events."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from labelflow.pinned_node import PinnedNodeMissing, use_pinned_node

EVENTS = Path(__file__).parent / "events"

# Importing aws_cdk starts jsii's `node`, the first on PATH: make it the project's pinned
# Node.js before any test module imports the CDK app.
try:
    use_pinned_node()
    _NODE_PROBLEM = ""
except PinnedNodeMissing as exc:
    _NODE_PROBLEM = str(exc)


def pytest_configure(config: pytest.Config) -> None:
    """Refuse to run on a Node.js other than the pinned one, saying how to install it."""
    if _NODE_PROBLEM:
        raise pytest.UsageError(_NODE_PROBLEM)


@pytest.fixture(autouse=True)
def aws_offline_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Powertools settings for tests and fake credentials, so nothing can reach real AWS."""
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "labelflow-test")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "LabelFlowTest")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "1")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@dataclass
class FakeLambdaContext:
    """The attributes Powertools reads from a Lambda context."""

    function_name: str = "labelflow-test-function"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = (
        "arn:aws:lambda:us-east-1:111122223333:function:labelflow-test-function"
    )
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"
    log_group_name: str = "/aws/lambda/labelflow-test-function"
    log_stream_name: str = "2024/05/03/[$LATEST]0000"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()


@pytest.fixture
def load_event() -> Callable[[str], Any]:
    """Read ``tests/events/<name>`` as JSON."""

    def load(name: str) -> Any:
        return json.loads((EVENTS / name).read_text(encoding="utf-8"))

    return load


@pytest.fixture
def load_text() -> Callable[[str], str]:
    """Read ``tests/events/<name>`` as text (manifests and other JSON Lines files)."""

    def load(name: str) -> str:
        return (EVENTS / name).read_text(encoding="utf-8")

    return load
