"""Named entities (text spans): cluster the workers' selections and vote boundaries and label.

A span is a labelled character range ``[start, end)`` in Unicode code points, as
``crowd-entity-annotation`` reports it (``startOffset``/``endOffset``, end exclusive).

Per item, in this order:

1. **Validate.** Offsets must be integers with ``0 <= start < end``; anything else raises
   :class:`~consolidation._common.ConsolidationError` naming the item.
2. **Input policies.** A worker answering the item twice (``on_duplicate``) or a label outside
   the declared ``labels`` (``on_unknown_label``) make the item an explicit
   :class:`~consolidation._common.NoConsensus` with the reason.
3. **Match.** Spans of different workers are compared by the Jaccard index of their character
   ranges (shared characters / characters in either). Clusters are grown by the same greedy
   complete linkage as boxes (:func:`consolidation._matching.cluster_annotations`): at most
   one span per worker, every two spans of a cluster at least ``overlap_threshold`` alike, ties
   taken in a canonical order (worker id, offsets, label) so that input order does not matter.
   Labels do not have to agree to match unless ``label_matching="require"``.
4. **Keep.** A cluster is kept when at least ``min_support`` of the item's workers selected a
   span in it.
5. **Boundaries.** The start is the mode of the cluster's starts when one value is chosen
   strictly more often than any other; otherwise the skill-weighted *lower* median (an offset
   some worker chose). The end is found the same way. Because every two spans in a cluster
   overlap, the start always falls before the end.
6. **Label.** The skill-weighted majority of the cluster's labels; a tie goes to the label
   first in vocabulary order (declared ``labels``, else natural order of the labels seen).
7. **Confidence.** An entity: ``(workers who selected it with the consensus label / item's
   workers) x mean Jaccard of the cluster's spans with the consensus span``. The item: the mean
   of its entity confidences; with no entity kept, the share of workers who selected nothing
   (1.0 when nobody selected anything).

Consensus entities may overlap or nest: when workers consistently mark a short entity inside a
longer one (say a city inside an organisation name), both clusters survive. Entities are sorted
by start offset, then end offset, then label order.

Worker skill: a worker's span is *matched* when it equals a consensus entity exactly (label,
start and end). Precision = matched / spans selected, recall = matched / consensus entities on
the worker's items (1.0 for an empty denominator), accuracy = F1; metrics add ``mean_jaccard``,
the mean Jaccard of the worker's spans in kept clusters with the consensus span.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from consolidation._common import (
    Consensus,
    ConsolidationError,
    ConsolidationRun,
    Label,
    TaskId,
    WorkerId,
    WorkerSkill,
    round_confidence,
)
from consolidation._grouping import (
    AnswerGroup,
    check_choice,
    check_input_policies,
)
from consolidation._matching import (
    Clusters,
    LabelMatching,
    MatchItem,
    cluster_annotations,
    combine_coordinates,
    consolidate_annotations,
    vote_labels,
)
from consolidation.answers import DuplicatePolicy, UnknownLabelPolicy

__all__ = ["Span", "SpanAnswer", "SpanConsolidator"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]


@dataclass(frozen=True, slots=True)
class Span:
    """One labelled character range ``[start, end)`` (Unicode code points, end exclusive)."""

    label: Label
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class SpanAnswer:
    """One worker's entities for one text (possibly none)."""

    task_id: TaskId
    worker_id: WorkerId
    spans: tuple[Span, ...]


@dataclass(frozen=True, kw_only=True)
class SpanConsolidator:
    """Jaccard clustering of text spans (see the module docstring).

    Attributes:
        overlap_threshold: minimum Jaccard index between any two spans of one cluster, in
            (0, 1].
        min_support: share of the item's workers that must have selected a span for it to be
            kept, in (0, 1].
        label_matching: ``"ignore"`` (default) matches spans on their range and votes the
            label; ``"require"`` only matches spans with the same label.
        on_duplicate: policy for a worker answering an item twice.
        on_unknown_label: policy for a label outside the declared ``labels``.

    Example:
        >>> a = SpanAnswer("t1", "w1", (Span("ORG", 0, 6),))
        >>> b = SpanAnswer("t1", "w2", (Span("ORG", 0, 6),))
        >>> SpanConsolidator().aggregate([a, b]).outcomes[0].value["entities"]
        [{'label': 'ORG', 'startOffset': 0, 'endOffset': 6, 'confidence': 1.0}]
    """

    overlap_threshold: float = 0.5
    min_support: float = 0.5
    label_matching: LabelMatching = "ignore"
    on_duplicate: DuplicatePolicy = "keep_last"
    on_unknown_label: UnknownLabelPolicy = "no_consensus"
    name: str = "span-clustering"

    def __post_init__(self) -> None:
        if not 0.0 < self.overlap_threshold <= 1.0:
            raise ConsolidationError(
                f"overlap_threshold must be in (0, 1], got {self.overlap_threshold}"
            )
        if not 0.0 < self.min_support <= 1.0:
            raise ConsolidationError(f"min_support must be in (0, 1], got {self.min_support}")
        check_choice("label_matching", self.label_matching, ("ignore", "require"))
        check_input_policies(self.on_duplicate, self.on_unknown_label)

    def aggregate(
        self,
        answers: Iterable[SpanAnswer],
        *,
        labels: Sequence[Label] | None = None,
        prior: Mapping[WorkerId, WorkerSkill] | None = None,
    ) -> ConsolidationRun:
        """Consolidate entity answers into one outcome per item and one skill per worker.

        Args:
            answers: one record per worker and item; empty ``spans`` means "no entity".
            labels: the declared entity labels; ``None`` accepts any label.
            prior: skill from earlier jobs, used as boundary-median and label-vote weights.

        Returns:
            Outcomes in order of first appearance. A consensus value is ``{"entities":
            [{"label", "startOffset", "endOffset", "confidence"}, ...]}``; the evidence of
            every outcome has ``"workers"`` and ``"spans_per_worker"`` (worker -> spans
            selected), and a consensus adds ``"clusters"``, ``"kept"`` and ``"dropped"``.

        Raises:
            ConsolidationError: invalid offsets, or an unknown label under
                ``on_unknown_label="error"``; the message names the item.
        """
        return consolidate_annotations(
            answers,
            annotations=lambda a: a.spans,
            validate=_span_offsets,
            consolidate=self._consolidate,
            count_key="spans_per_worker",
            image_size=None,
            labels=labels,
            prior=prior,
            on_duplicate=self.on_duplicate,
            on_unknown_label=self.on_unknown_label,
            closeness_metric="mean_jaccard",
            method=self.name,
            diagnostics={
                "overlap_threshold": self.overlap_threshold,
                "min_support": self.min_support,
            },
        )

    def _consolidate(self, item: MatchItem[SpanAnswer], bounds: IntArray) -> Consensus:
        n_workers = len(item.workers)
        owner, codes = item.owner, item.codes
        order = np.lexsort((codes, bounds[:, 1], bounds[:, 0], owner))
        owner, codes, bounds = owner[order], codes[order], bounds[order]
        ranges = bounds.astype(np.float64)
        jaccard = _jaccard(ranges[:, None, :], ranges[None, :, :])
        if self.label_matching == "require":
            jaccard[codes[:, None] != codes[None, :]] = -1.0
        clusters = cluster_annotations(
            jaccard,
            owner,
            threshold=self.overlap_threshold,
            n_workers=n_workers,
            min_support=self.min_support,
        )
        weight = item.weights[owner]
        entity = _boundaries(bounds, weight, clusters)
        winner = vote_labels(codes, weight, clusters, len(item.labels))
        of = clusters.of
        closeness = _jaccard(ranges, entity[of].astype(np.float64))
        in_kept = clusters.kept[of]
        agree = (codes == winner[of]) & in_kept
        agree_count = np.bincount(of, weights=agree, minlength=clusters.count)
        mean_jaccard = np.bincount(of, weights=closeness, minlength=clusters.count) / clusters.size
        entity_confidence = agree_count / n_workers * mean_jaccard
        exact = agree & (bounds == entity[of]).all(axis=1)

        kept = np.flatnonzero(clusters.kept)
        kept = kept[np.lexsort((winner[kept], entity[kept, 1], entity[kept, 0]))]
        entities = [
            {
                "label": item.labels[code],
                "startOffset": start,
                "endOffset": end,
                "confidence": round_confidence(conf),
            }
            for code, (start, end), conf in zip(
                winner[kept].tolist(),
                entity[kept].tolist(),
                entity_confidence[kept].tolist(),
                strict=True,
            )
        ]
        return item.consensus(
            {"entities": entities},
            clusters=clusters,
            kept=kept,
            confidence=entity_confidence,
            owner=owner,
            matched=exact,
            closeness=closeness,
            close=in_kept,
        )


def _jaccard(a: FloatArray, b: FloatArray) -> FloatArray:
    """Jaccard index of ranges ``a`` and ``b`` (last axis: start, end), broadcast."""
    inter = np.maximum(np.minimum(a[..., 1], b[..., 1]) - np.maximum(a[..., 0], b[..., 0]), 0.0)
    union = (a[..., 1] - a[..., 0]) + (b[..., 1] - b[..., 0]) - inter
    result: FloatArray = inter / union
    return result


def _boundaries(bounds: IntArray, weights: FloatArray, clusters: Clusters) -> IntArray:
    """``[clusters, 2]`` consensus start and end: the clear mode, else the lower median."""
    out = combine_coordinates(
        bounds.astype(np.float64), weights, clusters, policy="median", on_half="lower"
    ).astype(np.intp)
    if clusters.count == 0:
        return out
    of = clusters.of
    for j in (0, 1):
        # Runs of equal values inside each cluster, clusters in order.
        order = np.lexsort((bounds[:, j], of))
        group, value = of[order], bounds[order, j]
        starts = np.flatnonzero(
            np.concatenate(([True], (group[1:] != group[:-1]) | (value[1:] != value[:-1])))
        )
        run_length = np.diff(np.append(starts, group.shape[0]))
        run_group = group[starts]
        longest = np.zeros(clusters.count, dtype=np.intp)
        np.maximum.at(longest, run_group, run_length)
        is_top = run_length == longest[run_group]
        clear = np.bincount(run_group, weights=is_top, minlength=clusters.count) == 1
        top_runs = np.flatnonzero(is_top & clear[run_group])
        out[run_group[top_runs], j] = value[starts[top_runs]]
    return out


def _span_offsets(group: AnswerGroup[SpanAnswer]) -> IntArray:
    """``[spans, 2]`` start and end of the item's spans, validated."""
    rows = [(s.start, s.end) for a in group.answers for s in a.spans]
    if all(type(x) is int for row in rows for x in row):
        bounds = np.asarray(rows, dtype=np.int64).reshape(-1, 2)
        if ((bounds[:, 0] >= 0) & (bounds[:, 0] < bounds[:, 1])).all():
            return bounds.astype(np.intp)
    for answer in group.answers:
        for span in answer.spans:
            try:
                if isinstance(span.start, bool) or isinstance(span.end, bool):
                    raise TypeError
                start, end = operator.index(span.start), operator.index(span.end)
            except TypeError:
                start, end = -1, -1
            if not 0 <= start < end:
                raise ConsolidationError(
                    f"worker {answer.worker_id!r} selected an invalid span "
                    f"(start={span.start!r}, end={span.end!r}); offsets must be integers with "
                    "0 <= start < end",
                    task_id=group.task_id,
                )
    return np.asarray(rows, dtype=np.int64).reshape(-1, 2).astype(np.intp)
