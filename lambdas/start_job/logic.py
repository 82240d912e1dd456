"""What a manifest dropped into the intake bucket starts (pure).

:class:`ManifestDrop` parses the EventBridge ``Object Created`` event of the intake bucket
(``source: aws.s3``). :func:`decide` turns it into either

* :class:`Start`: the key's first segment names a configured project, and the object ends
  ``.jsonl`` or ``.manifest``. The job id is :func:`job_contracts.ids.job_id`, a digest of
  ``(bucket, key, versionId, etag)``: the same upload (a duplicate or replayed event) always
  gives the same id, so the jobs table's conditional put and the execution name (the job id)
  both start it once only, while a new upload of the same key (a new version or etag)
  starts a new job;
* :class:`Reject`: no project prefix, an unknown project, or a key that is not a manifest.
  The reason is written to :func:`job_contracts.layout.rejection_key` in the results bucket
  and announced on the notification topic; nothing starts.

The event's key may be URL-encoded (S3 encodes keys in notifications: a space as ``+``); the
handler decodes it with :func:`job_contracts.ids.event_object_key` before deciding, so the job
id and the manifest read are those of the object really uploaded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gt_contracts import ContractError, ProjectConfig
from job_contracts.ids import MANIFEST_SUFFIXES, job_id
from job_contracts.steps import JobInput, WorkforcePrice

__all__ = ["DETAIL_TYPE", "SOURCE", "ManifestDrop", "Reject", "Start", "decide"]

SOURCE = "aws.s3"
DETAIL_TYPE = "Object Created"


@dataclass(frozen=True, slots=True)
class ManifestDrop:
    """An object created in the intake bucket."""

    bucket: str
    key: str
    version_id: str | None = None
    etag: str | None = None

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> ManifestDrop:
        """Parse the EventBridge event ``Object Created``.

        Raises:
            ContractError: not an S3 ``Object Created`` event, or no bucket name or key.
        """
        if event.get("source") != SOURCE or event.get("detail-type") != DETAIL_TYPE:
            raise ContractError(
                f"not an S3 Object Created event: {event.get('source')!r} "
                f"{event.get('detail-type')!r}"
            )
        detail = event.get("detail")
        if not isinstance(detail, Mapping):
            raise ContractError("detail must be an object")
        bucket = detail.get("bucket")
        obj = detail.get("object")
        name = bucket.get("name") if isinstance(bucket, Mapping) else None
        key = obj.get("key") if isinstance(obj, Mapping) else None
        if not isinstance(name, str) or not name:
            raise ContractError("detail.bucket.name must be a non-empty string")
        if not isinstance(key, str) or not key:
            raise ContractError("detail.object.key must be a non-empty string")
        assert isinstance(obj, Mapping)
        version = obj.get("version-id")
        # Real events spell it ``etag``; some emulators send ``eTag``.
        etag = obj.get("etag", obj.get("eTag"))
        return cls(
            name,
            key,
            version if isinstance(version, str) and version else None,
            etag if isinstance(etag, str) and etag else None,
        )


@dataclass(frozen=True, slots=True)
class Start:
    """Start the job ``job_id`` with :attr:`execution_input`."""

    job_id: str
    project: str
    execution_input: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Reject:
    """Start nothing; record why."""

    bucket: str
    key: str
    reason: str

    @property
    def project(self) -> str | None:
        """The project the key names (its first segment), or ``None`` when it names none."""
        project, sep, _ = self.key.partition("/")
        return project if sep and project else None

    def record(self) -> dict[str, str]:
        """The rejection record ``{"bucket", "key", "reason"}``."""
        return {"bucket": self.bucket, "key": self.key, "reason": self.reason}


def decide(drop: ManifestDrop, projects: Mapping[str, ProjectConfig]) -> Start | Reject:
    """Start a job for ``drop`` or reject it (see the module docstring)."""
    if not drop.key.endswith(MANIFEST_SUFFIXES):
        return Reject(drop.bucket, drop.key, "not a manifest: the key must end .jsonl or .manifest")
    project_name, sep, rest = drop.key.partition("/")
    if not sep or not project_name or not rest:
        return Reject(drop.bucket, drop.key, "no project prefix: put manifests at <project>/...")
    project = projects.get(project_name)
    if project is None:
        return Reject(drop.bucket, drop.key, f"project {project_name!r} is not configured")
    identifier = job_id(drop.bucket, drop.key, drop.version_id, drop.etag)
    workforce = project.workforce
    job = JobInput(
        bucket=drop.bucket,
        key=drop.key,
        version_id=drop.version_id,
        project=project.name,
        job_id=identifier,
        task_type=project.task_type,
        workforce=WorkforcePrice(
            workforce.kind,
            None if workforce.price_usd is None else float(workforce.price_usd),
        ),
        backend=project.backend,
    )
    return Start(identifier, project.name, job.to_json())
