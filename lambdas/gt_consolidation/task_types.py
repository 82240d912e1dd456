"""The consolidation of each task type: how its answers are run through the library, and how
each outcome becomes the label value Ground Truth writes (pure).

:func:`family_of` maps a project's task type to its :class:`Family`: ``run`` feeds the batch's
answers to the consolidation library (single-label classification through the project's
method, multi-label per label, every other task type through its consolidator built with
``method_params``), and ``shape`` turns one consensus into the label value (the shapes are
listed in :mod:`gt_consolidation.batch`). Segmentation shapes also produce the mask to write.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

from gt_contracts import (
    CLASSIFICATION_TASK_TYPES,
    Answer,
    BoxesAnswer,
    ContractError,
    KeypointsAnswer,
    ProjectConfig,
    SegmentationAnswer,
    s3_uri,
)

if TYPE_CHECKING:
    from consolidation import ConsolidationRun, Outcome, WorkerSkill

__all__ = [
    "BACKGROUND_COLOR",
    "BACKGROUND_LABEL",
    "LABEL_CHECKED_TASK_TYPES",
    "Family",
    "MaskArtifact",
    "MaskLocation",
    "Rejection",
    "RunContext",
    "Shaping",
    "WorkerAnswers",
    "answer_labels",
    "family_of",
    "json_safe",
    "label_colors",
    "labels_of",
]

BACKGROUND_COLOR = "#ffffff"
BACKGROUND_LABEL = "BACKGROUND"
# D3 category10, the palette the segmentation tool appears to use; for labels no worker painted.
_PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
)  # fmt: skip
# Task types whose answers are checked against the job's labels before consolidation. Free text
# and numbers have no labels; a segmentation answer's colours are checked by the mask decoder,
# which rejects a colour it cannot map (its ``labelMappings`` may list labels nobody painted).
LABEL_CHECKED_TASK_TYPES = frozenset(CLASSIFICATION_TASK_TYPES) | {
    "image-classification-multilabel",
    "text-classification-multilabel",
    "bounding-box",
    "named-entity",
    "keypoint",
}

WorkerAnswers: TypeAlias = list[tuple[str, Answer]]
_A = TypeVar("_A")


@dataclass(frozen=True, slots=True)
class MaskLocation:
    """Where the masks of one batch go: ``s3://bucket/<prefix><datasetObjectId>_<stamp>.png``."""

    bucket: str
    prefix: str
    stamp: str

    def key(self, dataset_object_id: str) -> str:
        return f"{self.prefix}{dataset_object_id}_{self.stamp}.png"


@dataclass(frozen=True, slots=True)
class MaskArtifact:
    """A file to write before answering: a consolidated segmentation mask, or its JSON sidecar."""

    bucket: str
    key: str
    body: bytes
    content_type: str = "image/png"


@dataclass(frozen=True, slots=True)
class Rejection:
    problem: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class RunContext:
    """What a method run needs besides the answers."""

    project: ProjectConfig
    vocabulary: tuple[str, ...]
    prior: Mapping[str, WorkerSkill] | None


@dataclass(frozen=True, kw_only=True)
class Shaping:
    """What every label value of one batch shares."""

    vocabulary: tuple[str, ...]
    method: str
    extras: Mapping[str, Any]
    colors: Mapping[str, str]
    masks: MaskLocation | None


RunFn: TypeAlias = Callable[
    [dict[str, WorkerAnswers], RunContext, dict[str, Rejection]],
    tuple["ConsolidationRun", dict[str, Any]],
]
ShapeFn: TypeAlias = Callable[["Outcome", Shaping, int], tuple[dict[str, Any], MaskArtifact | None]]


@dataclass(frozen=True)
class Family:
    """How one group of task types is run and shaped.

    ``run`` returns the library's run plus run-level values shown in every label (e.g. the
    IoU threshold); it may set items aside in ``rejected`` (undecodable masks).
    """

    run: RunFn
    shape: ShapeFn
    needs_masks: bool = False


def family_of(project: ProjectConfig) -> Family:
    task_type = project.task_type
    if task_type in CLASSIFICATION_TASK_TYPES:
        return Family(_run_classification, _shape_classification)
    families = {
        "image-classification-multilabel": Family(_run_multilabel, _shape_multilabel),
        "text-classification-multilabel": Family(_run_multilabel, _shape_multilabel),
        "bounding-box": Family(_run_boxes, _shape_boxes),
        "named-entity": Family(_run_spans, _shape_spans),
        "keypoint": Family(_run_keypoints, _shape_keypoints),
        "semantic-segmentation": Family(_run_segmentation, _shape_segmentation, True),
        "free-text": Family(_run_free_text, _shape_free_text),
        "numeric": Family(_run_numeric, _shape_numeric),
    }
    return families[task_type]


def labels_of(answer: Answer) -> Iterable[str]:
    if isinstance(answer, str):
        return {answer}
    if isinstance(answer, frozenset):
        return answer
    if isinstance(answer, BoxesAnswer):
        return {b.label for b in answer.boxes}
    if isinstance(answer, KeypointsAnswer):
        return {p.label for p in answer.points}
    if isinstance(answer, SegmentationAnswer):
        return set(_painted_colors(answer))
    if isinstance(answer, tuple):
        return {s.label for s in answer}
    return ()


def _painted_colors(answer: SegmentationAnswer) -> dict[str, str]:
    """The answer's ``labelMappings`` without a ``BACKGROUND`` entry (any case)."""
    return {
        label: color
        for label, color in answer.label_colors.items()
        if label.casefold() != BACKGROUND_LABEL.casefold()
    }


def answer_labels(answers: WorkerAnswers) -> set[str]:
    return {label for _, answer in answers for label in labels_of(answer)}


def label_colors(
    prepared: Mapping[str, WorkerAnswers], vocabulary: Sequence[str]
) -> dict[str, str]:
    """A distinct, non-white colour per label for the consolidated mask.

    A label keeps the first colour a worker painted it with, unless another label already has
    that colour; otherwise it takes the next free palette colour.
    """
    painted: dict[str, str] = {}
    for answers in prepared.values():
        for _, answer in answers:
            if isinstance(answer, SegmentationAnswer):
                for label, color in _painted_colors(answer).items():
                    painted.setdefault(label, color.lower())
    used = {BACKGROUND_COLOR}
    spare = itertools.chain(_PALETTE, (f"#{n:06x}" for n in range(1, 0xFFFFFF)))
    colors: dict[str, str] = {}
    for label in vocabulary:
        color = painted.get(label, BACKGROUND_COLOR)
        if color in used:
            color = next(c for c in spare if c not in used)
        used.add(color)
        colors[label] = color
    return colors


def _answers_of(
    prepared: Mapping[str, WorkerAnswers], kind: type[_A] | tuple[type[_A], ...]
) -> Iterable[tuple[str, str, _A]]:
    """``(task_id, worker_id, answer)`` for every answer, typed as the family's answer type."""
    for task_id, answers in prepared.items():
        for worker, answer in answers:
            if not isinstance(answer, kind):
                raise TypeError(f"expected {kind} answers, got {type(answer).__name__}")
            yield task_id, worker, answer


def _consolidator(cls: Callable[..., Any], project: ProjectConfig) -> Any:
    """The task type's consolidator built from ``method_params``."""
    from consolidation import ConsolidationError  # noqa: PLC0415 - keeps numpy out of import time

    try:
        return cls(**dict(project.method_params))
    except TypeError as exc:
        raise ConsolidationError(
            f"bad method_params for project {project.name!r} ({project.task_type}): {exc}"
        ) from None


def _base(outcome: Outcome, shaping: Shaping, workers: int) -> dict[str, Any]:
    return {
        "confidence": _confidence(outcome.confidence),
        "workers": workers,
        "method": shaping.method,
    }


def _confidence(x: Any) -> float:
    value = float(x)
    return 0.0 if math.isnan(value) else round(min(max(value, 0.0), 1.0), 4)


def _declared(ctx: RunContext) -> list[str] | None:
    return list(ctx.vocabulary) or None


def _class_id(shaping: Shaping, label: str) -> int:
    return shaping.vocabulary.index(label)


# classification ---------------------------------------------------------------------------------


def _run_classification(
    prepared: dict[str, WorkerAnswers], ctx: RunContext, rejected: dict[str, Rejection]
) -> tuple[ConsolidationRun, dict[str, Any]]:
    from consolidation import Annotation, ClassAnswers  # noqa: PLC0415
    from consolidation.methods import classification_method  # noqa: PLC0415

    method = classification_method(ctx.project.method, ctx.project.method_params)
    records = [Annotation(t, w, label) for t, w, label in _answers_of(prepared, str)]
    answers = ClassAnswers.from_annotations(
        records,
        labels=ctx.vocabulary or None,
        on_duplicate="no_consensus",
        on_unknown_label="no_consensus",
    )
    return method.aggregate(answers, prior=ctx.prior).to_run(), {}


def _shape_classification(
    outcome: Outcome, shaping: Shaping, workers: int
) -> tuple[dict[str, Any], None]:
    label = str(outcome.value)
    base = _base(outcome, shaping, workers)
    value: dict[str, Any] = {"class-name": label}
    if label in shaping.vocabulary:
        value["class-id"] = _class_id(shaping, label)
    value["confidence"] = base.pop("confidence")
    value["votes"] = {str(k): int(v) for k, v in outcome.evidence.get("votes", {}).items()}
    return {**value, **base}, None


# multi-label ------------------------------------------------------------------------------------


def _run_multilabel(
    prepared: dict[str, WorkerAnswers], ctx: RunContext, rejected: dict[str, Rejection]
) -> tuple[ConsolidationRun, dict[str, Any]]:
    from consolidation.multi_label import (  # noqa: PLC0415
        MultiLabelAnswer,
        MultiLabelConsolidator,
    )

    records = [MultiLabelAnswer(t, w, labels) for t, w, labels in _answers_of(prepared, frozenset)]
    consolidator = MultiLabelConsolidator(
        method=ctx.project.method, method_params=dict(ctx.project.method_params)
    )
    run = consolidator.aggregate(records, labels=_declared(ctx), prior=ctx.prior)
    return run, {}


def _shape_multilabel(
    outcome: Outcome, shaping: Shaping, workers: int
) -> tuple[dict[str, Any], None]:
    chosen = sorted((str(label) for label in outcome.value), key=shaping.vocabulary.index)
    ids = [_class_id(shaping, label) for label in chosen]
    confidence_map = outcome.evidence.get("confidence-map", {})
    return {
        "class-ids": ids,
        "class-map": {str(i): label for i, label in zip(ids, chosen, strict=True)},
        "confidence-map": {
            str(i): _confidence(confidence_map.get(label, outcome.confidence))
            for i, label in zip(ids, chosen, strict=True)
        },
        **_base(outcome, shaping, workers),
    }, None


# bounding boxes ---------------------------------------------------------------------------------


def _run_boxes(
    prepared: dict[str, WorkerAnswers], ctx: RunContext, rejected: dict[str, Rejection]
) -> tuple[ConsolidationRun, dict[str, Any]]:
    from consolidation.boxes import Box, BoxAnswer, BoxConsolidator  # noqa: PLC0415

    records = [
        BoxAnswer(
            t,
            w,
            tuple(Box(b.label, b.left, b.top, b.width, b.height) for b in answer.boxes),
            answer.image_width,
            answer.image_height,
        )
        for t, w, answer in _answers_of(prepared, BoxesAnswer)
    ]
    consolidator = _consolidator(BoxConsolidator, ctx.project)
    run = consolidator.aggregate(records, labels=_declared(ctx), prior=ctx.prior)
    threshold = run.diagnostics.get("iou-threshold", run.diagnostics.get("iou_threshold"))
    if threshold is None:
        threshold = getattr(consolidator, "iou_threshold", None)
    return run, {"iou-threshold": threshold} if threshold is not None else {}


def _shape_boxes(outcome: Outcome, shaping: Shaping, workers: int) -> tuple[dict[str, Any], None]:
    size = outcome.value.get("image_size")
    boxes = list(outcome.value.get("boxes", []))
    consolidation: dict[str, Any] = {
        "class-map": {str(i): label for i, label in enumerate(shaping.vocabulary)},
        "objects": [{"confidence": _confidence(b.get("confidence", 0.0))} for b in boxes],
        **_base(outcome, shaping, workers),
    }
    if "iou-threshold" in shaping.extras:
        consolidation["iou-threshold"] = shaping.extras["iou-threshold"]
    return {
        "image_size": (
            [{"width": round(size["width"]), "height": round(size["height"]), "depth": 3}]
            if size
            else []
        ),
        "annotations": [
            {
                "class_id": _class_id(shaping, b["label"]),
                "left": round(b["left"]),
                "top": round(b["top"]),
                "width": round(b["width"]),
                "height": round(b["height"]),
            }
            for b in boxes
        ],
        "consolidation": consolidation,
    }, None


# named entities ---------------------------------------------------------------------------------


def _run_spans(
    prepared: dict[str, WorkerAnswers], ctx: RunContext, rejected: dict[str, Rejection]
) -> tuple[ConsolidationRun, dict[str, Any]]:
    from consolidation.spans import Span, SpanAnswer, SpanConsolidator  # noqa: PLC0415

    records = [
        SpanAnswer(t, w, tuple(Span(s.label, s.start, s.end) for s in spans))
        for t, w, spans in _answers_of(prepared, tuple)
    ]
    consolidator = _consolidator(SpanConsolidator, ctx.project)
    return consolidator.aggregate(records, labels=_declared(ctx), prior=ctx.prior), {}


def _shape_spans(outcome: Outcome, shaping: Shaping, workers: int) -> tuple[dict[str, Any], None]:
    entities = list(outcome.value.get("entities", []))
    return {
        "annotations": {
            "labels": [{"label": label, "shortDisplayName": label} for label in shaping.vocabulary],
            "entities": [
                {
                    "label": e["label"],
                    "startOffset": int(e["startOffset"]),
                    "endOffset": int(e["endOffset"]),
                }
                for e in entities
            ],
        },
        "consolidation": {
            "entities": [{"confidence": _confidence(e.get("confidence", 0.0))} for e in entities],
            **_base(outcome, shaping, workers),
        },
    }, None


# keypoints --------------------------------------------------------------------------------------


def _run_keypoints(
    prepared: dict[str, WorkerAnswers], ctx: RunContext, rejected: dict[str, Rejection]
) -> tuple[ConsolidationRun, dict[str, Any]]:
    from consolidation.keypoints import (  # noqa: PLC0415
        Keypoint,
        KeypointAnswer,
        KeypointConsolidator,
    )

    records = [
        KeypointAnswer(
            t,
            w,
            tuple(Keypoint(p.label, p.x, p.y) for p in answer.points),
            answer.image_width,
            answer.image_height,
        )
        for t, w, answer in _answers_of(prepared, KeypointsAnswer)
    ]
    consolidator = _consolidator(KeypointConsolidator, ctx.project)
    return consolidator.aggregate(records, labels=_declared(ctx), prior=ctx.prior), {}


def _shape_keypoints(
    outcome: Outcome, shaping: Shaping, workers: int
) -> tuple[dict[str, Any], None]:
    points = list(outcome.value.get("keypoints", []))
    return {
        "keypoints": [
            {
                "label": p["label"],
                "x": float(p["x"]),
                "y": float(p["y"]),
                "confidence": _confidence(p.get("confidence", 0.0)),
            }
            for p in points
        ],
        **_base(outcome, shaping, workers),
    }, None


# semantic segmentation --------------------------------------------------------------------------


def _run_segmentation(
    prepared: dict[str, WorkerAnswers], ctx: RunContext, rejected: dict[str, Rejection]
) -> tuple[ConsolidationRun, dict[str, Any]]:
    from consolidation import ConsolidationError  # noqa: PLC0415
    from consolidation.masks import decode_label_png_base64  # noqa: PLC0415
    from consolidation.segmentation import MaskAnswer, SegmentationConsolidator  # noqa: PLC0415

    records = []
    for t, w, answer in _answers_of(prepared, SegmentationAnswer):
        if t in rejected:
            continue
        try:
            mask = decode_label_png_base64(
                answer.png_base64, _painted_colors(answer), list(ctx.vocabulary), task_id=t
            )
        except ConsolidationError as exc:  # not base64, not a PNG, a colour outside the map
            rejected[t] = Rejection("malformed-answer", f"worker {w!r}: {exc}")
            continue
        records.append(MaskAnswer(t, w, mask))
    kept = [r for r in records if r.task_id not in rejected]
    consolidator = _consolidator(SegmentationConsolidator, ctx.project)
    return consolidator.aggregate(kept, labels=list(ctx.vocabulary), prior=ctx.prior), {}


def _shape_segmentation(
    outcome: Outcome, shaping: Shaping, workers: int
) -> tuple[dict[str, Any], MaskArtifact]:
    from consolidation.masks import encode_label_png, internal_color_map  # noqa: PLC0415

    if shaping.masks is None:
        raise ContractError("segmentation needs a mask location")
    colors = [shaping.colors[label] for label in shaping.vocabulary]
    key = shaping.masks.key(outcome.task_id)
    body = encode_label_png(outcome.value["mask"], colors)
    value = {
        "ref": s3_uri(shaping.masks.bucket, key),
        "internal-color-map": internal_color_map(
            list(shaping.vocabulary), colors, outcome.confidence
        ),
        "class-confidence": {
            str(label): _confidence(p)
            for label, p in (outcome.value.get("class-confidence") or {}).items()
        },
        **_base(outcome, shaping, workers),
    }
    return value, MaskArtifact(shaping.masks.bucket, key, bytes(body))


# free text and numbers --------------------------------------------------------------------------


def _run_free_text(
    prepared: dict[str, WorkerAnswers], ctx: RunContext, rejected: dict[str, Rejection]
) -> tuple[ConsolidationRun, dict[str, Any]]:
    from consolidation.free_text import FreeTextConsolidator, TextAnswer  # noqa: PLC0415

    records = [TextAnswer(t, w, text) for t, w, text in _answers_of(prepared, str)]
    consolidator = _consolidator(FreeTextConsolidator, ctx.project)
    return consolidator.aggregate(records, prior=ctx.prior), {}


def _shape_free_text(
    outcome: Outcome, shaping: Shaping, workers: int
) -> tuple[dict[str, Any], None]:
    return {"text": str(outcome.value), **_base(outcome, shaping, workers)}, None


def _run_numeric(
    prepared: dict[str, WorkerAnswers], ctx: RunContext, rejected: dict[str, Rejection]
) -> tuple[ConsolidationRun, dict[str, Any]]:
    from consolidation.numeric import NumericAnswer, NumericConsolidator  # noqa: PLC0415

    records = [NumericAnswer(t, w, number) for t, w, number in _answers_of(prepared, (int, float))]
    consolidator = _consolidator(NumericConsolidator, ctx.project)
    return consolidator.aggregate(records, prior=ctx.prior), {}


def _shape_numeric(outcome: Outcome, shaping: Shaping, workers: int) -> tuple[dict[str, Any], None]:
    return {"value": outcome.value, **_base(outcome, shaping, workers)}, None


# -- JSON -----------------------------------------------------------------------------------------


def json_safe(obj: Any) -> Any:
    """Plain JSON types: numpy scalars/arrays via ``tolist``, NaN/inf as ``null``."""
    if obj is None or isinstance(obj, bool | int | str):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Mapping):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, set | frozenset):
        return sorted(json_safe(v) for v in obj)
    if isinstance(obj, list | tuple):
        return [json_safe(v) for v in obj]
    tolist = getattr(obj, "tolist", None)
    if callable(tolist):
        return json_safe(tolist())
    return str(obj)
