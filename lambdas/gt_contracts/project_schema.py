"""What a LabelFlow project may be: its vocabulary and Ground Truth's limits, defined once (pure).

The stage configuration (``infra/config.py``, checked at synthesis) and the Lambdas' project
parser (:mod:`gt_contracts.projects`, checked at run time) both read these definitions:

* task types (:data:`TASK_TYPES`), which of them choose a consolidation method
  (:data:`METHOD_TASK_TYPES`, with :data:`METHODS`) and which items they label
  (:data:`SOURCE_KINDS`, :data:`IMAGE_TASK_TYPES`, :data:`TEXT_TASK_TYPES`);
* label rules: :func:`min_labels`, :func:`max_labels`, :data:`MAX_LABEL_CHARS`;
* workforce kinds (:data:`WORKFORCE_KINDS`) and backends (:data:`BACKENDS`);
* ``CreateLabelingJob`` limits: workers per item, task time limit, task availability per
  workforce (:data:`MAX_TASK_AVAILABILITY_SECONDS`, :data:`DEFAULT_TASK_AVAILABILITY_SECONDS`),
  concurrent tasks, and the Mechanical Turk prices per task (:data:`PUBLIC_TASK_PRICES_USD`);
* label-attribute names: a project's name is its jobs' ``LabelAttributeName``
  (:func:`label_attribute_problem`);
* worker alerts: what may be done about a flagged worker (:data:`WORKER_REMOVALS`) and how
  many answers a flag needs by default (:data:`DEFAULT_MIN_WORKER_ANSWERS`).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Literal, get_args

__all__ = [
    "BACKENDS",
    "CLASSIFICATION_TASK_TYPES",
    "DEFAULT_MAX_CONCURRENT_TASKS",
    "DEFAULT_MIN_WORKER_ANSWERS",
    "DEFAULT_TASK_AVAILABILITY_SECONDS",
    "DEFAULT_TASK_TIME_LIMIT_SECONDS",
    "IMAGE_TASK_TYPES",
    "MAX_CONCURRENT_TASKS",
    "MAX_LABELS_LIMITED",
    "MAX_LABEL_CHARS",
    "MAX_TASK_AVAILABILITY_SECONDS",
    "MAX_TASK_TIME_LIMIT_SECONDS",
    "MAX_WORKERS_PER_ITEM",
    "METHODS",
    "METHOD_TASK_TYPES",
    "MIN_TASK_AVAILABILITY_SECONDS",
    "MIN_TASK_TIME_LIMIT_SECONDS",
    "MULTILABEL_TASK_TYPES",
    "PUBLIC_TASK_PRICES_USD",
    "RESERVED_LABEL_ATTRIBUTES",
    "SOURCE_KINDS",
    "TASK_TYPES",
    "TEXT_TASK_TYPES",
    "UNLABELED_TASK_TYPES",
    "WORKER_REMOVALS",
    "WORKFORCE_KINDS",
    "Backend",
    "Method",
    "SourceKind",
    "TaskType",
    "WorkerRemoval",
    "WorkforceKind",
    "label_attribute_problem",
    "max_labels",
    "min_labels",
]

TaskType = Literal[
    "image-classification",
    "text-classification",
    "image-classification-multilabel",
    "text-classification-multilabel",
    "bounding-box",
    "semantic-segmentation",
    "named-entity",
    "free-text",
    "numeric",
    "keypoint",
]
TASK_TYPES: tuple[TaskType, ...] = get_args(TaskType)

#: Single-label classification.
CLASSIFICATION_TASK_TYPES: frozenset[TaskType] = frozenset(
    {"image-classification", "text-classification"}
)
#: Multi-label classification (a classification method runs once per label).
MULTILABEL_TASK_TYPES: frozenset[TaskType] = frozenset(
    {"image-classification-multilabel", "text-classification-multilabel"}
)
#: The task types with a choice of consolidation method; every other task type has one
#: consolidation rule, selected with ``"auto"``.
METHOD_TASK_TYPES: frozenset[TaskType] = CLASSIFICATION_TASK_TYPES | MULTILABEL_TASK_TYPES
#: Free text and numeric answers have no label vocabulary.
UNLABELED_TASK_TYPES: frozenset[TaskType] = frozenset({"free-text", "numeric"})

Method = Literal[
    "auto",
    "majority-vote",
    "weighted-vote",
    "dawid-skene",
    "one-coin-dawid-skene",
    "hierarchical-dawid-skene",
]
METHODS: tuple[Method, ...] = get_args(Method)

SourceKind = Literal["s3", "text"]

#: Which manifest lines each task type can label: ``"s3"`` for ``source-ref`` lines,
#: ``"text"`` for ``source`` lines.
SOURCE_KINDS: Mapping[TaskType, frozenset[SourceKind]] = {
    "image-classification": frozenset({"s3"}),
    "text-classification": frozenset({"text"}),
    "image-classification-multilabel": frozenset({"s3"}),
    "text-classification-multilabel": frozenset({"text"}),
    "bounding-box": frozenset({"s3"}),
    "semantic-segmentation": frozenset({"s3"}),
    "named-entity": frozenset({"text"}),
    "free-text": frozenset({"s3", "text"}),
    "numeric": frozenset({"s3", "text"}),
    "keypoint": frozenset({"s3"}),
}
#: The task types that label images only (``source-ref`` lines).
IMAGE_TASK_TYPES: frozenset[TaskType] = frozenset(
    task_type for task_type, kinds in SOURCE_KINDS.items() if kinds == {"s3"}
)
#: The task types that label texts only (``source`` lines).
TEXT_TASK_TYPES: frozenset[TaskType] = frozenset(
    task_type for task_type, kinds in SOURCE_KINDS.items() if kinds == {"text"}
)

# Ground Truth's limits on label categories (CreateLabelingJob, label category configuration):
# names are unique and at most 256 characters; classification needs at least two labels;
# multi-label classification and bounding boxes allow at most 50.
MAX_LABEL_CHARS = 256
MAX_LABELS_LIMITED = 50
_LIMITED_LABEL_TASK_TYPES: frozenset[TaskType] = frozenset(
    {"image-classification-multilabel", "text-classification-multilabel", "bounding-box"}
)


def min_labels(task_type: TaskType) -> int:
    """How many labels a project of ``task_type`` needs at least.

    Example:
        >>> min_labels("text-classification"), min_labels("keypoint"), min_labels("numeric")
        (2, 1, 0)
    """
    if task_type in METHOD_TASK_TYPES:
        return 2
    if task_type in UNLABELED_TASK_TYPES:
        return 0
    return 1


def max_labels(task_type: TaskType) -> int | None:
    """How many labels a project of ``task_type`` may have at most (``None``: no limit)."""
    return MAX_LABELS_LIMITED if task_type in _LIMITED_LABEL_TASK_TYPES else None


WorkforceKind = Literal["private", "vendor", "public"]
WORKFORCE_KINDS: tuple[WorkforceKind, ...] = get_args(WorkforceKind)

Backend = Literal["ground-truth", "labelstudio"]
BACKENDS: tuple[Backend, ...] = get_args(Backend)

#: What happens to a worker flagged mid-job on Label Studio, besides the alert: ``"none"``;
#: ``"project"``, taken off the job's Label Studio project (project membership, a Label Studio
#: Enterprise feature; Community Edition has none and the worker stays); ``"organization"``,
#: taken out of the Label Studio organization (every project of that organization, on any
#: edition). Ground Truth offers no way to take a worker off a running job.
WorkerRemoval = Literal["none", "project", "organization"]
WORKER_REMOVALS: tuple[WorkerRemoval, ...] = get_args(WorkerRemoval)
#: Answers a worker needs before an accuracy estimate can flag them, unless a project says.
DEFAULT_MIN_WORKER_ANSWERS = 20

#: NumberOfHumanWorkersPerDataObject is 1 to 9.
MAX_WORKERS_PER_ITEM = 9
#: TaskTimeLimitInSeconds: 30 s to 8 h for custom tasks; LabelFlow's default is 10 minutes.
MIN_TASK_TIME_LIMIT_SECONDS = 30
MAX_TASK_TIME_LIMIT_SECONDS = 28_800
DEFAULT_TASK_TIME_LIMIT_SECONDS = 600
#: TaskAvailabilityLifetimeInSeconds: at least a minute; Mechanical Turk allows 12 hours
#: (default 6), private and vendor teams 30 days (LabelFlow's default for those: 10 days).
MIN_TASK_AVAILABILITY_SECONDS = 60
MAX_TASK_AVAILABILITY_SECONDS: Mapping[WorkforceKind, int] = {
    "public": 43_200,
    "private": 2_592_000,
    "vendor": 2_592_000,
}
DEFAULT_TASK_AVAILABILITY_SECONDS: Mapping[WorkforceKind, int] = {
    "public": 21_600,
    "private": 864_000,
    "vendor": 864_000,
}
#: MaxConcurrentTaskCount: the service's default limit is 1,000 tasks at once; up to 5,000
#: once AWS Support has raised the account's limit (a project opts in to more than 1,000).
DEFAULT_MAX_CONCURRENT_TASKS = 1_000
MAX_CONCURRENT_TASKS = 5_000

# Ground Truth's allowed Mechanical Turk prices per task in USD (PublicWorkforceTaskPrice).
# The built-in task types have lists of their own (bounding boxes from 0.036, semantic
# segmentation from 0.840), but those apply to built-in jobs only: LabelFlow's labeling jobs are
# all custom workflows (its own template and Lambdas), which take the custom list, the
# bounding-box prices plus 0.012 and 0.024, whatever the task type.
PUBLIC_TASK_PRICES_USD: tuple[Decimal, ...] = tuple(
    Decimal(p)
    for p in (
        "0.012", "0.024", "0.036", "0.048", "0.060", "0.072", "0.120", "0.240",
        "0.360", "0.480", "0.600", "0.720", "0.840", "0.960", "1.080", "1.200",
    )
)  # fmt: skip

#: Manifest attributes a label attribute must not take.
RESERVED_LABEL_ATTRIBUTES = frozenset({"source", "source-ref"})


def label_attribute_problem(name: str) -> str | None:
    """Why ``name`` cannot be a custom labeling job's ``LabelAttributeName``; ``None`` if it can.

    A project's name is its jobs' label attribute: the key of each label in the output
    manifest, next to ``<name>-metadata``. ``CreateLabelingJob`` refuses a name ending in
    ``-metadata``, and a name ending in ``-ref`` unless the job is one of the built-in task
    types that require it (semantic segmentation, video frames, 3D point clouds); LabelFlow's
    jobs are custom workflows, semantic segmentation included, so ``-ref`` is refused for every
    task type. ``source`` and ``source-ref`` are the item's own attributes in the manifest.

    Example:
        >>> label_attribute_problem("cells") is None, label_attribute_problem("cells-ref") is None
        (True, False)
    """
    if name in RESERVED_LABEL_ATTRIBUTES:
        return "'source' and 'source-ref' hold each manifest line's item"
    if name.endswith("-metadata"):
        return (
            "Ground Truth writes '<label attribute>-metadata' next to each label, so no label "
            "attribute ends in '-metadata'"
        )
    if name.endswith("-ref"):
        return (
            "a label attribute ending in '-ref' is reserved for Ground Truth's built-in "
            "segmentation, video and 3D jobs; LabelFlow's jobs are custom workflows, whose "
            "label attribute must not end in '-ref'"
        )
    return None
