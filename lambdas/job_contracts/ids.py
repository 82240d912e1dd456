"""A job's identity: its id, its labeling jobs' names, and the manifests that start it (pure).

* A *job* is one manifest dropped under ``<project>/`` of the intake bucket. Its id,
  :func:`job_id`, is a digest of ``(bucket, key, versionId, etag)``: the same upload always
  gives the same id (a replayed event starts nothing new), a new upload of the key a new one.
* A job runs one *labeling job* per manifest chunk, named :func:`labeling_job_name`
  ``<project>-<jobId>-<index>`` in the API's pattern ``[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}``.
  Labeling-job names are case-insensitive (Ground Truth lower-cases them in the ARNs of its
  events and Lambda requests), so every table key and S3 prefix derived from one uses
  :func:`name_key`, the lower-cased name.
* S3 keys in EventBridge events may arrive URL-encoded; :func:`event_object_key` decodes them.
"""

from __future__ import annotations

import hashlib
import json
import re
import urllib.parse

from gt_contracts import ContractError

__all__ = [
    "JOB_ID_CHARS",
    "MANIFEST_SUFFIXES",
    "MAX_JOB_NAME",
    "check_job_id",
    "event_object_key",
    "job_id",
    "labeling_job_name",
    "name_key",
]

#: Keys of the intake bucket that start a job.
MANIFEST_SUFFIXES = (".jsonl", ".manifest")
#: Hex characters of a job id: 64 bits of BLAKE2b, short enough for labeling-job names.
JOB_ID_CHARS = 16
#: ``LabelingJobName`` is at most 63 characters.
MAX_JOB_NAME = 63
_JOB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_NOT_ALNUM = re.compile(r"[^A-Za-z0-9]+")
_HASH_CHARS = 8


def job_id(bucket: str, key: str, version_id: str | None, etag: str | None) -> str:
    """The job id of one upload: 16 lower-case hex characters (letters and digits only).

    Example:
        >>> job_id("intake", "pets/a.jsonl", None, '"abc"')
        'd35302b6a9883764'
    """
    identity = json.dumps([bucket, key, version_id, etag], separators=(",", ":"))
    return hashlib.blake2b(identity.encode(), digest_size=JOB_ID_CHARS // 2).hexdigest()


def check_job_id(value: object, *, field: str = "jobId") -> str:
    """``value`` if it is a job id (1-128 letters, digits, ``.``, ``_``, ``-``).

    Raises:
        ContractError: naming ``field``.
    """
    if not isinstance(value, str) or not _JOB_ID.fullmatch(value):
        raise ContractError(
            f"{field} must be 1-128 letters, digits, '.', '_' or '-', starting with a letter "
            f"or digit: {value!r}"
        )
    return value


def labeling_job_name(project: str, job_id: str, index: int) -> str:
    """``<project>-<jobId>-<index>`` in the API's name pattern.

    Every character other than a letter or digit becomes ``-``, runs of ``-`` collapse to one
    and leading or trailing ``-`` go. A name longer than 63 characters keeps the project prefix
    (IAM scopes the workflow's SageMaker permissions to ``labeling-job/<project>-*``) and the
    index, cuts the job id and adds 8 hex characters of a BLAKE2b digest of the full job id, so
    two long job ids that share a prefix still name different jobs.

    Raises:
        ContractError: a project without a letter or digit, or too long for any name.
    """
    prefix = _clean(project)
    if not prefix:
        raise ContractError(f"project {project!r} has no letter or digit")
    suffix = str(index)
    middle = _clean(job_id)
    name = "-".join(part for part in (prefix, middle, suffix) if part)
    if len(name) <= MAX_JOB_NAME:
        return name
    digest = hashlib.blake2b(job_id.encode(), digest_size=_HASH_CHARS // 2).hexdigest()
    room = MAX_JOB_NAME - len(prefix) - len(suffix) - len(digest) - 3
    if room < 1:
        raise ContractError(f"project {project!r} is too long for a labeling-job name")
    middle = middle[:room].strip("-")
    return "-".join(part for part in (prefix, middle, digest, suffix) if part)


def _clean(text: str) -> str:
    return _NOT_ALNUM.sub("-", text).strip("-")


def name_key(job_name: str) -> str:
    """The form of a labeling-job name used in table keys and S3 prefixes (lower case).

    Ground Truth treats names case-insensitively and lower-cases them in ``labelingJobArn``
    and in its events' ARNs, so a name is stored and looked up in this form.
    """
    return job_name.lower()


def event_object_key(raw: str, exists: object = None) -> str:
    """The S3 key an EventBridge ``Object Created`` event names, decoded.

    S3 may URL-encode keys in event notifications (a space as ``+``, other characters as
    ``%XX``). The decoded key (``urllib.parse.unquote_plus``) is returned when decoding changes
    something and ``exists`` (a callable ``key -> bool``, when given) confirms it; otherwise the
    raw key, so a key that really contains ``+`` or ``%`` still names its object.
    """
    decoded = urllib.parse.unquote_plus(raw)
    if decoded == raw:
        return raw
    if callable(exists) and not exists(decoded) and exists(raw):
        return raw
    return decoded
