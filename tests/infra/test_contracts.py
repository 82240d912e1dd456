"""Contracts between infra/ and lambdas/: handlers exist, settings agree, projects parse.

infra/ never imports lambdas/; these tests are where the two sides are checked against each
other and against docs/contracts.md.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import re
from typing import Any, get_args

import pytest

from gt_contracts import parse_projects
from gt_contracts.project_schema import BACKENDS, METHODS, TASK_TYPES, WORKFORCE_KINDS
from infra.config import ProjectConfig, Workforce, projects_setting
from tests.infra.conftest import REPO_ROOT
from tests.infra.template_helpers import HANDLER_SUFFIX, labelflow_functions

LAMBDAS = REPO_ROOT / "lambdas"
CONTRACTS = REPO_ROOT / "docs" / "contracts.md"

#: Set on every function by RuntimeFunction, read by Powertools rather than by settings.py.
PLATFORM_VARIABLES = {"POWERTOOLS_SERVICE_NAME"}

#: What docs/contracts.md ("Lambda settings") says each function reads.
DOCUMENTED_VARIABLES = {
    "pre_annotation": {"LABELFLOW_PROJECTS"},
    "post_annotation": {"LABELFLOW_PROJECTS", "ARTIFACTS_BUCKET", "SKILLS_TABLE"},
    "validate_manifest": {"RESULTS_BUCKET", "MAX_OBJECTS_PER_JOB", "DATA_SOURCES"},
    "start_labeling_job": {
        "LABELFLOW_PROJECTS",
        "RESULTS_BUCKET",
        "ARTIFACTS_BUCKET",
        "LABELING_JOB_ROLE_ARN",
        "KMS_KEY_ARN",
        "PRE_ANNOTATION_ARN",
        "CONSOLIDATION_ARN",
        "TOKENS_TABLE",
    },
    "job_events": {"TOKENS_TABLE"},
    "reconcile_jobs": {"TOKENS_TABLE"},
    "start_job": {
        "LABELFLOW_PROJECTS",
        "RESULTS_BUCKET",
        "JOBS_TABLE",
        "TOPIC_ARN",
        "STATE_MACHINE_ARN",
    },
    "publish_job": {
        "RESULTS_BUCKET",
        "ARTIFACTS_BUCKET",
        "AUDIT_BUCKET",
        "JOBS_TABLE",
        "TOPIC_ARN",
    },
    "record_failure": {"JOBS_TABLE", "TOPIC_ARN", "RESULTS_BUCKET"},
}
#: Settings the stack does not set: Lambda sets AWS_REGION in every function; the consolidation
#: function gets TOPIC_ARN only when a project has a worker_alert (test_worker_alert_wiring).
OPTIONAL_VARIABLES = {"start_labeling_job": {"AWS_REGION"}, "post_annotation": {"TOPIC_ARN"}}


@pytest.fixture(scope="module")
def functions(template_json: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return labelflow_functions(template_json)


def _package(handler: str) -> str:
    assert handler.endswith(HANDLER_SUFFIX), handler
    return handler.removesuffix(HANDLER_SUFFIX)


def _variables(function: dict[str, Any]) -> set[str]:
    return set(function["Environment"]["Variables"]) - PLATFORM_VARIABLES


def test_every_handler_is_a_lambda_handler_in_a_lambdas_package(
    functions: dict[str, Any],
) -> None:
    assert functions
    for handler in functions:
        package = _package(handler)
        assert re.fullmatch(r"[a-z][a-z0-9_]*", package), handler
        module = LAMBDAS / package / "handler.py"
        assert module.is_file(), f"{handler}: {module.relative_to(REPO_ROOT)} is missing"
        tree = ast.parse(module.read_text())
        defined = {
            node.name
            for node in tree.body
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        }
        assigned = {
            target.id
            for node in tree.body
            if isinstance(node, ast.Assign)
            for target in node.targets
            if isinstance(target, ast.Name)
        }
        assert "lambda_handler" in defined | assigned, f"{module} defines no lambda_handler"


def test_documented_variables_are_those_in_contracts_md() -> None:
    text = CONTRACTS.read_text()
    section = text.split("## Lambda settings", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", section))
    assert named == set().union(*DOCUMENTED_VARIABLES.values())


def test_function_variables_equal_the_documented_set(functions: dict[str, Any]) -> None:
    variables = {_package(handler): _variables(f) for handler, f in functions.items()}
    assert variables == DOCUMENTED_VARIABLES


@pytest.mark.parametrize("package", sorted(DOCUMENTED_VARIABLES))
def test_function_variables_equal_the_settings_fields(
    functions: dict[str, Any], package: str
) -> None:
    settings = importlib.import_module(f"{package}.settings")
    fields = {field.metadata["env"] for field in dataclasses.fields(settings.Settings)}
    (function,) = [f for h, f in functions.items() if _package(h) == package]
    assert _variables(function) == fields - OPTIONAL_VARIABLES.get(package, set())


@pytest.mark.parametrize("package", sorted(DOCUMENTED_VARIABLES))
def test_synthesized_settings_parse_in_the_function(
    functions: dict[str, Any], package: str
) -> None:
    settings = importlib.import_module(f"{package}.settings")
    (function,) = [f for h, f in functions.items() if _package(h) == package]
    environment = {
        key: value if isinstance(value, str) else _placeholder(key)
        for key, value in function["Environment"]["Variables"].items()
    }
    environment["AWS_REGION"] = "us-east-1"
    parsed = settings.Settings.from_env(environment)
    if "LABELFLOW_PROJECTS" in environment:
        assert set(parsed.labelflow_projects) == {"cats", "cells"}


def _placeholder(variable: str) -> str:
    """A value of the variable's kind for a deploy-time token."""
    if variable.endswith("_ARN"):
        return "arn:aws:lambda:us-east-1:123456789012:function:labelflow-test"
    return "labelflow-test-value"


def test_answer_name_written_by_infra_is_read_by_the_functions() -> None:
    common = {
        "short_instruction": "Type the text.",
        "full_instruction": "<p>Type the text.</p>",
        "workers_per_item": 3,
        "task_type": "free-text",
        "labels": (),
    }
    projects = (
        ProjectConfig(name="notes", answer_name="transcription", **common),
        ProjectConfig(name="memos", **common),
    )

    parsed = parse_projects(projects_setting(projects))

    assert parsed["notes"].answer_name == "transcription"
    assert parsed["memos"].answer_name is None


def test_the_stage_configuration_speaks_the_functions_project_vocabulary() -> None:
    fields = ProjectConfig.model_fields
    assert get_args(fields["task_type"].annotation) == TASK_TYPES
    assert get_args(fields["method"].annotation) == METHODS
    assert get_args(fields["backend"].annotation) == BACKENDS
    assert get_args(Workforce.model_fields["type"].annotation) == WORKFORCE_KINDS


@pytest.mark.parametrize("task_type", TASK_TYPES)
def test_a_project_the_configuration_accepts_parses_in_the_functions(task_type: str) -> None:
    labels = ("a", "b")
    project = ProjectConfig(
        name="items",
        task_type=task_type,
        labels=labels,
        short_instruction="Label the item.",
        full_instruction="<p>Label the item.</p>",
        workers_per_item=3,
    )

    (parsed,) = parse_projects(projects_setting((project,))).values()

    assert (parsed.task_type, parsed.labels, parsed.workers_per_item) == (task_type, labels, 3)
    assert parsed.task_availability_seconds == project.task_availability
