"""LabelFlow's consolidation library: several workers' answers in, one label per item out.

Pure Python with numpy: no I/O, no AWS clients, no logging. Every task type returns an
outcome per item (a consensus with a confidence, or an explicit no-consensus with its reason)
and a skill estimate per worker. See ``docs/consolidation.md`` for the methods.
"""

from consolidation._common import (
    Annotation,
    Consensus,
    ConsolidationError,
    ConsolidationRun,
    Label,
    NoConsensus,
    Outcome,
    TaskId,
    WorkerId,
    WorkerSkill,
)
from consolidation.answers import ClassAnswers
from consolidation.calibration import expected_calibration_error
from consolidation.classification import ClassificationResult
from consolidation.dawid_skene import DawidSkene
from consolidation.hierarchical import HierarchicalDawidSkene
from consolidation.majority_vote import MajorityVote
from consolidation.methods import (
    CLASSIFICATION_METHODS,
    DEFAULT_METHOD,
    AutoMethod,
    ClassificationMethod,
    classification_method,
)
from consolidation.one_coin import OneCoinDawidSkene
from consolidation.weighted_vote import WeightedVote

__all__ = [
    "CLASSIFICATION_METHODS",
    "DEFAULT_METHOD",
    "Annotation",
    "AutoMethod",
    "ClassAnswers",
    "ClassificationMethod",
    "ClassificationResult",
    "Consensus",
    "ConsolidationError",
    "ConsolidationRun",
    "DawidSkene",
    "HierarchicalDawidSkene",
    "Label",
    "MajorityVote",
    "NoConsensus",
    "OneCoinDawidSkene",
    "Outcome",
    "TaskId",
    "WeightedVote",
    "WorkerId",
    "WorkerSkill",
    "classification_method",
    "expected_calibration_error",
]
