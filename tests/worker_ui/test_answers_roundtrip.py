"""What each template's element submits is what consolidation reads (docs/contracts.md)."""

from __future__ import annotations

import json

import pytest

from gt_consolidation.batch import Batch, consolidate_batch
from gt_consolidation.task_types import MaskLocation
from gt_contracts import (
    BoxesAnswer,
    KeypointsAnswer,
    PayloadObject,
    PostAnnotationEvent,
    SegmentationAnswer,
    WorkerAnnotation,
    answer_from_content,
    parse_projects,
)
from infra.config import projects_setting
from tests.worker_ui.cases import CASES, Case, review_input, task_input
from tests.worker_ui.html_parse import Tags
from worker_ui import ground_truth_template, review_template
from worker_ui.liquid import render_template

PARSED_TYPES: dict[str, type | tuple[type, ...]] = {
    "image-classification": str,
    "text-classification": str,
    "image-classification-multilabel": frozenset,
    "text-classification-multilabel": frozenset,
    "bounding-box": BoxesAnswer,
    "semantic-segmentation": SegmentationAnswer,
    "named-entity": tuple,
    "free-text": str,
    "numeric": (int, float),
    "keypoint": KeypointsAnswer,
}
ALL = pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
MASKS = MaskLocation("gt-out", "out/demo-0001/annotations/consolidated-annotation/output/", "s")


def _element_name(template: str, case: Case, task_input: dict[str, object]) -> str:
    name = Tags(render_template(template, task_input)).one(case.element)["name"]
    assert name
    return name


def _consolidate(case: Case, content: dict[str, object]):
    # The project as the consolidation Lambda sees it: LABELFLOW_PROJECTS from the infra config
    project = parse_projects(projects_setting((case.project(),)))["demo"]
    request = PostAnnotationEvent(
        version=None,
        labeling_job_arn="arn:aws:sagemaker:us-east-1:111122223333:labeling-job/demo-0001",
        job_name="demo-0001",
        label_categories=None,
        label_attribute_name="demo",
        role_arn="arn:aws:iam::111122223333:role/gt",
        payload_uri="s3://gt-out/batch.json",
    )
    annotations = tuple(WorkerAnnotation(f"w{i}", json.dumps(content), None) for i in range(2))
    batch = Batch(
        request=request,
        project=project,
        objects=[PayloadObject("0", {}, annotations)],
        masks=MASKS,
    )
    return consolidate_batch(batch).items[0]


@ALL
def test_the_templates_answer_parses_as_its_task_type(case):
    spec = case.project()
    name = _element_name(ground_truth_template(spec), case, task_input(spec, case.line))

    answer = answer_from_content(case.task_type, {name: case.answer})

    assert isinstance(answer, PARSED_TYPES[case.task_type])


@ALL
def test_two_workers_agreeing_through_the_template_reach_consensus(case):
    spec = case.project()
    name = _element_name(ground_truth_template(spec), case, task_input(spec, case.line))

    item = _consolidate(case, {name: case.answer})

    assert "no-consensus" not in item.value, item.value
    details = item.value.get("consolidation", item.value)  # boxes and entities nest them
    assert details["workers"] == 2


@pytest.mark.parametrize(
    ("task_type", "key", "expected"),
    [
        ("image-classification", "class-name", "cat"),
        ("text-classification", "class-name", "negative"),
        ("free-text", "text", "a red car"),
        ("numeric", "value", 4),
    ],
)
def test_consolidated_value_is_the_workers_answer(task_type, key, expected):
    case = CASES[task_type]

    item = _consolidate(case, {"answer": case.answer})

    assert item.value[key] == expected


@ALL
def test_review_answers_use_the_same_element_name(case):
    spec = case.project()
    review_name = _element_name(review_template(spec), case, review_input(case, spec))

    assert review_name == "answer"
    parsed = answer_from_content(case.task_type, {review_name: case.answer})
    assert isinstance(parsed, PARSED_TYPES[case.task_type])
