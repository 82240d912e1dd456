"""Label Studio labeling configs (XML), one per task type, from the same task spec.

The config shows the same short and full instructions, keyboard shortcuts and examples as the
Ground Truth template, and binds each label's shortcut (``hotkey``). It is built with
``xml.etree``, so every project text lands in an escaped attribute value.

Task data keys (what LabelFlow imports per task): ``image`` (a URL the browser can load) for
``source-ref`` lines and ``text`` for ``source`` lines; see :data:`DATA_KEYS`. Free text and
numeric projects label either kind, and a Label Studio project shows one, so their config is
generated for one ``source_kind``.

The control tag is named after the project's ``answer_name`` (``"answer"`` when unset).
Review projects use the same config: the model's prediction is imported as the task's
Label Studio prediction (with its ``score``), which Label Studio shows pre-filled.
"""

from __future__ import annotations

from collections.abc import Mapping
from xml.etree import ElementTree as ET

from gt_contracts import SourceKind, TaskType
from worker_ui.spec import TaskSpec, answer_name, hotkeys, source_kinds, task_type_of

__all__ = ["DATA_KEYS", "SEGMENTATION_COLORS", "label_studio_config"]

#: The task data key a Label Studio task carries its item under, per manifest line kind.
DATA_KEYS: Mapping[SourceKind, str] = {"s3": "image", "text": "text"}

#: Label colours for segmentation masks, in label order (D3 category10, as crowd elements use).
SEGMENTATION_COLORS: tuple[str, ...] = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)

# Control tag per task type, and whether its labels are <Choice> (else <Label>).
_CONTROLS: Mapping[TaskType, tuple[str, bool]] = {
    "image-classification": ("Choices", True),
    "text-classification": ("Choices", True),
    "image-classification-multilabel": ("Choices", True),
    "text-classification-multilabel": ("Choices", True),
    "bounding-box": ("RectangleLabels", False),
    "semantic-segmentation": ("BrushLabels", False),
    "named-entity": ("Labels", False),
    "keypoint": ("KeyPointLabels", False),
    "free-text": ("TextArea", False),
    "numeric": ("Number", False),
}
_MULTIPLE = frozenset({"image-classification-multilabel", "text-classification-multilabel"})


def label_studio_config(spec: TaskSpec, *, source_kind: SourceKind | None = None) -> str:
    """The Label Studio labeling config (XML text) for a project.

    Args:
        spec: the project (``infra.config.ProjectConfig`` or any :class:`TaskSpec`).
        source_kind: ``"s3"`` (images) or ``"text"``; needed only for task types that label
            both (free text, numeric).

    Raises:
        ValueError: an unknown task type, or a missing or wrong ``source_kind``.
    """
    task_type = task_type_of(spec)
    kind = _kind(spec, task_type, source_kind)
    data_key = DATA_KEYS[kind]
    view = ET.Element("View")
    _instructions(view, spec)
    item = ET.Element("Image" if kind == "s3" else "Text", name=data_key, value=f"${data_key}")
    control = _control(spec, task_type, to_name=data_key)
    # Label Studio lays out in document order. Region labels (spans, boxes, masks, points)
    # are picked before drawing, so they go above the item; answers go below it.
    labels_first = _CONTROLS[task_type][0].endswith("Labels")
    view.extend([control, item] if labels_first else [item, control])
    ET.indent(view)
    return ET.tostring(view, encoding="unicode") + "\n"


def _kind(spec: TaskSpec, task_type: TaskType, source_kind: SourceKind | None) -> SourceKind:
    kinds = source_kinds(task_type)
    if source_kind is None:
        if len(kinds) > 1:
            raise ValueError(
                f"project {spec.name!r} ({task_type}) labels images and texts; "
                "pass source_kind='s3' or source_kind='text'"
            )
        return next(iter(kinds))
    if source_kind not in kinds:
        raise ValueError(
            f"project {spec.name!r} ({task_type}) does not label {source_kind!r} items"
        )
    return source_kind


def _control(spec: TaskSpec, task_type: TaskType, *, to_name: str) -> ET.Element:
    tag, choices = _CONTROLS[task_type]
    control = ET.Element(tag, name=answer_name(spec), toName=to_name)
    if tag == "Choices":
        control.set("choice", "multiple" if task_type in _MULTIPLE else "single")
        control.set("showInline", "true")
    if tag in ("Choices", "TextArea", "Number"):
        control.set("required", "true")
    if tag == "TextArea":
        control.set("rows", "4")
        control.set("maxSubmissions", "1")
        control.set("editable", "true")
    keys = hotkeys(spec.labels)
    for index, label in enumerate(spec.labels):
        option = ET.SubElement(control, "Choice" if choices else "Label", value=label)
        if label in keys:
            option.set("hotkey", keys[label])
        if task_type == "semantic-segmentation":
            option.set("background", SEGMENTATION_COLORS[index % len(SEGMENTATION_COLORS)])
    return control


def _instructions(view: ET.Element, spec: TaskSpec) -> None:
    box = ET.SubElement(view, "View", className="labelflow-instructions")
    if spec.short_instruction:
        _header(box, spec.short_instruction, size="4")
    for paragraph in spec.full_instruction.splitlines():
        if paragraph.strip():
            _header(box, paragraph, size="6")
    keys = hotkeys(spec.labels)
    if keys:
        shortcuts = ", ".join(f"{key} = {label}" for label, key in keys.items())
        _header(box, f"Keyboard shortcuts: {shortcuts}", size="6")
    for example in spec.examples:
        verdict = "Good" if example.kind == "good" else "Bad"
        item = example.image_url if example.image_url is not None else example.text
        _header(box, f"{verdict} example: {example.label}: {item} ({example.why})", size="6")


def _header(parent: ET.Element, text: str, *, size: str) -> None:
    # A Header value starting with "$" would be read as a task data key; a leading
    # zero-width space keeps project text literal.
    value = f"\u200b{text}" if text.startswith("$") else text
    ET.SubElement(parent, "Header", value=value, size=size)
