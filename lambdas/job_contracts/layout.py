"""Every S3 key and prefix of a job, in one place (pure).

Results bucket (``RESULTS_BUCKET``), per job (:class:`JobLayout`)::

    jobs/<jobId>/manifest.clean.jsonl        lines that passed validation
    jobs/<jobId>/rejects.jsonl               one {"line", "reason", ...} per rejected line
    jobs/<jobId>/validation.json             what Validate counted (lines read, accepted,
                                             rejected by reason, blank; the rejects' URI)
    jobs/<jobId>/chunks/<index>.manifest     the clean lines of one labeling job
    jobs/<jobId>/label-categories.json       LabelCategoryConfigS3Uri of its labeling jobs
    jobs/<jobId>/gt/                         S3OutputPath: Ground Truth's (and the Label
                                             Studio backend's) output, one folder per
                                             labeling job (:class:`LabelingJobFolder`)
    jobs/<jobId>/output/                     what the job publishes: output.manifest,
                                             rejects.jsonl, exports/, report.json, report.html
    rejected/<key>.json                      why a dropped object started no job

Artifacts bucket (``ARTIFACTS_BUCKET``)::

    templates/<project>.liquid.html          Ground Truth worker template
    templates/<project>.labelstudio.xml      Label Studio config (``.image``/``.text`` before
                                             ``.labelstudio`` for free text and numbers)
    skills/<project>/<jobName>/<digest>.json what one consolidation batch learned of worker
                                             skill (the carried skill is in the skill store)
    masks/<project>/<jobName>/               masks of batches outside Ground Truth's layout
    alerts/<project>/<jobName>/<worker>.json one per worker flagged in a labeling job (the
                                             worker id URL-quoted; job_contracts.worker_alerts)

Audit bucket (``AUDIT_BUCKET``)::

    audit/<project>/<jobId>/<jobName>.jsonl  one record per worker answer (Object Lock)

Inside a labeling job's folder (:class:`LabelingJobFolder`), Ground Truth's own layout::

    annotations/worker-response/iteration-1/<datasetObjectId>/<stamp>.json
    annotations/consolidated-annotation/consolidation-request/iteration-1/<stamp>.json
    annotations/consolidated-annotation/consolidation-response/iteration-1/<stamp>.json
    annotations/consolidated-annotation/output/<datasetObjectId>_<stamp>.png
    manifests/output/output.manifest

Labeling-job names in keys are lower-cased (:func:`job_contracts.ids.name_key`): Ground Truth
reports them lower-cased.
"""

from __future__ import annotations

import hashlib
import urllib.parse
from dataclasses import dataclass
from typing import Literal

from job_contracts.ids import name_key

__all__ = [
    "ITERATION",
    "OUTPUT_MANIFEST",
    "JobLayout",
    "LabelingJobFolder",
    "alert_key",
    "alerts_prefix",
    "audit_key",
    "audit_prefix",
    "labelstudio_config_key",
    "masks_prefix",
    "payload_digest",
    "rejection_key",
    "skills_key",
    "skills_prefix",
    "template_key",
]

#: The only iteration LabelFlow's labeling jobs run.
ITERATION = "iteration-1"
#: A labeling job's output manifest, relative to its folder.
OUTPUT_MANIFEST = "manifests/output/output.manifest"
_CONSOLIDATED = "annotations/consolidated-annotation"


@dataclass(frozen=True, slots=True)
class JobLayout:
    """The keys of one job in the results bucket."""

    job_id: str

    @property
    def prefix(self) -> str:
        """``jobs/<jobId>/``."""
        return f"jobs/{self.job_id}/"

    @property
    def clean_manifest(self) -> str:
        return f"{self.prefix}manifest.clean.jsonl"

    @property
    def rejects(self) -> str:
        return f"{self.prefix}rejects.jsonl"

    @property
    def validation(self) -> str:
        """Validate's counts (:class:`job_contracts.steps.ValidationSummary`), as JSON."""
        return f"{self.prefix}validation.json"

    def chunk(self, index: int) -> str:
        return f"{self.prefix}chunks/{index}.manifest"

    @property
    def label_categories(self) -> str:
        return f"{self.prefix}label-categories.json"

    @property
    def ground_truth_output(self) -> str:
        """``S3OutputPath`` of the job's labeling jobs (a prefix)."""
        return f"{self.prefix}gt/"

    def labeling_job(self, job_name: str) -> LabelingJobFolder:
        """The folder Ground Truth writes one labeling job's output into."""
        return LabelingJobFolder(f"{self.ground_truth_output}{job_name}")

    @property
    def output_prefix(self) -> str:
        """What the job publishes."""
        return f"{self.prefix}output/"

    def output(self, name: str) -> str:
        return f"{self.output_prefix}{name}"


@dataclass(frozen=True, slots=True)
class LabelingJobFolder:
    """Ground Truth's layout under ``<S3OutputPath>/<jobName>`` (``folder``, no trailing ``/``).

    ``folder`` is a key (no bucket) or an ``s3://`` URI; every member keeps that form.
    """

    folder: str

    @classmethod
    def of_output_manifest(cls, uri: str) -> LabelingJobFolder:
        """The folder of an output manifest's URI (any other file: the folder it sits in)."""
        suffix = "/" + OUTPUT_MANIFEST
        if uri.endswith(suffix):
            return cls(uri.removesuffix(suffix))
        return cls(uri.rsplit("/", 1)[0])

    @property
    def output_manifest(self) -> str:
        return f"{self.folder}/{OUTPUT_MANIFEST}"

    @property
    def worker_responses(self) -> str:
        """Prefix of every worker-response file."""
        return f"{self.folder}/annotations/worker-response/"

    def worker_response(self, dataset_object_id: str, stamp: str) -> str:
        return f"{self.worker_responses}{ITERATION}/{dataset_object_id}/{stamp}.json"

    @property
    def consolidation_requests(self) -> str:
        """Prefix of every consolidation request (one per batch)."""
        return f"{self.folder}/{_CONSOLIDATED}/consolidation-request/"

    def consolidation_request(self, stamp: str) -> str:
        return f"{self.consolidation_requests}{ITERATION}/{stamp}.json"

    def consolidation_response(self, stamp: str) -> str:
        return f"{self.folder}/{_CONSOLIDATED}/consolidation-response/{ITERATION}/{stamp}.json"

    @property
    def consolidated_output(self) -> str:
        """Prefix of segmentation masks and other consolidated files."""
        return f"{self.folder}/{_CONSOLIDATED}/output/"


def rejection_key(key: str) -> str:
    """Where the rejection of the intake object ``key`` is written in the results bucket."""
    return f"rejected/{key}.json"


def template_key(project: str) -> str:
    """The project's Ground Truth worker template in the artifacts bucket."""
    return f"templates/{project}.liquid.html"


def labelstudio_config_key(project: str, item_kind: Literal["image", "text"] | None) -> str:
    """The project's Label Studio config; ``item_kind`` for task types that take either kind."""
    if item_kind is None:
        return f"templates/{project}.labelstudio.xml"
    return f"templates/{project}.{item_kind}.labelstudio.xml"


def skills_prefix(project: str, job_name: str) -> str:
    """``skills/<project>/<jobName>/``: the batch skill documents of one labeling job."""
    return f"skills/{project}/{name_key(job_name)}/"


def payload_digest(payload_uri: str) -> str:
    """First 16 hex digits of the SHA-256 of a consolidation request's URI (one per batch)."""
    return hashlib.sha256(payload_uri.encode("utf-8")).hexdigest()[:16]


def skills_key(project: str, job_name: str, payload_uri: str) -> str:
    """``skills/<project>/<jobName>/<digest>.json``: the skill of one consolidation batch."""
    return f"{skills_prefix(project, job_name)}{payload_digest(payload_uri)}.json"


def masks_prefix(project: str, job_name: str) -> str:
    """Masks of batches whose request is outside Ground Truth's layout (artifacts bucket)."""
    return f"masks/{project}/{name_key(job_name)}/"


def alerts_prefix(project: str, job_name: str) -> str:
    """``alerts/<project>/<jobName>/``: the workers flagged in one labeling job."""
    return f"alerts/{project}/{name_key(job_name)}/"


def alert_key(project: str, job_name: str, worker_id: str) -> str:
    """``alerts/<project>/<jobName>/<worker>.json``, the worker id URL-quoted (no ``/``)."""
    return f"{alerts_prefix(project, job_name)}{urllib.parse.quote(worker_id, safe='')}.json"


def audit_prefix(project: str, job_id: str) -> str:
    """The folder of one job's audit logs in the audit bucket."""
    return f"audit/{project}/{job_id}/"


def audit_key(project: str, job_id: str, job_name: str) -> str:
    """``audit/<project>/<jobId>/<jobName>.jsonl``."""
    return f"{audit_prefix(project, job_id)}{job_name}.jsonl"
