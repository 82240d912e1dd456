"""What a worker UI is generated from: one project's task spec, and its keyboard shortcuts.

The generators accept any object shaped like :class:`TaskSpec`; LabelFlow's
``infra.config.ProjectConfig`` is one, so the deployment and the command line pass their
projects as they are. Keeping this a protocol keeps ``worker_ui`` free of CDK imports.

Every piece of project text (labels, instructions, examples) is untrusted here: the
generators escape it for the markup it lands in.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from typing import Literal, Protocol

from gt_contracts import SOURCE_KINDS, TASK_TYPES, SourceKind, TaskType

__all__ = [
    "HOTKEYS",
    "ExampleSpec",
    "TaskSpec",
    "answer_name",
    "hotkeys",
    "source_kinds",
    "task_type_of",
]

#: The ``name`` of the answer element when the project does not set ``answer_name``.
DEFAULT_ANSWER_NAME = "answer"

#: The keyboard shortcut of the n-th label: 1-9, then a-z. Labels past the 35th get none.
HOTKEYS: tuple[str, ...] = tuple("123456789") + tuple(string.ascii_lowercase)


class ExampleSpec(Protocol):
    """A good or bad example (``infra.config.Example``)."""

    @property
    def kind(self) -> Literal["good", "bad"]: ...
    @property
    def label(self) -> str: ...
    @property
    def why(self) -> str: ...
    @property
    def image_url(self) -> str | None: ...
    @property
    def text(self) -> str | None: ...


class TaskSpec(Protocol):
    """One project's task: what is labeled, with which labels, and how it is explained."""

    @property
    def name(self) -> str: ...
    @property
    def task_type(self) -> str: ...
    @property
    def labels(self) -> Sequence[str]: ...
    @property
    def short_instruction(self) -> str: ...
    @property
    def full_instruction(self) -> str: ...
    @property
    def examples(self) -> Sequence[ExampleSpec]: ...
    @property
    def answer_name(self) -> str | None: ...


def hotkeys(labels: Sequence[str]) -> dict[str, str]:
    """Each label's shortcut, by label order (1-9, then a-z); later labels get none.

    Example:
        >>> hotkeys(["cat", "dog"])
        {'cat': '1', 'dog': '2'}
    """
    return dict(zip(labels, HOTKEYS, strict=False))


def answer_name(spec: TaskSpec) -> str:
    """The ``name`` the answer element gets: the project's ``answer_name``, else "answer"."""
    return spec.answer_name or DEFAULT_ANSWER_NAME


def task_type_of(spec: TaskSpec) -> TaskType:
    """The spec's task type, checked against the catalog.

    Raises:
        ValueError: a task type LabelFlow has no worker UI for.
    """
    for task_type in TASK_TYPES:
        if spec.task_type == task_type:
            return task_type
    raise ValueError(
        f"project {spec.name!r}: no worker UI for task type {spec.task_type!r} "
        f"(known: {', '.join(TASK_TYPES)})"
    )


def source_kinds(task_type: TaskType) -> frozenset[SourceKind]:
    """The manifest line kinds a task type labels (``"s3"`` images, ``"text"`` texts)."""
    return SOURCE_KINDS[task_type]
