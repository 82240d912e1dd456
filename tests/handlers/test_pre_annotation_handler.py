"""The pre-annotation Lambda, invoked in-process."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

import handler_support
from gt_contracts import ContractError
from pre_annotation import handler
from pre_annotation.settings import SettingsError, get_settings

PROJECTS = {
    "pet-boxes": {
        "task_type": "bounding-box",
        "labels": ["dog", "cat"],
        "short_instruction": "Draw a tight box around every dog and cat",
    },
    "review-sentiment": {
        "task_type": "text-classification",
        "labels": ["negative", "neutral", "positive"],
    },
}


@pytest.fixture
def projects(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("LABELFLOW_PROJECTS", json.dumps(PROJECTS))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_handler_returns_the_documented_response_for_a_source_ref_line(
    projects, load_event, lambda_context
):
    response = handler.lambda_handler(
        load_event("pre-annotation-event.source-ref.json"), lambda_context
    )
    documented = load_event("pre-annotation-response.json")

    assert set(response) == set(documented)
    assert response["isHumanAnnotationRequired"] is True
    assert response["taskInput"] == {
        "taskObject": documented["taskInput"]["taskObject"],
        "sourceKind": "s3",
        "taskType": "bounding-box",
        "labels": documented["taskInput"]["labels"],
        "shortInstruction": "Draw a tight box around every dog and cat",
        "fullInstruction": "",
        "metadata": {"camera": "front-door", "capture-date": "2024-05-02"},
    }
    json.dumps(response)


def test_handler_passes_text_lines_through_as_the_task_object(projects, load_event, lambda_context):
    event = load_event("pre-annotation-event.source.json")

    task_input = handler.lambda_handler(event, lambda_context)["taskInput"]

    assert task_input["taskObject"] == event["dataObject"]["source"]
    assert task_input["sourceKind"] == "text"
    assert task_input["labels"] == ["negative", "neutral", "positive"]


@pytest.mark.parametrize(
    "case",
    [
        ({"dataObject": {"review-id": "r-1"}}, "neither 'source-ref' nor 'source'"),
        ({"dataObject": None}, "dataObject is missing"),
        (
            {"dataObject": {"source-ref": "s3://bucket/a.jpg"}},
            "labels 'source' lines; this is a 'source-ref' line",
        ),
        (
            {"labelingJobArn": "arn:aws:sagemaker:us-east-1:111122223333:labeling-job/boats-1"},
            "'boats-1' belongs to no configured project",
        ),
    ],
)
def test_handler_leaves_out_a_line_it_cannot_serve_without_failing_the_job(
    projects, load_event, lambda_context, caplog, case
):
    change, reason = case
    event = {**load_event("pre-annotation-event.source.json"), **change}

    response = handler.lambda_handler(event, lambda_context)

    assert response["isHumanAnnotationRequired"] is False
    assert reason in response["taskInput"]["skipReason"]
    assert any(reason in str(getattr(record, "reason", "")) for record in caplog.records)


@pytest.mark.parametrize("arn", [None, "review-sentiment-2024"])
def test_handler_raises_on_an_event_without_a_labeling_job_arn(
    projects, load_event, lambda_context, arn
):
    event = {**load_event("pre-annotation-event.source.json"), "labelingJobArn": arn}

    with pytest.raises(ContractError, match="labelingJobArn"):
        handler.lambda_handler(event, lambda_context)


def test_handler_raises_when_the_projects_setting_is_invalid(
    monkeypatch, load_event, lambda_context
):
    monkeypatch.setenv("LABELFLOW_PROJECTS", "{not json")
    get_settings.cache_clear()
    try:
        with pytest.raises(SettingsError, match="LABELFLOW_PROJECTS is not valid JSON"):
            handler.lambda_handler(load_event("pre-annotation-event.source.json"), lambda_context)
    finally:
        get_settings.cache_clear()


def test_handler_is_traced_around_the_request_handling(projects, load_event, lambda_context):
    handler.lambda_handler(load_event("pre-annotation-event.source.json"), lambda_context)

    traced = handler_support.traced_handler(handler._handle)
    assert traced.__wrapped__ is handler._handle  # type: ignore[attr-defined]
    assert handler_support.tracer().disabled
