"""Typed models of what SageMaker Ground Truth sends to, and expects from, LabelFlow's Lambdas.

Standard library only (importing it is cheap, and it runs in the Lambdas and in the CLI alike):
no AWS clients, no I/O. Parsers raise :class:`ContractError` naming the missing or invalid
field; answer extractors raise :class:`AnswerError` with the reason a worker's answer cannot be
read.
"""

from gt_contracts.answers import (
    Answer,
    AnswerBox,
    AnswerKeypoint,
    AnswerSpan,
    BoxesAnswer,
    KeypointsAnswer,
    SegmentationAnswer,
    answer_from_content,
    boxes_from_content,
    class_label_from_content,
    class_labels_from_content,
    decode_content,
    entities_from_content,
    free_text_from_content,
    keypoints_from_content,
    number_from_content,
    segmentation_from_content,
)
from gt_contracts.errors import AnswerError, ContractError
from gt_contracts.events import PostAnnotationEvent, PreAnnotationEvent
from gt_contracts.payload import PayloadObject, WorkerAnnotation, parse_payload
from gt_contracts.projects import (
    CLASSIFICATION_TASK_TYPES,
    MULTILABEL_TASK_TYPES,
    PROJECTS_ENV,
    SOURCE_KINDS,
    TASK_TYPES,
    ProjectConfig,
    SourceKind,
    TaskType,
    WorkerAlert,
    Workforce,
    parse_projects,
    resolve_project,
)
from gt_contracts.responses import ConsolidatedAnnotation, PreAnnotationResponse
from gt_contracts.task_input import (
    REVIEW_TASK_INPUT_KEYS,
    TASK_INPUT_KEYS,
    Prepared,
    build_review_input,
    build_task_input,
    gold_key,
    line_problem,
    prepare,
)
from gt_contracts.uris import job_name_from_arn, parse_s3_uri, s3_uri
from gt_contracts.worker_response import (
    WorkerIdentity,
    WorkerResponse,
    dataset_object_id_from_key,
    parse_worker_response_file,
)

__all__ = [
    "CLASSIFICATION_TASK_TYPES",
    "MULTILABEL_TASK_TYPES",
    "PROJECTS_ENV",
    "REVIEW_TASK_INPUT_KEYS",
    "SOURCE_KINDS",
    "TASK_INPUT_KEYS",
    "TASK_TYPES",
    "Answer",
    "AnswerBox",
    "AnswerError",
    "AnswerKeypoint",
    "AnswerSpan",
    "BoxesAnswer",
    "ConsolidatedAnnotation",
    "ContractError",
    "KeypointsAnswer",
    "PayloadObject",
    "PostAnnotationEvent",
    "PreAnnotationEvent",
    "PreAnnotationResponse",
    "Prepared",
    "ProjectConfig",
    "SegmentationAnswer",
    "SourceKind",
    "TaskType",
    "WorkerAlert",
    "WorkerAnnotation",
    "WorkerIdentity",
    "WorkerResponse",
    "Workforce",
    "answer_from_content",
    "boxes_from_content",
    "build_review_input",
    "build_task_input",
    "class_label_from_content",
    "class_labels_from_content",
    "dataset_object_id_from_key",
    "decode_content",
    "entities_from_content",
    "free_text_from_content",
    "gold_key",
    "job_name_from_arn",
    "keypoints_from_content",
    "line_problem",
    "number_from_content",
    "parse_payload",
    "parse_projects",
    "parse_s3_uri",
    "parse_worker_response_file",
    "prepare",
    "resolve_project",
    "s3_uri",
    "segmentation_from_content",
]
