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
  concurrent tasks, and the Mechanical Turk prices per task (:data:`PUBLIC_TASK_PRICES_USD`).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Literal, get_args

__all__ = [
    "BACKENDS",
    "CLASSIFICATION_TASK_TYPES",
    "DEFAULT_MAX_CONCURRENT_TASKS",
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
    "SOURCE_KINDS",
    "TASK_TYPES",
    "TEXT_TASK_TYPES",
    "UNLABELED_TASK_TYPES",
    "WORKFORCE_KINDS",
    "Backend",
    "Method",
    "SourceKind",
    "TaskType",
    "WorkforceKind",
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
#: once AWS Support has raised the account's limit.
DEFAULT_MAX_CONCURRENT_TASKS = 1_000
MAX_CONCURRENT_TASKS = 5_000

# Ground Truth's allowed Mechanical Turk prices per task in USD (PublicWorkforceTaskPrice):
# bounding boxes take the first list, semantic segmentation the last, and classification and
# every other custom task the bounding-box prices plus 0.012 and 0.024.
_BOX_PRICES = tuple(
    Decimal(p)
    for p in (
        "0.036", "0.048", "0.060", "0.072", "0.120", "0.240", "0.360",
        "0.480", "0.600", "0.720", "0.840", "0.960", "1.080", "1.200",
    )
)  # fmt: skip
_SEGMENTATION_PRICES = tuple(Decimal(p) for p in ("0.840", "0.960", "1.080", "1.200"))
_CUSTOM_PRICES = (Decimal("0.012"), Decimal("0.024"), *_BOX_PRICES)
PUBLIC_TASK_PRICES_USD: Mapping[TaskType, tuple[Decimal, ...]] = {
    task_type: {"bounding-box": _BOX_PRICES, "semantic-segmentation": _SEGMENTATION_PRICES}.get(
        task_type, _CUSTOM_PRICES
    )
    for task_type in TASK_TYPES
}
