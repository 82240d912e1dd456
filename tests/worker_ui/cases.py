"""One sample project per task type, with a manifest line and what its worker element submits."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from typing import Any

from PIL import Image

from gt_contracts import TaskType, build_review_input, parse_projects, prepare
from infra.config import ProjectConfig, projects_setting

IMAGE_LINE = {"source-ref": "s3://labelflow-intake/items/0001.jpg", "camera": "front"}
TEXT_LINE = {"source": "Alice met Bob in Paris.\nThey talked.", "ticket": "t-1"}
SIZE = {"width": 640, "height": 480}
#: Markup, quotes and Liquid delimiters that must come out of every UI as plain text.
HOSTILE_TEXT = "<script>alert('x')</script> \"quoted\" {{ task.input.metadata }} {% raw %}"


def _png(color: tuple[int, int, int]) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), color).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


@dataclass(frozen=True)
class Case:
    """A task type's sample project, line, element and worker answer."""

    task_type: TaskType
    labels: tuple[str, ...]
    line: dict[str, Any]
    element: str
    answer: Any  # the value the element submits under its name
    prediction: Any  # a model prediction for a review of this task type

    def project(self, **overrides: Any) -> ProjectConfig:
        fields: dict[str, Any] = {
            "name": "demo",
            "task_type": self.task_type,
            "labels": self.labels,
            "short_instruction": "Label the item.",
            "full_instruction": "Look closely.\nThen answer.",
            "workers_per_item": 2,
        }
        return ProjectConfig(**{**fields, **overrides})


_BOX = {"label": "car", "left": 10, "top": 20, "width": 30, "height": 40}
_POINT = {"label": "nose", "x": 10, "y": 12}
_ENTITY = {"label": "person", "startOffset": 0, "endOffset": 5}

CASES: dict[str, Case] = {
    c.task_type: c
    for c in (
        Case(
            "image-classification",
            ("cat", "dog"),
            IMAGE_LINE,
            "crowd-image-classifier",
            {"label": "cat"},
            {"label": "dog"},
        ),
        Case(
            "image-classification-multilabel",
            ("cat", "dog", "bird"),
            IMAGE_LINE,
            "crowd-image-classifier-multi-select",
            {"labels": ["cat", "bird"]},
            {"labels": ["dog"]},
        ),
        Case(
            "text-classification",
            ("positive", "negative"),
            TEXT_LINE,
            "crowd-classifier",
            {"label": "negative"},
            {"label": "positive"},
        ),
        Case(
            "text-classification-multilabel",
            ("billing", "bug", "praise"),
            TEXT_LINE,
            "crowd-classifier-multi-select",
            {"labels": ["bug"]},
            {"labels": ["billing", "bug"]},
        ),
        Case(
            "bounding-box",
            ("car", "person"),
            IMAGE_LINE,
            "crowd-bounding-box",
            {"boundingBoxes": [_BOX], "inputImageProperties": SIZE},
            {"boundingBoxes": [_BOX], "inputImageProperties": SIZE},
        ),
        Case(
            "semantic-segmentation",
            ("sky", "road"),
            IMAGE_LINE,
            "crowd-semantic-segmentation",
            {
                "labeledImage": {"pngImageData": _png((0x1F, 0x77, 0xB4))},
                "labelMappings": {"sky": {"color": "#1f77b4"}},
                "inputImageProperties": {"width": 4, "height": 4},
            },
            {
                "labelMappings": {"sky": {"color": "#1f77b4"}},
                "src": "s3://labelflow-models/masks/0001.png",
            },
        ),
        Case(
            "named-entity",
            ("person", "place"),
            TEXT_LINE,
            "crowd-entity-annotation",
            {"entities": [_ENTITY]},
            {"entities": [_ENTITY]},
        ),
        Case("free-text", (), IMAGE_LINE, "crowd-text-area", "a red car", "a car"),
        Case("numeric", (), TEXT_LINE, "crowd-input", "4", 3),
        Case(
            "keypoint",
            ("nose", "eye"),
            IMAGE_LINE,
            "crowd-keypoint",
            {"keypoints": [_POINT], "inputImageProperties": SIZE},
            {"keypoints": [_POINT], "inputImageProperties": SIZE},
        ),
    )
}


def task_input(project: ProjectConfig, line: dict[str, Any]) -> dict[str, Any]:
    """What the real pre-annotation logic sends the template for ``line`` of ``project``.

    The project goes through the same path as in a deployment: ``LABELFLOW_PROJECTS`` JSON
    written by the infra config, parsed by the Lambda's contracts.
    """
    projects = parse_projects(projects_setting((project,)))
    event = {
        "version": "2018-10-16",
        "labelingJobArn": (
            f"arn:aws:sagemaker:us-east-1:111122223333:labeling-job/{project.name}-0001"
        ),
        "dataObject": line,
    }
    prepared = prepare(event, projects)
    assert prepared.skipped is None, prepared.skipped
    return dict(prepared.response.task_input)


def review_input(case: Case, project: ProjectConfig) -> dict[str, Any]:
    """A review's ``taskInput``: the line's plus the model's prediction and confidence."""
    return build_review_input(
        task_input(project, case.line), prediction=case.prediction, confidence=0.58
    )
