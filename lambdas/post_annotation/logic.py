"""Consolidating one Ground Truth batch (pure: no I/O, no clients, no logging).

Input: the parsed event, the job's project, the batch's objects, the text of every annotation
that was given by ``s3Uri`` (or why it could not be read), and prior worker skill. Output: one
label value per ``datasetObjectId`` of the batch (never one dropped, never one repeated), the
mask PNGs and their JSON sidecars to write (segmentation), and the worker-skill document to store.

How an item is consolidated
    Each worker answer is read with :mod:`gt_contracts.answers` for the project's task type
    (from the crowd element the project's ``answer_name`` names, or else the one answer of the
    task type's shape) and checked against the job's labels (``labelCategories``, or the
    project's labels when the event has none). Free-text and numeric answers have no labels and
    are not checked; a segmentation answer is checked by the mask decoder instead, colour by
    colour (a ``labelMappings`` entry for a label nobody painted is ignored, as is a
    ``BACKGROUND`` entry in any case, and a painted colour the job's labels cannot explain
    rejects the item as a malformed answer). All items that pass go through the project's
    method in one run, so worker skill is learned across the batch: single-label
    classification through :func:`consolidation.methods.classification_method` (``method``,
    ``method_params``), multi-label through
    :class:`~consolidation.multi_label.MultiLabelConsolidator` running that method per label,
    and every other task type through its consolidator built with ``method_params`` as keyword
    arguments (``method`` is ``"auto"`` there). Prior skill goes to every method.

Failure contract (per item; pinned by tests)
    An item that cannot be consolidated is never dropped and never fails the batch. Its label
    value is ``{"no-consensus": true, "reason": str, "workers": int, "method": str}``: no
    worker answers, an annotation the batch file gives in a broken form (an empty or
    non-string ``workerId``, an ``annotationData`` that is not an object, a non-string
    ``s3Uri``), a worker answering twice (identical copies of a repeated batch element are
    merged first, see :mod:`gt_contracts.payload`), an annotation ``s3Uri`` that is not a valid
    URI, does not exist or is not UTF-8 text, an annotation with neither ``content`` nor
    ``s3Uri``, content that is not JSON, an answer of the wrong shape, a label outside the job's
    labels, a segmentation mask that cannot be decoded, an error the library raises for that
    item, or the method's own refusal (e.g. a tie under ``tie_policy="no_consensus"``).
    ``workers`` counts the distinct workers who submitted.
    Configuration errors (an unknown method or parameter) and library errors that name no item
    raise: they would fail every item alike. (The handler also raises when it cannot read an
    annotation ``s3Uri`` for a reason other than not-found, so that Ground Truth can retry.)

Label values (one per task type; every consensus value carries ``confidence``, ``workers`` and
the method that produced it, kept inside the value because Ground Truth replaces a
Lambda-supplied ``<label>-metadata`` in custom jobs; for boxes and entities they sit in the
``consolidation`` block next to the built-in shape)::

    classification  {"class-name": "positive", "class-id": 2, "confidence": 0.67,
                     "votes": {"positive": 2, "neutral": 1}, "workers": 3,
                     "method": "majority-vote"}
    multi-label     {"class-ids": [0, 2], "class-map": {"0": "person", "2": "dog"},
                     "confidence-map": {"0": 0.95, "2": 0.77}, "confidence": 0.77,
                     "workers": 3, "method": "multi-label"}
    bounding-box    {"image_size": [{"width": 1280, "height": 960, "depth": 3}],
                     "annotations": [{"class_id": 0, "left": 101, "top": 220, "width": 409,
                                      "height": 501}],
                     "consolidation": {"class-map": {"0": "dog", "1": "cat"},
                                       "objects": [{"confidence": 0.94}], "confidence": 0.94,
                                       "workers": 3, "method": "box-clustering",
                                       "iou-threshold": 0.5}}
    named-entity    {"annotations": {"labels": [{"label": "person",
                                                 "shortDisplayName": "person"}, ...],
                                     "entities": [{"label": "person", "startOffset": 0,
                                                   "endOffset": 5}]},
                     "consolidation": {"entities": [{"confidence": 0.8}], "confidence": 0.8,
                                       "workers": 3, "method": "span-clustering"}}
    segmentation    "s3://.../annotations/consolidated-annotation/output/0_<ts>.png"
                    (label attribute ending in -ref, as Ground Truth requires; the rest goes
                    to the JSON sidecar .../0_<ts>.json next to the PNG:)
                    {"internal-color-map": {"0": {"class-name": "BACKGROUND",
                                                  "hex-color": "#ffffff", "confidence": 0.8},
                                            "1": {"class-name": "cat", "hex-color": "#1f77b4",
                                                  "confidence": 0.8}},
                     "class-confidence": {"cat": 0.85},
                     "confidence": 0.8, "workers": 3, "method": "pixel-vote"}
                    (any other label attribute: that object, with the URI under "ref")
    keypoint        {"keypoints": [{"label": "nose", "x": 155.0, "y": 275.0,
                                    "confidence": 0.9}],
                     "confidence": 0.9, "workers": 3, "method": "keypoint-clustering"}
    free-text       {"text": "...", "confidence": 0.8, "workers": 3, "method": "closest-text"}
    numeric         {"value": 4, "confidence": 0.8, "workers": 3, "method": "numeric"}

``class-id``/``class_id`` and the ``class-map`` keys index the job's labels. Box coordinates
are rounded to whole pixels as in Ground Truth's built-in output; ``image_size`` is ``[]`` when
no worker reported it. An entity label's ``shortDisplayName`` is the label itself. Under a
``-ref`` label attribute the segmentation value is the bare S3 URI of the mask, as in Ground
Truth's built-in output, and the colour map, confidences, workers and method go to a JSON
sidecar with the mask's key and ``.json`` instead of ``.png`` (written, like the mask, before
the Lambda answers). A segmentation item without consensus keeps the no-consensus object even
under a ``-ref`` attribute (an empty string would not be a URI), so consumers of a ``-ref``
attribute must check that the value is a string before reading it as a URI. Under any other
label attribute the value is the object with the URI under ``ref``, so that the colour map and
confidence stay with the label. In both forms ``internal-color-map`` is as Ground Truth writes
it, one image-level confidence for every class, and ``class-confidence`` is per label as the
method reports it; the mask is an indexed PNG whose index 0 is background (``#ffffff``) and
``k`` the ``k``-th label, each label in the colour workers painted it with (a free palette
colour when that clashes or no worker used the label). ``method`` names what ran (for
``"auto"``, the method it chose). A numeric value is an ``int`` when every answer was one and
the estimate is whole.

Where files go
    Worker skill: ``s3://$ARTIFACTS_BUCKET/skills/<project>/<job-name>/<16 hex>.json``, the
    hex being the first 16 digits of the SHA-256 of the payload URI, so a re-delivered batch
    rewrites the same key. Prior skill is read from ``skills/<project>/prior.json`` (a document
    with a ``"workers"`` list of ``WorkerSkill.to_json`` entries, or that list alone); missing
    means no prior, and an unreadable or malformed prior is reported and ignored. Masks go to
    ``<job output>/annotations/consolidated-annotation/output/<datasetObjectId>_<ts>.png`` when
    the payload URI has Ground Truth's ``.../annotations/consolidated-annotation/
    consolidation-request/iteration-<N>/<ts>.json`` form, and otherwise to
    ``s3://$ARTIFACTS_BUCKET/masks/<project>/<job-name>/<datasetObjectId>_<16 hex>.png``;
    a mask's JSON sidecar (``-ref`` label attributes) has the same key ending in ``.json``.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

from gt_contracts import (
    CLASSIFICATION_TASK_TYPES,
    Answer,
    AnswerError,
    BoxesAnswer,
    ConsolidatedAnnotation,
    ContractError,
    KeypointsAnswer,
    PayloadObject,
    PostAnnotationEvent,
    ProjectConfig,
    SegmentationAnswer,
    answer_from_content,
    decode_content,
    parse_s3_uri,
    s3_uri,
)

if TYPE_CHECKING:
    from consolidation import ConsolidationRun, Outcome, WorkerSkill

__all__ = [
    "BACKGROUND_COLOR",
    "Batch",
    "BatchResult",
    "ItemResult",
    "MaskArtifact",
    "MaskLocation",
    "PriorSkills",
    "consolidate_batch",
    "load_prior",
    "mask_location",
    "payload_digest",
    "prior_key",
    "skills_key",
    "to_json_bytes",
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
_LABEL_CHECKED_TASK_TYPES = frozenset(CLASSIFICATION_TASK_TYPES) | {
    "image-classification-multilabel",
    "text-classification-multilabel",
    "bounding-box",
    "named-entity",
    "keypoint",
}
_REQUEST_MARKER = "/annotations/consolidated-annotation/consolidation-request/"
_STAMP = re.compile(r"^(\d{4}-\d{2}-\d{2})_(\d{2}:\d{2}:\d{2}(?:\.\d+)?)$")

WorkerAnswers: TypeAlias = list[tuple[str, Answer]]
_A = TypeVar("_A")


# -- keys and locations ---------------------------------------------------------------------------


def payload_digest(payload_uri: str) -> str:
    """First 16 hex digits of the SHA-256 of the payload URI (stable per batch)."""
    return hashlib.sha256(payload_uri.encode("utf-8")).hexdigest()[:16]


def skills_key(project: str, job_name: str, payload_uri: str) -> str:
    """``skills/<project>/<job-name>/<digest>.json`` in the artifacts bucket."""
    return f"skills/{project}/{job_name}/{payload_digest(payload_uri)}.json"


def prior_key(project: str) -> str:
    """``skills/<project>/prior.json`` in the artifacts bucket."""
    return f"skills/{project}/prior.json"


@dataclass(frozen=True, slots=True)
class MaskLocation:
    """Where the masks of one batch go: ``s3://bucket/<prefix><datasetObjectId>_<stamp>.png``."""

    bucket: str
    prefix: str
    stamp: str

    def key(self, dataset_object_id: str) -> str:
        return f"{self.prefix}{dataset_object_id}_{self.stamp}.png"


def mask_location(
    payload_uri: str, *, artifacts_bucket: str, project: str, job_name: str
) -> MaskLocation:
    """The mask location for a batch (see the module docstring)."""
    bucket, key = parse_s3_uri(payload_uri, field="payload.s3Uri")
    digest = payload_digest(payload_uri)
    head, marker, tail = ("/" + key).partition(_REQUEST_MARKER)
    if marker:
        stem = tail.rsplit("/", 1)[-1].removesuffix(".json")
        match = _STAMP.match(stem)
        stamp = f"{match[1]}T{match[2]}" if match else digest
        prefix = f"{head.lstrip('/')}/annotations/consolidated-annotation/output/".lstrip("/")
        return MaskLocation(bucket, prefix, stamp)
    return MaskLocation(artifacts_bucket, f"masks/{project}/{job_name}/", digest)


# -- prior skill ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PriorSkills:
    """Skill from earlier jobs: per worker, plus why it could not be used (if so)."""

    skills: Mapping[str, WorkerSkill] | None = None
    error: str | None = None


def load_prior(text: str | bytes | None) -> PriorSkills:
    """Parse ``prior.json``; never raises (a bad prior is reported in ``error``).

    Accepts ``{"workers": [<WorkerSkill.to_json()>, ...]}`` or the list alone; ``None`` (no
    file) means no prior.
    """
    if text is None:
        return PriorSkills()
    try:
        doc = json.loads(text)
        entries = doc.get("workers") if isinstance(doc, Mapping) else doc
        if not isinstance(entries, list):
            raise ContractError("expected a 'workers' list")
        skills = {}
        for i, entry in enumerate(entries):
            skill = _skill_from_json(entry, f"workers[{i}]")
            skills[skill.worker_id] = skill
    except (ValueError, UnicodeDecodeError) as exc:
        return PriorSkills(error=f"prior skill ignored: {exc}")
    return PriorSkills(skills or None)


def _skill_from_json(raw: object, at: str) -> WorkerSkill:
    from consolidation import WorkerSkill  # noqa: PLC0415 - keeps numpy out of import time

    if not isinstance(raw, Mapping):
        raise ContractError(f"{at} must be an object")
    worker, answers, accuracy = raw.get("worker"), raw.get("answers", 0), raw.get("accuracy")
    if not isinstance(worker, str) or not worker:
        raise ContractError(f"{at}.worker must be a non-empty string")
    if isinstance(answers, bool) or not isinstance(answers, int) or answers < 0:
        raise ContractError(f"{at}.answers must be a non-negative integer")
    if (
        isinstance(accuracy, bool)
        or not isinstance(accuracy, int | float)
        or not 0.0 <= accuracy <= 1.0
    ):
        raise ContractError(f"{at}.accuracy must be a number in [0, 1]")
    confusion = raw.get("confusion")
    if confusion is not None and not (
        isinstance(confusion, Mapping)
        and all(
            isinstance(row, Mapping)
            and all(isinstance(p, int | float) and not isinstance(p, bool) for p in row.values())
            for row in confusion.values()
        )
    ):
        raise ContractError(f"{at}.confusion must map labels to label-probability objects")
    metrics = raw.get("metrics") or {}
    if not isinstance(metrics, Mapping):
        raise ContractError(f"{at}.metrics must be an object")
    return WorkerSkill(
        worker,
        answers,
        float(accuracy),
        {t: {g: float(p) for g, p in row.items()} for t, row in confusion.items()}
        if confusion is not None
        else None,
        {str(k): float(v) for k, v in metrics.items()},
    )


# -- inputs and outputs ---------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Batch:
    """One consolidation request, with everything already fetched.

    Attributes:
        request: the parsed event.
        project: the job's project.
        objects: the batch's data objects (one per ``datasetObjectId``).
        fetched: text of each annotation given by ``s3Uri``, keyed by that URI.
        unreadable: why an annotation ``s3Uri`` could not be read, keyed by that URI.
        prior: skill from earlier jobs.
        masks: where segmentation masks go (required for segmentation projects).
    """

    request: PostAnnotationEvent
    project: ProjectConfig
    objects: Sequence[PayloadObject]
    fetched: Mapping[str, str] = field(default_factory=dict)
    unreadable: Mapping[str, str] = field(default_factory=dict)
    prior: PriorSkills = field(default_factory=PriorSkills)
    masks: MaskLocation | None = None


@dataclass(frozen=True, slots=True)
class ItemResult:
    """The label value of one data object.

    ``value`` is the label value in object form. ``ref`` is set only for a segmentation mask
    under a ``-ref`` label attribute: the mask's URI, which is then the label value itself
    (``value`` still holds the object form, whose details also go to the mask's JSON sidecar).

    ``problem`` is a short, content-free tag for logs when the item has no consensus
    (``no-answers``, ``duplicate-worker``, ``unreadable-annotation``, ``missing-answer``,
    ``invalid-content``, ``malformed-annotation``, ``malformed-answer``, ``unknown-label``,
    ``consolidation-error``, ``no-consensus``); ``None`` otherwise.
    """

    dataset_object_id: str
    value: dict[str, Any]
    problem: str | None = None
    ref: str | None = None

    @property
    def label(self) -> dict[str, Any] | str:
        """What Ground Truth writes under the label attribute: ``ref`` if set, else ``value``."""
        return self.ref if self.ref is not None else self.value

    @property
    def consensus(self) -> bool:
        return self.problem is None


@dataclass(frozen=True, slots=True)
class MaskArtifact:
    """A file to write before answering: a consolidated segmentation mask, or its JSON sidecar."""

    bucket: str
    key: str
    body: bytes
    content_type: str = "image/png"


@dataclass(frozen=True, kw_only=True)
class BatchResult:
    """What :func:`consolidate_batch` decided."""

    items: Sequence[ItemResult]
    masks: Sequence[MaskArtifact]
    skills: Mapping[str, Any]
    method: str

    @property
    def no_consensus(self) -> int:
        return sum(1 for item in self.items if not item.consensus)

    @property
    def problems(self) -> dict[str, int]:
        """How many items had each kind of problem."""
        return dict(Counter(item.problem for item in self.items if item.problem))

    def to_response(self, label_attribute_name: str) -> list[dict[str, Any]]:
        """The Lambda's response: one entry per data object, in payload order."""
        return [
            ConsolidatedAnnotation(
                item.dataset_object_id, label_attribute_name, item.label
            ).to_json()
            for item in self.items
        ]


def to_json_bytes(doc: Any) -> bytes:
    """Deterministic UTF-8 JSON of a document that may hold numpy scalars or arrays."""
    return json.dumps(_json_safe(doc), sort_keys=True, separators=(",", ":")).encode("utf-8")


# -- the decision ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Rejection:
    problem: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class _Context:
    """What a method run needs besides the answers."""

    project: ProjectConfig
    vocabulary: tuple[str, ...]
    prior: Mapping[str, WorkerSkill] | None


def consolidate_batch(batch: Batch) -> BatchResult:
    """Consolidate every object of the batch (see the module docstring for the contract).

    Raises:
        ConsolidationError: an unknown method, bad method parameters, or a library error that
            names no item.
        ContractError: a segmentation project without a mask location.
    """
    project = batch.project
    declared = tuple(batch.request.label_categories or project.labels)
    workers = {
        obj.dataset_object_id: len({a.worker_id for a in obj.annotations}) for obj in batch.objects
    }
    rejected: dict[str, _Rejection] = {}
    prepared: dict[str, WorkerAnswers] = {}
    for obj in batch.objects:
        outcome = _read_answers(obj, batch, declared)
        if isinstance(outcome, _Rejection):
            rejected[obj.dataset_object_id] = outcome
        else:
            prepared[obj.dataset_object_id] = outcome

    vocabulary = declared or tuple(
        sorted({label for a in prepared.values() for label in _labels(a)})
        if project.task_type in _LABEL_CHECKED_TASK_TYPES
        else ()
    )
    ctx = _Context(project=project, vocabulary=vocabulary, prior=batch.prior.skills)
    family = _family(project)
    bare_ref = family.needs_masks and batch.request.label_attribute_name.endswith("-ref")
    if family.needs_masks and batch.masks is None:
        raise ContractError("segmentation needs a mask location")
    run, extras, outcomes = _run(family, prepared, ctx, rejected)
    method = run.method if run is not None else project.method
    shaping = _Shaping(
        vocabulary=vocabulary,
        method=method,
        extras=extras,
        colors=_label_colors(prepared, vocabulary) if family.needs_masks else {},
        masks=batch.masks,
    )

    items: list[ItemResult] = []
    masks: list[MaskArtifact] = []
    for obj in batch.objects:
        object_id = obj.dataset_object_id
        n = workers[object_id]
        if object_id in rejected:
            items.append(_no_consensus(object_id, rejected[object_id], n, method))
            continue
        result = outcomes.get(object_id)
        if result is None:
            missing = _Rejection("consolidation-error", "the method returned no outcome")
            items.append(_no_consensus(object_id, missing, n, method))
        elif not result.consensus:
            refusal = _Rejection("no-consensus", str(getattr(result, "reason", "no consensus")))
            items.append(_no_consensus(object_id, refusal, n, method))
        else:
            value, mask = family.shape(result, shaping, n)
            if mask is not None:
                masks.append(mask)
            ref = None
            if bare_ref and mask is not None:
                ref, sidecar = _split_reference(value, mask)
                masks.append(sidecar)
            items.append(ItemResult(object_id, _json_safe(value), ref=ref))

    skills = _skills_document(batch, run, method, items)
    return BatchResult(items=items, masks=masks, skills=skills, method=method)


def _split_reference(value: dict[str, Any], mask: MaskArtifact) -> tuple[str, MaskArtifact]:
    """The mask's URI (the label value under a ``-ref`` attribute) and its JSON sidecar."""
    details = {k: v for k, v in value.items() if k != "ref"}
    key = f"{mask.key.removesuffix('.png')}.json"
    sidecar = MaskArtifact(mask.bucket, key, to_json_bytes(details), "application/json")
    return str(value["ref"]), sidecar


def _read_answers(
    obj: PayloadObject, batch: Batch, declared: tuple[str, ...]
) -> WorkerAnswers | _Rejection:
    """Every worker's answer for one object, or the first reason the object cannot be used."""
    if not obj.annotations:
        return _Rejection("no-answers", "no worker answers")
    for annotation in obj.annotations:
        if annotation.problem is not None:
            return _Rejection("malformed-annotation", annotation.problem)
    seen: set[str] = set()
    for annotation in obj.annotations:
        if annotation.worker_id in seen:
            return _Rejection(
                "duplicate-worker", f"worker {annotation.worker_id!r} answered more than once"
            )
        seen.add(annotation.worker_id)
    task_type = batch.project.task_type
    known = set(declared) if task_type in _LABEL_CHECKED_TASK_TYPES else set()
    answers: WorkerAnswers = []
    for annotation in obj.annotations:
        worker = annotation.worker_id
        text = annotation.content
        if text is None and annotation.s3_uri is not None:
            if annotation.s3_uri in batch.unreadable:
                reason = batch.unreadable[annotation.s3_uri]
                return _Rejection(
                    "unreadable-annotation",
                    f"annotation of worker {worker!r} at {annotation.s3_uri} is unreadable: "
                    f"{reason}",
                )
            text = batch.fetched.get(annotation.s3_uri)
            if text is None:
                return _Rejection(
                    "unreadable-annotation",
                    f"annotation of worker {worker!r} at {annotation.s3_uri} was not fetched",
                )
        if text is None:
            return _Rejection(
                "missing-answer", f"annotation of worker {worker!r} has neither content nor s3Uri"
            )
        try:
            content = decode_content(text)
        except AnswerError as exc:
            return _Rejection("invalid-content", f"worker {worker!r}: {exc}")
        try:
            answer = answer_from_content(task_type, content, name=batch.project.answer_name)
        except AnswerError as exc:
            return _Rejection("malformed-answer", f"worker {worker!r}: {exc}")
        if known:
            unknown = sorted(set(_labels_of(answer)) - known)
            if unknown:
                return _Rejection(
                    "unknown-label",
                    f"worker {worker!r} gave unknown label {unknown[0]!r} "
                    f"(labels: {list(declared)})",
                )
        answers.append((worker, answer))
    return answers


def _no_consensus(object_id: str, rejection: _Rejection, workers: int, method: str) -> ItemResult:
    value = {"no-consensus": True, "reason": rejection.reason, "workers": workers, "method": method}
    return ItemResult(object_id, value, rejection.problem)


def _run(
    family: _Family,
    prepared: dict[str, WorkerAnswers],
    ctx: _Context,
    rejected: dict[str, _Rejection],
) -> tuple[ConsolidationRun | None, dict[str, Any], dict[str, Outcome]]:
    """Run the method; an item the library rejects by id is set aside and the rest re-run."""
    from consolidation import ConsolidationError  # noqa: PLC0415 - keeps numpy out of import time

    pending = dict(prepared)
    while pending:
        try:
            run, extras = family.run(pending, ctx, rejected)
        except ConsolidationError as exc:
            if exc.task_id is None or exc.task_id not in pending:
                raise
            rejected[exc.task_id] = _Rejection("consolidation-error", str(exc))
            del pending[exc.task_id]
            continue
        return run, extras, {o.task_id: o for o in run.outcomes}
    return None, {}, {}


def _skills_document(
    batch: Batch, run: ConsolidationRun | None, method: str, items: Sequence[ItemResult]
) -> dict[str, Any]:
    prior: dict[str, Any] = {
        "key": prior_key(batch.project.name),
        "workers": len(batch.prior.skills or {}),
    }
    if batch.prior.error:
        prior["error"] = batch.prior.error
    document: dict[str, Any] = _json_safe(
        {
            "project": batch.project.name,
            "task_type": batch.project.task_type,
            "labeling_job_arn": batch.request.labeling_job_arn,
            "job_name": batch.request.job_name,
            "payload_uri": batch.request.payload_uri,
            "method": method,
            "items": len(items),
            "no_consensus": sum(1 for item in items if not item.consensus),
            "diagnostics": dict(run.diagnostics) if run is not None else {},
            "workers": [skill.to_json() for skill in run.workers] if run is not None else [],
            "prior": prior,
        }
    )
    return document


# -- task-type families ---------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class _Shaping:
    """What every label value of one batch shares."""

    vocabulary: tuple[str, ...]
    method: str
    extras: Mapping[str, Any]
    colors: Mapping[str, str]
    masks: MaskLocation | None


RunFn: TypeAlias = Callable[
    [dict[str, WorkerAnswers], _Context, dict[str, _Rejection]],
    tuple["ConsolidationRun", dict[str, Any]],
]
ShapeFn: TypeAlias = Callable[
    ["Outcome", _Shaping, int], tuple[dict[str, Any], MaskArtifact | None]
]


@dataclass(frozen=True)
class _Family:
    """How one group of task types is run and shaped.

    ``run`` returns the library's run plus run-level values shown in every label (e.g. the
    IoU threshold); it may set items aside in ``rejected`` (undecodable masks).
    """

    run: RunFn
    shape: ShapeFn
    needs_masks: bool = False


def _family(project: ProjectConfig) -> _Family:
    task_type = project.task_type
    if task_type in CLASSIFICATION_TASK_TYPES:
        return _Family(_run_classification, _shape_classification)
    families = {
        "image-classification-multilabel": _Family(_run_multilabel, _shape_multilabel),
        "text-classification-multilabel": _Family(_run_multilabel, _shape_multilabel),
        "bounding-box": _Family(_run_boxes, _shape_boxes),
        "named-entity": _Family(_run_spans, _shape_spans),
        "keypoint": _Family(_run_keypoints, _shape_keypoints),
        "semantic-segmentation": _Family(_run_segmentation, _shape_segmentation, True),
        "free-text": _Family(_run_free_text, _shape_free_text),
        "numeric": _Family(_run_numeric, _shape_numeric),
    }
    return families[task_type]


def _labels_of(answer: Answer) -> Iterable[str]:
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


def _labels(answers: WorkerAnswers) -> set[str]:
    return {label for _, answer in answers for label in _labels_of(answer)}


def _label_colors(
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


def _base(outcome: Outcome, shaping: _Shaping, workers: int) -> dict[str, Any]:
    return {
        "confidence": _confidence(outcome.confidence),
        "workers": workers,
        "method": shaping.method,
    }


def _confidence(x: Any) -> float:
    value = float(x)
    return 0.0 if math.isnan(value) else round(min(max(value, 0.0), 1.0), 4)


def _declared(ctx: _Context) -> list[str] | None:
    return list(ctx.vocabulary) or None


def _class_id(shaping: _Shaping, label: str) -> int:
    return shaping.vocabulary.index(label)


# classification ---------------------------------------------------------------------------------


def _run_classification(
    prepared: dict[str, WorkerAnswers], ctx: _Context, rejected: dict[str, _Rejection]
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
    outcome: Outcome, shaping: _Shaping, workers: int
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
    prepared: dict[str, WorkerAnswers], ctx: _Context, rejected: dict[str, _Rejection]
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
    outcome: Outcome, shaping: _Shaping, workers: int
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
    prepared: dict[str, WorkerAnswers], ctx: _Context, rejected: dict[str, _Rejection]
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


def _shape_boxes(outcome: Outcome, shaping: _Shaping, workers: int) -> tuple[dict[str, Any], None]:
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
    prepared: dict[str, WorkerAnswers], ctx: _Context, rejected: dict[str, _Rejection]
) -> tuple[ConsolidationRun, dict[str, Any]]:
    from consolidation.spans import Span, SpanAnswer, SpanConsolidator  # noqa: PLC0415

    records = [
        SpanAnswer(t, w, tuple(Span(s.label, s.start, s.end) for s in spans))
        for t, w, spans in _answers_of(prepared, tuple)
    ]
    consolidator = _consolidator(SpanConsolidator, ctx.project)
    return consolidator.aggregate(records, labels=_declared(ctx), prior=ctx.prior), {}


def _shape_spans(outcome: Outcome, shaping: _Shaping, workers: int) -> tuple[dict[str, Any], None]:
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
    prepared: dict[str, WorkerAnswers], ctx: _Context, rejected: dict[str, _Rejection]
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
    outcome: Outcome, shaping: _Shaping, workers: int
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
    prepared: dict[str, WorkerAnswers], ctx: _Context, rejected: dict[str, _Rejection]
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
            rejected[t] = _Rejection("malformed-answer", f"worker {w!r}: {exc}")
            continue
        records.append(MaskAnswer(t, w, mask))
    kept = [r for r in records if r.task_id not in rejected]
    consolidator = _consolidator(SegmentationConsolidator, ctx.project)
    return consolidator.aggregate(kept, labels=list(ctx.vocabulary), prior=ctx.prior), {}


def _shape_segmentation(
    outcome: Outcome, shaping: _Shaping, workers: int
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
    prepared: dict[str, WorkerAnswers], ctx: _Context, rejected: dict[str, _Rejection]
) -> tuple[ConsolidationRun, dict[str, Any]]:
    from consolidation.free_text import FreeTextConsolidator, TextAnswer  # noqa: PLC0415

    records = [TextAnswer(t, w, text) for t, w, text in _answers_of(prepared, str)]
    consolidator = _consolidator(FreeTextConsolidator, ctx.project)
    return consolidator.aggregate(records, prior=ctx.prior), {}


def _shape_free_text(
    outcome: Outcome, shaping: _Shaping, workers: int
) -> tuple[dict[str, Any], None]:
    return {"text": str(outcome.value), **_base(outcome, shaping, workers)}, None


def _run_numeric(
    prepared: dict[str, WorkerAnswers], ctx: _Context, rejected: dict[str, _Rejection]
) -> tuple[ConsolidationRun, dict[str, Any]]:
    from consolidation.numeric import NumericAnswer, NumericConsolidator  # noqa: PLC0415

    records = [NumericAnswer(t, w, number) for t, w, number in _answers_of(prepared, (int, float))]
    consolidator = _consolidator(NumericConsolidator, ctx.project)
    return consolidator.aggregate(records, prior=ctx.prior), {}


def _shape_numeric(
    outcome: Outcome, shaping: _Shaping, workers: int
) -> tuple[dict[str, Any], None]:
    return {"value": outcome.value, **_base(outcome, shaping, workers)}, None


# -- JSON -----------------------------------------------------------------------------------------


def _json_safe(obj: Any) -> Any:
    """Plain JSON types: numpy scalars/arrays via ``tolist``, NaN/inf as ``null``."""
    if obj is None or isinstance(obj, bool | int | str):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Mapping):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, set | frozenset):
        return sorted(_json_safe(v) for v in obj)
    if isinstance(obj, list | tuple):
        return [_json_safe(v) for v in obj]
    tolist = getattr(obj, "tolist", None)
    if callable(tolist):
        return _json_safe(tolist())
    return str(obj)
