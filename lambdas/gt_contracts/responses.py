"""What the two Lambdas return to Ground Truth."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["ConsolidatedAnnotation", "PreAnnotationResponse"]


@dataclass(frozen=True, slots=True)
class PreAnnotationResponse:
    """``{"taskInput": {...}, "isHumanAnnotationRequired": true}``.

    ``taskInput`` becomes ``task.input`` in the worker template. The flag is a JSON boolean
    under its documented name (not the string ``"true"`` under ``humanAnnotationRequired``).
    """

    task_input: Mapping[str, Any]
    is_human_annotation_required: bool = True

    def to_json(self) -> dict[str, Any]:
        return {
            "taskInput": dict(self.task_input),
            "isHumanAnnotationRequired": bool(self.is_human_annotation_required),
        }


@dataclass(frozen=True, slots=True)
class ConsolidatedAnnotation:
    """One element of the consolidation response.

    ``{"datasetObjectId": id, "consolidatedAnnotation": {"content": {<label attribute>: value}}}``;
    Ground Truth writes ``value`` into the object's output-manifest line under the label
    attribute name.
    """

    dataset_object_id: str
    label_attribute_name: str
    value: Any

    def to_json(self) -> dict[str, Any]:
        return {
            "datasetObjectId": self.dataset_object_id,
            "consolidatedAnnotation": {"content": {self.label_attribute_name: self.value}},
        }
