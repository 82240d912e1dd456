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
    ``s3Uri``), an annotation ``s3Uri`` that is not a valid
    URI, does not exist or is not UTF-8 text, an annotation with neither ``content`` nor
    ``s3Uri``, content that is not JSON, an answer of the wrong shape, a label outside the job's
    labels, a segmentation mask that cannot be decoded, an error the library raises for that
    item, or the method's own refusal (e.g. a tie under ``tie_policy="no_consensus"``).
    ``workers`` counts the distinct workers who submitted. A worker who answered an item twice
    (after identical copies of a repeated batch element are merged, see
    :mod:`gt_contracts.payload`) counts once, with the last answer: the repeat never costs the
    item and is counted in the skill document's ``repeated_answers``.
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

import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gt_consolidation.task_types import (
    LABEL_CHECKED_TASK_TYPES,
    MaskArtifact,
    MaskLocation,
    Rejection,
    RunContext,
    Shaping,
    WorkerAnswers,
    answer_labels,
    family_of,
    json_safe,
    label_colors,
    labels_of,
)
from gt_contracts import (
    AnswerError,
    ConsolidatedAnnotation,
    ContractError,
    PayloadObject,
    PostAnnotationEvent,
    ProjectConfig,
    answer_from_content,
    decode_content,
    parse_s3_uri,
)
from job_contracts.layout import masks_prefix, payload_digest, prior_key
from job_contracts.skills import StoredSkills

if TYPE_CHECKING:
    from consolidation import ConsolidationRun, Outcome, WorkerSkill
    from gt_consolidation.task_types import Family

__all__ = [
    "Batch",
    "BatchResult",
    "ItemResult",
    "consolidate_batch",
    "mask_location",
    "prior_skills",
    "to_json_bytes",
]

_REQUEST_MARKER = "/annotations/consolidated-annotation/consolidation-request/"
_STAMP = re.compile(r"^(\d{4}-\d{2}-\d{2})_(\d{2}:\d{2}:\d{2}(?:\.\d+)?)$")


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
    return MaskLocation(artifacts_bucket, masks_prefix(project, job_name), digest)


def prior_skills(stored: StoredSkills) -> Mapping[str, WorkerSkill] | None:
    """Stored skill records as the consolidation library's ``WorkerSkill`` (``None``: none)."""
    from consolidation import WorkerSkill  # noqa: PLC0415 - keeps numpy out of import time

    if not stored.records:
        return None
    return {
        worker: WorkerSkill(
            record.worker_id,
            record.answers,
            record.accuracy,
            record.confusion,
            record.metrics,
            record.counts,
        )
        for worker, record in stored.records.items()
    }


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
    prior: StoredSkills = field(default_factory=StoredSkills)
    masks: MaskLocation | None = None


@dataclass(frozen=True, slots=True)
class ItemResult:
    """The label value of one data object.

    ``value`` is the label value in object form. ``ref`` is set only for a segmentation mask
    under a ``-ref`` label attribute: the mask's URI, which is then the label value itself
    (``value`` still holds the object form, whose details also go to the mask's JSON sidecar).

    ``problem`` is a short, content-free tag for logs when the item has no consensus
    (``no-answers``, ``unreadable-annotation``, ``missing-answer``,
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
    return json.dumps(json_safe(doc), sort_keys=True, separators=(",", ":")).encode("utf-8")


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
    rejected: dict[str, Rejection] = {}
    prepared: dict[str, WorkerAnswers] = {}
    for obj in batch.objects:
        outcome = _read_answers(obj, batch, declared)
        if isinstance(outcome, Rejection):
            rejected[obj.dataset_object_id] = outcome
        else:
            prepared[obj.dataset_object_id] = outcome

    vocabulary = declared or tuple(
        sorted({label for a in prepared.values() for label in answer_labels(a)})
        if project.task_type in LABEL_CHECKED_TASK_TYPES
        else ()
    )
    ctx = RunContext(project=project, vocabulary=vocabulary, prior=prior_skills(batch.prior))
    family = family_of(project)
    bare_ref = family.needs_masks and batch.request.label_attribute_name.endswith("-ref")
    if family.needs_masks and batch.masks is None:
        raise ContractError("segmentation needs a mask location")
    run, extras, outcomes = _run(family, prepared, ctx, rejected)
    method = run.method if run is not None else project.method
    shaping = Shaping(
        vocabulary=vocabulary,
        method=method,
        extras=extras,
        colors=label_colors(prepared, vocabulary) if family.needs_masks else {},
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
            missing = Rejection("consolidation-error", "the method returned no outcome")
            items.append(_no_consensus(object_id, missing, n, method))
        elif not result.consensus:
            refusal = Rejection("no-consensus", str(getattr(result, "reason", "no consensus")))
            items.append(_no_consensus(object_id, refusal, n, method))
        else:
            value, mask = family.shape(result, shaping, n)
            if mask is not None:
                masks.append(mask)
            ref = None
            if bare_ref and mask is not None:
                ref, sidecar = _split_reference(value, mask)
                masks.append(sidecar)
            items.append(ItemResult(object_id, json_safe(value), ref=ref))

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
) -> WorkerAnswers | Rejection:
    """Every worker's answer for one object, or the first reason the object cannot be used."""
    if not obj.annotations:
        return Rejection("no-answers", "no worker answers")
    for annotation in obj.annotations:
        if annotation.problem is not None:
            return Rejection("malformed-annotation", annotation.problem)
    # One worker, one vote: a worker who answered twice counts with the last answer.
    last = {annotation.worker_id: annotation for annotation in obj.annotations}
    task_type = batch.project.task_type
    known = set(declared) if task_type in LABEL_CHECKED_TASK_TYPES else set()
    answers: WorkerAnswers = []
    for annotation in last.values():
        worker = annotation.worker_id
        text = annotation.content
        if text is None and annotation.s3_uri is not None:
            if annotation.s3_uri in batch.unreadable:
                reason = batch.unreadable[annotation.s3_uri]
                return Rejection(
                    "unreadable-annotation",
                    f"annotation of worker {worker!r} at {annotation.s3_uri} is unreadable: "
                    f"{reason}",
                )
            text = batch.fetched.get(annotation.s3_uri)
            if text is None:
                return Rejection(
                    "unreadable-annotation",
                    f"annotation of worker {worker!r} at {annotation.s3_uri} was not fetched",
                )
        if text is None:
            return Rejection(
                "missing-answer", f"annotation of worker {worker!r} has neither content nor s3Uri"
            )
        try:
            content = decode_content(text)
        except AnswerError as exc:
            return Rejection("invalid-content", f"worker {worker!r}: {exc}")
        try:
            answer = answer_from_content(task_type, content, name=batch.project.answer_name)
        except AnswerError as exc:
            return Rejection("malformed-answer", f"worker {worker!r}: {exc}")
        if known:
            unknown = sorted(set(labels_of(answer)) - known)
            if unknown:
                return Rejection(
                    "unknown-label",
                    f"worker {worker!r} gave unknown label {unknown[0]!r} "
                    f"(labels: {list(declared)})",
                )
        answers.append((worker, answer))
    return answers


def _no_consensus(object_id: str, rejection: Rejection, workers: int, method: str) -> ItemResult:
    value = {"no-consensus": True, "reason": rejection.reason, "workers": workers, "method": method}
    return ItemResult(object_id, value, rejection.problem)


def _run(
    family: Family,
    prepared: dict[str, WorkerAnswers],
    ctx: RunContext,
    rejected: dict[str, Rejection],
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
            rejected[exc.task_id] = Rejection("consolidation-error", str(exc))
            del pending[exc.task_id]
            continue
        return run, extras, {o.task_id: o for o in run.outcomes}
    return None, {}, {}


def _skills_document(
    batch: Batch, run: ConsolidationRun | None, method: str, items: Sequence[ItemResult]
) -> dict[str, Any]:
    prior: dict[str, Any] = {
        "key": prior_key(batch.project.name),
        "workers": len(batch.prior.records or {}),
    }
    if batch.prior.error:
        prior["error"] = batch.prior.error
    document: dict[str, Any] = json_safe(
        {
            "project": batch.project.name,
            "task_type": batch.project.task_type,
            "labeling_job_arn": batch.request.labeling_job_arn,
            "job_name": batch.request.job_name,
            "payload_uri": batch.request.payload_uri,
            "method": method,
            "items": len(items),
            "no_consensus": sum(1 for item in items if not item.consensus),
            "repeated_answers": sum(
                len(obj.annotations) - len({a.worker_id for a in obj.annotations})
                for obj in batch.objects
            ),
            "diagnostics": dict(run.diagnostics) if run is not None else {},
            "workers": [skill.to_json() for skill in run.workers] if run is not None else [],
            "prior": prior,
        }
    )
    return document
