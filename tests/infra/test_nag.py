"""cdk-nag AwsSolutions (v3) in process: no unacknowledged finding, and no idle acknowledgement."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import Acknowledgment, App, Stack, Validations
from aws_cdk import aws_s3 as s3
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct

from infra import assembly
from infra.config import StageConfig
from tests.infra.conftest import new_app


def _findings(scope: IConstruct) -> list[tuple[str, str]]:
    """(rule, construct path) of every violation AwsSolutions reports under `scope`."""
    report = AwsSolutionsChecks().validate_scope(scope)
    return sorted(
        (violation.rule_name, resource.construct_path or "")
        for violation in report.violations
        for resource in violation.violating_resources
    )


def test_labeling_stack_has_no_unacknowledged_findings(
    app_and_stack: tuple[App, Stack],
) -> None:
    app, _ = app_and_stack
    assert _findings(app) == []


def test_nag_reports_findings_of_a_noncompliant_bucket() -> None:
    stack = Stack(App(), "Bad")
    s3.Bucket(stack, "Bucket")
    rules = {rule for rule, _ in _findings(stack)}
    assert {"AwsSolutions-S1", "AwsSolutions-S10"} <= rules


def test_an_acknowledgement_silences_only_its_own_finding() -> None:
    stack = Stack(App(), "Bad")
    bucket = s3.Bucket(stack, "Bucket")
    Validations.of(bucket).acknowledge(
        Acknowledgment(id="AwsSolutions-S1", reason="test: logging is out of scope here")
    )
    rules = {rule for rule, _ in _findings(stack)}
    assert "AwsSolutions-S1" not in rules
    assert "AwsSolutions-S10" in rules


class _Recorder:
    def __init__(self, scope: IConstruct, into: list[tuple[str, str]]) -> None:
        self._scope = scope
        self._into = into

    def acknowledge(self, *rules: Acknowledgment) -> None:
        for rule in rules:
            assert len(rule.reason) >= 40, f"reason too thin for {rule.id}: {rule.reason!r}"
            self._into.append((rule.id, self._scope.node.path))


def test_every_acknowledgement_matches_a_finding_under_its_scope(
    monkeypatch: pytest.MonkeyPatch, stage_config: StageConfig
) -> None:
    # Given the app built with acknowledgements recorded instead of applied
    acknowledged: list[tuple[str, str]] = []

    def recording_of(scope: IConstruct) -> Any:
        return _Recorder(scope, acknowledged)

    monkeypatch.setattr(Validations, "of", staticmethod(recording_of))
    app = new_app()
    assembly.build_stacks(app, stage_config)
    monkeypatch.undo()

    # When cdk-nag sees every finding
    findings = _findings(app)

    # Then each finding has an acknowledgement on it or an ancestor, and each acknowledgement
    # covers at least one finding
    def covers(ack: tuple[str, str], finding: tuple[str, str]) -> bool:
        return ack[0] == finding[0] and (finding[1] + "/").startswith(ack[1] + "/")

    unacknowledged = [f for f in findings if not any(covers(a, f) for a in acknowledged)]
    idle = [a for a in acknowledged if not any(covers(a, f) for f in findings)]
    assert unacknowledged == []
    assert idle == []
