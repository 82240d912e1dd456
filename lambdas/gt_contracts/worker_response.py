"""Worker-response files: ``annotations/worker-response/iteration-<N>/<datasetObjectId>/<ts>.json``.

Ground Truth keeps every worker submission under the job's output prefix, one file per data
object and iteration::

    {"answers": [{"acceptanceTime": "2024-05-03T13:58:02.114Z",
                  "answerContent": {"boundingBox": {...}},
                  "submissionTime": "2024-05-03T13:58:41.903Z",
                  "timeSpentInSeconds": 39.789,
                  "workerId": "private.us-east-1.8f3a2c1d9e7b6a54",
                  "workerMetadata": {"identityData": {"identityProviderType": "Cognito",
                                                      "issuer": "https://...", "sub": "..."}}}]}

Only ``workerId`` and ``answerContent`` are required per answer; times and identity are kept
when present (identity is only sent for private workforces). ``answerContent`` may arrive as a
JSON string, which is decoded (twice if needed). Errors raise :class:`ContractError` naming the
field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gt_contracts._json import load_json, optional_str, require_mapping, require_str
from gt_contracts.answers import decode_content
from gt_contracts.errors import AnswerError, ContractError

__all__ = [
    "WorkerIdentity",
    "WorkerResponse",
    "dataset_object_id_from_key",
    "parse_worker_response_file",
]

_RESPONSE_KEY = re.compile(r"(?:^|/)annotations/worker-response/iteration-\d+/(?P<id>[^/]+)/[^/]+$")


@dataclass(frozen=True, slots=True)
class WorkerIdentity:
    """``workerMetadata.identityData``: who the worker is in the workforce's identity provider."""

    identity_provider_type: str | None
    issuer: str | None
    sub: str | None


@dataclass(frozen=True, slots=True)
class WorkerResponse:
    """One answer from a worker-response file.

    Attributes:
        worker_id: the worker.
        answer_content: the form submission, keyed by crowd-element ``name``.
        acceptance_time: when the worker accepted the task (timezone-aware), if recorded.
        submission_time: when the worker submitted, if recorded.
        time_spent_seconds: ``timeSpentInSeconds``, if recorded.
        identity: the worker's identity metadata, for private workforces.
    """

    worker_id: str
    answer_content: Mapping[str, Any]
    acceptance_time: datetime | None = None
    submission_time: datetime | None = None
    time_spent_seconds: float | None = None
    identity: WorkerIdentity | None = field(default=None)

    @classmethod
    def from_json(cls, raw: object, *, at: str = "answers[0]") -> WorkerResponse:
        raw = require_mapping(raw, at)
        worker_id = require_str(raw, "workerId", f"{at}.")
        if raw.get("answerContent") is None:
            raise ContractError(f"{at}.answerContent is missing")
        try:
            content = decode_content(raw["answerContent"])
        except AnswerError as exc:
            raise ContractError(f"{at}.answerContent: {exc}") from None
        spent = raw.get("timeSpentInSeconds")
        if spent is not None and (isinstance(spent, bool) or not isinstance(spent, int | float)):
            raise ContractError(f"{at}.timeSpentInSeconds must be a number")
        return cls(
            worker_id=worker_id,
            answer_content=content,
            acceptance_time=_time(raw, "acceptanceTime", at),
            submission_time=_time(raw, "submissionTime", at),
            time_spent_seconds=float(spent) if spent is not None else None,
            identity=_identity(raw.get("workerMetadata"), at),
        )


def parse_worker_response_file(raw: str | bytes | object) -> tuple[WorkerResponse, ...]:
    """Parse a worker-response file (its text, or the decoded JSON).

    Raises:
        ContractError: not JSON, no ``answers`` list, or an answer that breaks the shape.
    """
    if isinstance(raw, str | bytes | bytearray):
        raw = load_json(raw, what="worker-response file")
    doc = require_mapping(raw, "worker-response file")
    answers = doc.get("answers")
    if not isinstance(answers, list):
        raise ContractError("worker-response file: 'answers' must be a list")
    return tuple(WorkerResponse.from_json(a, at=f"answers[{i}]") for i, a in enumerate(answers))


def dataset_object_id_from_key(key: str) -> str | None:
    """The ``datasetObjectId`` in a worker-response file's S3 key or path, if it has that form.

    Example:
        >>> dataset_object_id_from_key(
        ...     "out/job/annotations/worker-response/iteration-1/7/2024-05-03_13:58:41.json")
        '7'
    """
    match = _RESPONSE_KEY.search(key.replace("\\", "/"))
    return match["id"] if match else None


def _time(raw: Mapping[str, Any], key: str, at: str) -> datetime | None:
    value = optional_str(raw, key, f"{at}.")
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ContractError(f"{at}.{key} is not an ISO-8601 time: {value!r}") from None
    return parsed


def _identity(raw: object, at: str) -> WorkerIdentity | None:
    if raw is None:
        return None
    metadata = require_mapping(raw, f"{at}.workerMetadata")
    data = metadata.get("identityData")
    if data is None:
        return None
    data = require_mapping(data, f"{at}.workerMetadata.identityData")
    where = f"{at}.workerMetadata.identityData."
    return WorkerIdentity(
        identity_provider_type=optional_str(data, "identityProviderType", where),
        issuer=optional_str(data, "issuer", where),
        sub=optional_str(data, "sub", where),
    )
