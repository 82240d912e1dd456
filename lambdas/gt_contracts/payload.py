"""The consolidation batch file that ``payload.s3Uri`` points to.

A JSON array with one element per data object::

    [{"datasetObjectId": "0",
      "dataObject": {"s3Uri": "s3://bucket/images/0001.jpg"},      # or {"content": "text"}
      "annotations": [{"workerId": "private.us-east-1.8f3a2c1d9e7b6a54",
                       "annotationData": {"content": "{\\"boundingBox\\": {...}}"}}]}]

Each annotation carries the worker's form submission either inline (``content``, a JSON string)
or by reference (``s3Uri``; the lower-case ``s3uri`` is tolerated too). Reading the answer out
of it is :mod:`gt_contracts.answers`'s job.

Contract: the *structure* of the batch is Ground Truth's and a break in it raises
:class:`ContractError` (not an array, an element that is not an object, an element without a
usable ``datasetObjectId``: such an element could not be answered). A break inside *one* item
never fails the batch: ``annotations`` that is not a list, an annotation that is not an object,
a missing, empty or non-string ``workerId``, an ``annotationData`` that is not an object, an
``s3Uri`` that is not a string all parse as an annotation with its ``problem`` set, and the
consolidation gives only that item a no-consensus with that reason. What is *inside* an answer
is the worker's and is never checked here: an annotation with neither ``content`` nor ``s3Uri``
parses with both set to ``None`` and the consolidation reports it for its item.
``datasetObjectId`` must be a string (an integer is accepted and turned into its decimal
string); elements that repeat an id are merged into one object, annotations in order, so every
id appears once. An annotation of a repeated element identical to one already merged (same
``workerId``, ``content`` and ``s3Uri``) is dropped, so a batch element sent twice does not
count its workers twice; a worker with two different annotations is kept twice and reported by
the consolidation.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gt_contracts._json import _kind, load_json, require_mapping
from gt_contracts.errors import ContractError

__all__ = ["PayloadObject", "WorkerAnnotation", "parse_payload"]


@dataclass(frozen=True, slots=True)
class WorkerAnnotation:
    """One worker's submission for one data object.

    Attributes:
        worker_id: the worker (``private.<region>.<hex>`` for private workforces).
        content: the form submission as sent (a JSON string), or ``None``.
        s3_uri: where the submission is stored when it is not inline, or ``None``.
        problem: why the annotation cannot be used (its item gets no consensus), or ``None``;
            ``worker_id`` is ``""`` when the ``workerId`` itself is the problem.
    """

    worker_id: str
    content: str | None
    s3_uri: str | None
    problem: str | None = None

    @classmethod
    def from_json(cls, raw: object, *, at: str = "annotation") -> WorkerAnnotation:
        """Parse one annotation.

        Never raises: a break is kept in ``problem`` (see the module docstring).
        """
        if not isinstance(raw, Mapping):
            return cls("", None, None, f"{at} must be a JSON object, got {_kind(raw)}")
        worker_id = raw.get("workerId")
        if worker_id is None:
            return cls("", None, None, f"{at}.workerId is missing")
        if not isinstance(worker_id, str) or not worker_id:
            problem = f"{at}.workerId must be a non-empty string, got {_kind(worker_id)}"
            return cls("", None, None, problem)
        data = raw.get("annotationData")
        if data is None:
            return cls(worker_id, None, None)
        if not isinstance(data, Mapping):
            problem = f"{at}.annotationData must be a JSON object, got {_kind(data)}"
            return cls(worker_id, None, None, problem)
        content = data.get("content")
        if content is not None and not isinstance(content, str):
            # Some producers hand the submission over already decoded; keep it as JSON text so
            # every consumer decodes one way.
            content = json.dumps(content)
        s3_uri = data.get("s3Uri")
        if s3_uri is None:
            s3_uri = data.get("s3uri")
        if s3_uri is not None and not isinstance(s3_uri, str):
            problem = f"{at}.annotationData.s3Uri must be a string, got {_kind(s3_uri)}"
            return cls(worker_id, content, None, problem)
        return cls(worker_id, content, s3_uri)


@dataclass(frozen=True, slots=True)
class PayloadObject:
    """One data object of the batch and every worker annotation submitted for it.

    Attributes:
        dataset_object_id: Ground Truth's id of the object; echo it back unchanged.
        data_object: ``{"s3Uri": ...}`` or ``{"content": ...}`` as sent.
        annotations: the submissions, in payload order.
    """

    dataset_object_id: str
    data_object: Mapping[str, Any] = field(default_factory=dict)
    annotations: tuple[WorkerAnnotation, ...] = ()

    @classmethod
    def from_json(cls, raw: object, *, at: str = "payload[0]") -> PayloadObject:
        raw = require_mapping(raw, at)
        object_id = raw.get("datasetObjectId")
        if object_id is None:
            raise ContractError(f"{at}.datasetObjectId is missing")
        if isinstance(object_id, int) and not isinstance(object_id, bool):
            object_id = str(object_id)
        if not isinstance(object_id, str) or not object_id:
            raise ContractError(f"{at}.datasetObjectId must be a non-empty string")
        data_object = raw.get("dataObject") or {}
        data_object = require_mapping(data_object, f"{at}.dataObject")
        annotations = raw.get("annotations")
        if annotations is None:
            annotations = []
        if not isinstance(annotations, list):
            problem = f"{at}.annotations must be a list, got {_kind(annotations)}"
            return cls(object_id, dict(data_object), (WorkerAnnotation("", None, None, problem),))
        return cls(
            dataset_object_id=object_id,
            data_object=dict(data_object),
            annotations=tuple(
                WorkerAnnotation.from_json(a, at=f"{at}.annotations[{j}]")
                for j, a in enumerate(annotations)
            ),
        )


def parse_payload(raw: str | bytes | Sequence[Any] | object) -> list[PayloadObject]:
    """Parse the batch file (its text, or the decoded JSON).

    Returns:
        One :class:`PayloadObject` per distinct ``datasetObjectId``, in first-seen order;
        annotations of a repeated element that equal one already merged are dropped.

    Raises:
        ContractError: not JSON, not an array, or an element that breaks the structure.
    """
    if isinstance(raw, str | bytes | bytearray):
        raw = load_json(raw, what="consolidation payload")
    if not isinstance(raw, list):
        raise ContractError(f"consolidation payload must be a JSON array, got {type(raw).__name__}")
    merged: dict[str, PayloadObject] = {}
    for i, element in enumerate(raw):
        obj = PayloadObject.from_json(element, at=f"payload[{i}]")
        seen = merged.get(obj.dataset_object_id)
        if seen is None:
            merged[obj.dataset_object_id] = obj
        else:
            repeated = set(seen.annotations)
            added = tuple(a for a in obj.annotations if a not in repeated)
            merged[obj.dataset_object_id] = PayloadObject(
                seen.dataset_object_id, seen.data_object, seen.annotations + added
            )
    return list(merged.values())
