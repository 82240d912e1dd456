"""The events Ground Truth sends to the pre- and post-annotation Lambdas.

Both parsers accept the documented fields, ignore any other key (Ground Truth and AWS samples
add undocumented ones such as ``outputConfig``), and raise :class:`ContractError` naming the
first missing or invalid field. ``version`` is kept as sent and never checked: the docs show
``2018-10-16`` while AWS's own fixtures use ``2018-10-06``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gt_contracts._json import load_json, optional_str, require_mapping, require_str
from gt_contracts.errors import ContractError
from gt_contracts.projects import SourceKind
from gt_contracts.uris import job_name_from_arn, parse_s3_uri

__all__ = ["PostAnnotationEvent", "PreAnnotationEvent"]

SOURCE_REF = "source-ref"
SOURCE = "source"


@dataclass(frozen=True, kw_only=True)
class PreAnnotationEvent:
    """``{"version", "labelingJobArn", "dataObject"}``: one manifest line to prepare.

    Attributes:
        version: Ground Truth's version string, as sent (may be ``None``).
        labeling_job_arn: the job's ARN.
        job_name: the job name from the ARN.
        source_kind: ``"s3"`` for a ``source-ref`` line, ``"text"`` for a ``source`` line.
        task_object: the S3 URI (``source-ref``) or the text itself (``source``).
        metadata: every other key of the manifest line, untouched.
    """

    version: str | None
    labeling_job_arn: str
    job_name: str
    source_kind: SourceKind
    task_object: str
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_event(cls, event: object) -> PreAnnotationEvent:
        """Parse the Lambda event.

        Raises:
            ContractError: no ``labelingJobArn``/``dataObject``, or a ``dataObject`` without
                exactly one usable ``source-ref`` (an S3 URI) or ``source`` (a non-empty string).
        """
        event = require_mapping(event, "event")
        version = optional_str(event, "version", "")
        arn = require_str(event, "labelingJobArn", "")
        job_name = job_name_from_arn(arn)
        if "dataObject" not in event or event["dataObject"] is None:
            raise ContractError("dataObject is missing")
        data_object = require_mapping(event["dataObject"], "dataObject")
        has_ref, has_text = SOURCE_REF in data_object, SOURCE in data_object
        if has_ref and has_text:
            raise ContractError("dataObject has both 'source-ref' and 'source'; keep one")
        if not has_ref and not has_text:
            raise ContractError(
                f"dataObject has neither 'source-ref' nor 'source' (keys: {sorted(data_object)})"
            )
        kind: SourceKind
        if has_ref:
            kind, task_object = "s3", data_object[SOURCE_REF]
            parse_s3_uri(task_object, field=f"dataObject.{SOURCE_REF}")
        else:
            kind, task_object = "text", data_object[SOURCE]
            if not isinstance(task_object, str) or not task_object:
                raise ContractError("dataObject.source must be a non-empty string")
        metadata = {k: v for k, v in data_object.items() if k not in (SOURCE_REF, SOURCE)}
        return cls(
            version=version,
            labeling_job_arn=arn,
            job_name=job_name,
            source_kind=kind,
            task_object=task_object,
            metadata=metadata,
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> PreAnnotationEvent:
        return cls.from_event(load_json(text, what="pre-annotation event"))


@dataclass(frozen=True, kw_only=True)
class PostAnnotationEvent:
    """The consolidation request: which job, which label attribute, where the batch is.

    Attributes:
        version: Ground Truth's version string, as sent (may be ``None``).
        labeling_job_arn: the job's ARN.
        job_name: the job name from the ARN.
        label_categories: the job's label names in order, or ``None`` (console-created jobs
            may send ``null``).
        label_attribute_name: the key the response must use for every label value.
        role_arn: the job's execution role.
        payload_uri: S3 URI of the batch file (a JSON array, see :mod:`gt_contracts.payload`).
    """

    version: str | None
    labeling_job_arn: str
    job_name: str
    label_categories: tuple[str, ...] | None
    label_attribute_name: str
    role_arn: str
    payload_uri: str

    @property
    def payload_location(self) -> tuple[str, str]:
        """``(bucket, key)`` of the batch file."""
        return parse_s3_uri(self.payload_uri, field="payload.s3Uri")

    @classmethod
    def from_event(cls, event: object) -> PostAnnotationEvent:
        """Parse the Lambda event.

        Raises:
            ContractError: a missing ``labelingJobArn``, ``labelAttributeName``, ``roleArn`` or
                ``payload.s3Uri``, an invalid payload URI, or ``labelCategories`` that is
                neither ``null`` nor a list of strings.
        """
        event = require_mapping(event, "event")
        version = optional_str(event, "version", "")
        arn = require_str(event, "labelingJobArn", "")
        job_name = job_name_from_arn(arn)
        label_attribute_name = require_str(event, "labelAttributeName", "")
        role_arn = require_str(event, "roleArn", "")
        if "payload" not in event or event["payload"] is None:
            raise ContractError("payload is missing")
        payload = require_mapping(event["payload"], "payload")
        payload_uri = require_str(payload, "s3Uri", "payload.")
        parse_s3_uri(payload_uri, field="payload.s3Uri")
        return cls(
            version=version,
            labeling_job_arn=arn,
            job_name=job_name,
            label_categories=_label_categories(event.get("labelCategories")),
            label_attribute_name=label_attribute_name,
            role_arn=role_arn,
            payload_uri=payload_uri,
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> PostAnnotationEvent:
        return cls.from_event(load_json(text, what="post-annotation event"))


def _label_categories(raw: object) -> tuple[str, ...] | None:
    if raw is None:
        return None
    if not isinstance(raw, list):
        raise ContractError(
            f"labelCategories must be a list of strings or null, got {type(raw).__name__}"
        )
    for i, label in enumerate(raw):
        if not isinstance(label, str):
            raise ContractError(f"labelCategories[{i}] must be a string, got {label!r}")
    return tuple(raw)
