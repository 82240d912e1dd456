"""Typed views of the Label Studio API's JSON: only the fields a labeling backend reads.

Each model is a frozen, slotted dataclass built by ``from_json``, which raises ``KeyError`` or
``TypeError`` when a field the backend relies on is missing or has the wrong type (the client
turns that into a :class:`~label_studio_api.errors.LabelStudioError`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Annotation", "JsonObject", "Project", "Task", "User", "Webhook"]

JsonObject = dict[str, Any]


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an integer, got {value!r}")
    return value


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class User:
    """A Label Studio account, and the organization it acts in (``None`` when not given)."""

    id: int
    email: str
    organization: int | None = None

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> User:
        organization = body.get("active_organization")
        return cls(
            id=_int(body["id"]),
            email=_str(body["email"]),
            organization=None if organization is None else _int(organization),
        )


@dataclass(frozen=True, slots=True)
class Project:
    """A labeling project: its config and the overlap settings that decide who sees what."""

    id: int
    title: str
    label_config: str
    maximum_annotations: int
    overlap_cohort_percentage: int
    description: str = ""

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Project:
        return cls(
            id=_int(body["id"]),
            title=_str(body["title"]),
            label_config=_str(body["label_config"]),
            maximum_annotations=_int(body["maximum_annotations"]),
            overlap_cohort_percentage=_int(body["overlap_cohort_percentage"]),
            description=_str(body.get("description") or ""),
        )


@dataclass(frozen=True, slots=True)
class Task:
    """A task and how many answers it has (cancelled, i.e. skipped, answers counted apart)."""

    id: int
    project: int
    data: JsonObject
    total_annotations: int
    cancelled_annotations: int
    is_labeled: bool

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Task:
        data = body["data"]
        if not isinstance(data, dict):
            raise TypeError(f"expected task data to be an object, got {data!r}")
        return cls(
            id=_int(body["id"]),
            project=_int(body["project"]),
            data=data,
            total_annotations=_int(body["total_annotations"]),
            cancelled_annotations=_int(body["cancelled_annotations"]),
            is_labeled=bool(body["is_labeled"]),
        )


@dataclass(frozen=True, slots=True)
class Annotation:
    """One worker's answer to one task; ``completed_by`` is the worker's user id."""

    id: int
    task: int
    completed_by: int
    result: list[JsonObject]
    was_cancelled: bool

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Annotation:
        result = body["result"]
        if not isinstance(result, list):
            raise TypeError(f"expected an annotation result list, got {result!r}")
        return cls(
            id=_int(body["id"]),
            task=_int(body["task"]),
            completed_by=_int(body["completed_by"]),
            result=result,
            was_cancelled=bool(body.get("was_cancelled", False)),
        )


@dataclass(frozen=True, slots=True)
class Webhook:
    """A project webhook: Label Studio POSTs to ``url`` on each of ``actions``."""

    id: int
    project: int | None
    url: str
    actions: tuple[str, ...] = field(default=())

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Webhook:
        project = body.get("project")
        return cls(
            id=_int(body["id"]),
            project=None if project is None else _int(project),
            url=_str(body["url"]),
            actions=tuple(_str(action) for action in body.get("actions") or ()),
        )
