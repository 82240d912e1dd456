"""Steps the annotation-matching task types share: boxes, spans and keypoints.

Each of :mod:`consolidation.boxes`, :mod:`consolidation.spans` and :mod:`consolidation.keypoints`
turns one item's annotations (every worker's boxes, spans or points) into consensus annotations
the same way; only the validation, the similarity of two annotations, the way a cluster's
coordinates combine and the output format differ.

* **Run.** :func:`consolidate_annotations` groups the answers by item, applies the input
  policies (duplicate answers, unknown labels, workers disagreeing on the image size), weighs the
  workers by their ``prior`` and hands every other item to the task type as a
  :class:`MatchItem`, whose :meth:`MatchItem.consensus` scores the result and tallies the
  workers' agreement.
* **Image size.** :func:`agreed_image_size` checks the sizes the workers report and finds the
  one they agree on.
* **Match.** :func:`cluster_annotations` groups annotations by greedy complete linkage on a
  similarity matrix (IoU, Jaccard index, closeness): at most one annotation per worker per
  cluster, every two annotations of a cluster at least ``threshold`` alike, the most similar
  pairs first, and a cluster kept when enough of the item's workers are in it (:class:`Clusters`).
* **Combine.** :func:`combine_coordinates` takes the skill-weighted mean or median of each
  cluster's coordinates (:data:`CoordinatePolicy`) and :func:`vote_labels` the skill-weighted
  majority of its labels.
* **Worker skill.** :func:`tally_item` adds one item's agreement with the consensus to each
  worker's :class:`MatchTally`; :func:`match_skills` reports precision, recall and F1
  (:func:`precision_recall_f1`) and the mean closeness per worker.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, Protocol, TypeVar

import numpy as np
import numpy.typing as npt

from consolidation._common import (
    Consensus,
    ConsolidationError,
    ConsolidationRun,
    Label,
    NoConsensus,
    Outcome,
    TaskId,
    WorkerId,
    WorkerSkill,
    round_confidence,
)
from consolidation._grouping import (
    AnswerGroup,
    AnswerRecord,
    group_answers,
    is_finite_number,
    label_order,
    prior_accuracy,
    run_diagnostics,
    skill_weights,
    unknown_label_reason,
)
from consolidation.answers import DuplicatePolicy, UnknownLabelPolicy

__all__ = [
    "Clusters",
    "CoordinatePolicy",
    "LabelMatching",
    "MatchItem",
    "MatchTally",
    "OutputCoordinates",
    "agreed_image_size",
    "cluster_annotations",
    "combine_coordinates",
    "consolidate_annotations",
    "match_skills",
    "precision_recall_f1",
    "tally_item",
    "vote_labels",
]

CoordinatePolicy = Literal["mean", "median"]
"""How matched coordinates combine: skill-weighted ``"mean"`` or ``"median"``."""

LabelMatching = Literal["ignore", "require"]
"""Whether annotations with different labels may match: ``"ignore"`` matches on geometry only
(the label is then voted), ``"require"`` only matches annotations with the same label."""

OutputCoordinates = Literal["pixels", "exact"]
"""``"pixels"`` rounds consolidated coordinates to integers (halves up); ``"exact"`` keeps
floats rounded to 4 decimals (for fractional or percentage coordinates)."""

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]

_SUPPORT_TOLERANCE = 1e-9
_HALF_TOLERANCE = 1e-9


class _Labelled(Protocol):
    @property
    def label(self) -> Label: ...


A = TypeVar("A", bound=AnswerRecord)
G = TypeVar("G")


def agreed_image_size(
    task_id: TaskId, sizes: Iterable[tuple[int | None, int | None]]
) -> tuple[tuple[int, int] | None, str | None]:
    """The image size the workers agree on.

    Args:
        task_id: the item (named in errors).
        sizes: ``(width, height)`` reported by each worker; ``(None, None)`` when unknown.

    Returns:
        ``(size, None)`` with the common size (``None`` when no worker reported one), or
        ``(None, reason)`` when workers reported different sizes.

    Raises:
        ConsolidationError: only one of width and height given, or a non-positive size.
    """
    seen: dict[tuple[int, int], None] = {}
    for width, height in sizes:
        if width is None and height is None:
            continue
        if width is None or height is None:
            raise ConsolidationError("image size needs both width and height", task_id=task_id)
        if not (is_finite_number(width) and is_finite_number(height)) or min(width, height) <= 0:
            raise ConsolidationError(f"invalid image size {width!r}x{height!r}", task_id=task_id)
        seen.setdefault((int(width), int(height)), None)
    if len(seen) > 1:
        listed = ", ".join(f"{w}x{h}" for w, h in seen)
        return None, f"workers disagree on the image size: {listed}"
    return (next(iter(seen)) if seen else None), None


def _components(link: BoolArray) -> IntArray:
    """Smallest element index of each element's connected component under ``link``."""
    n = link.shape[0]
    comp = np.arange(n)
    while n:
        new = np.minimum(comp, np.where(link, comp[None, :], n).min(axis=1))
        if (new == comp).all():
            break
        comp = new
    return comp


def _greedy_complete_linkage(
    similarity: FloatArray, link: BoolArray, owner: IntArray, threshold: float
) -> list[int]:
    """Root of each element's cluster under greedy complete linkage (see the caller)."""
    n = int(owner.shape[0])
    root = list(range(n))
    rows, cols = np.nonzero(np.triu(link, 1))
    sim = similarity[rows, cols]
    members: list[list[int]] = [[i] for i in range(n)]
    masks = [1 << o for o in owner.tolist()]
    table = similarity.tolist()
    order = np.lexsort((cols, rows, -sim))
    for i, j in zip(rows[order].tolist(), cols[order].tolist(), strict=True):
        a, b = root[i], root[j]
        if a == b or masks[a] & masks[b]:
            continue
        ma, mb = members[a], members[b]
        if (len(ma) > 1 or len(mb) > 1) and not _all_reach(table, ma, mb, threshold):
            continue
        if len(mb) > len(ma):
            a, b, ma, mb = b, a, mb, ma
        for x in mb:
            root[x] = a
        ma.extend(mb)
        members[b] = []
        masks[a] |= masks[b]
    return root


def _all_reach(table: list[list[float]], ma: list[int], mb: list[int], threshold: float) -> bool:
    for y in mb:
        row = table[y]
        if min([row[x] for x in ma]) < threshold:
            return False
    return True


@dataclass(frozen=True, slots=True)
class Clusters:
    """One item's annotations grouped into clusters.

    Attributes:
        of: ``[n]`` cluster index of each annotation; clusters are numbered in the order of
            their first annotation.
        size: ``[clusters]`` annotations (= workers) per cluster.
        kept: ``[clusters]`` whether the cluster reached ``min_support``.
    """

    of: IntArray
    size: IntArray
    kept: BoolArray

    @property
    def count(self) -> int:
        return int(self.size.shape[0])


def cluster_annotations(
    similarity: FloatArray,
    owner: IntArray,
    *,
    threshold: float,
    n_workers: int,
    min_support: float,
) -> Clusters:
    """Cluster one item's annotations with at most one annotation per worker.

    Pairs of annotations by different workers with ``similarity >= threshold`` are taken from
    the most similar down (equal similarities in index order, so callers fix ties by ordering
    the annotations canonically). Two clusters merge when they share no worker and every pair
    across them reaches ``threshold`` (complete linkage). A cluster is kept when its workers
    make up at least ``min_support`` of the item's ``n_workers``.

    Args:
        similarity: symmetric ``[n, n]`` matrix.
        owner: ``[n]`` worker index (``0 .. n_workers - 1``) of each annotation.
        threshold: the minimum similarity of any two annotations in one cluster.
        n_workers: how many workers answered the item.
        min_support: the share of workers a kept cluster needs.
    """
    link = (similarity >= threshold) & (owner[:, None] != owner[None, :])
    # Complete linkage never joins two connected components of ``link``, and it merges a
    # component that is a clique (one element per worker, all pairs linked: workers boxing
    # the same object) into one cluster, so only the other components need the greedy pass.
    comp = _components(link)
    same = comp[:, None] == comp[None, :]
    np.fill_diagonal(same, False)
    root: list[int] = comp.tolist()
    untidy = np.unique(comp[(same != link).any(axis=1)])
    for c in untidy.tolist():
        idx = np.flatnonzero(comp == c)
        sub = _greedy_complete_linkage(
            similarity[np.ix_(idx, idx)], link[np.ix_(idx, idx)], owner[idx], threshold
        )
        for k, r in zip(idx.tolist(), sub, strict=True):
            root[k] = int(idx[r])
    number: dict[int, int] = {}
    of = np.asarray([number.setdefault(r, len(number)) for r in root], dtype=np.intp)
    size = np.bincount(of, minlength=len(number)).astype(np.intp)
    kept = size / max(n_workers, 1) + _SUPPORT_TOLERANCE >= min_support
    return Clusters(of=of, size=size, kept=kept)


def combine_coordinates(
    values: FloatArray,
    weights: FloatArray,
    clusters: Clusters,
    *,
    policy: CoordinatePolicy,
    on_half: Literal["midpoint", "lower"] = "midpoint",
) -> FloatArray:
    """Per-cluster weighted mean or median of each column of ``values`` (``[n, c]``).

    The weighted median is the smallest value at which the cumulative weight reaches half the
    cluster's weight. When it lands exactly on half, ``on_half`` decides: ``"midpoint"`` takes
    the mean of that value and the next one (equal weights then give the textbook median),
    ``"lower"`` keeps the smaller value (always one of the inputs).

    Returns:
        ``[clusters, c]``.
    """
    of, count = clusters.of, clusters.count
    out = np.empty((count, values.shape[1]))
    if count == 0:
        return out
    total = np.bincount(of, weights=weights, minlength=count)
    if policy == "mean":
        for j in range(values.shape[1]):
            out[:, j] = np.bincount(of, weights=weights * values[:, j], minlength=count) / total
        return out
    starts = np.concatenate(([0], np.cumsum(clusters.size)[:-1])).astype(np.intp)
    ends = starts + clusters.size
    positions = np.arange(of.shape[0])
    for j in range(values.shape[1]):
        order = np.lexsort((values[:, j], of))
        group, v, w = of[order], values[order, j], weights[order]
        cum = np.cumsum(w)
        within = cum - (cum[starts] - w[starts])[group]
        half = total[group] / 2.0
        tol = _HALF_TOLERANCE * total[group]
        reached = np.where(within >= half - tol, positions, of.shape[0])
        first = np.minimum.reduceat(reached, starts)
        out[:, j] = v[first]
        if on_half == "midpoint":
            exact = (np.abs(within[first] - half[first]) <= tol[first]) & (first + 1 < ends)
            nxt = v[np.minimum(first + 1, of.shape[0] - 1)]
            out[:, j] = np.where(exact, (v[first] + nxt) / 2.0, v[first])
    return out


def vote_labels(
    codes: IntArray, weights: FloatArray, clusters: Clusters, n_labels: int
) -> IntArray:
    """Per cluster, the label code with the greatest total weight; ties go to the lowest code."""
    count = clusters.count
    if count == 0:
        return np.empty(0, dtype=np.intp)
    score = np.bincount(
        clusters.of * n_labels + codes, weights=weights, minlength=count * n_labels
    ).reshape(count, n_labels)
    top = score.max(axis=1, keepdims=True)
    winner: IntArray = (score >= top - _HALF_TOLERANCE * np.maximum(top, 1.0)).argmax(axis=1)
    return winner


def precision_recall_f1(matched: int, drawn: int, expected: int) -> tuple[float, float, float]:
    """Precision, recall and F1 of ``matched`` out of ``drawn`` against ``expected``.

    Precision is 1.0 when nothing was drawn and recall is 1.0 when nothing was expected, so a
    worker who agrees that an item is empty scores 1.0.
    """
    precision = matched / drawn if drawn else 1.0
    recall = matched / expected if expected else 1.0
    total = precision + recall
    f1 = 2.0 * precision * recall / total if total > 0 else 0.0
    return precision, recall, f1


@dataclass(slots=True)
class MatchTally:
    """One worker's agreement with the consensus, accumulated over the items of one run.

    Attributes:
        items: consensus items the worker answered.
        drawn: annotations the worker made on those items.
        expected: consensus annotations on those items.
        matched: the worker's annotations that agree with the consensus.
        closeness: per-item sums of the closeness metric (IoU, distance, ...), added up
            with :func:`math.fsum` so the total does not depend on the order of the items.
        close_count: how many annotations ``closeness`` sums over.
    """

    items: int = 0
    drawn: int = 0
    expected: int = 0
    matched: int = 0
    closeness: list[float] = field(default_factory=list)
    close_count: int = 0


def tally_item(
    tallies: dict[WorkerId, MatchTally],
    item_workers: Sequence[WorkerId],
    owner: IntArray,
    *,
    expected: int,
    matched: BoolArray,
    closeness: FloatArray,
    close: BoolArray,
) -> None:
    """Add one consensus item to the workers' tallies.

    Args:
        tallies: updated in place.
        item_workers: the item's workers; ``owner`` indexes this sequence.
        owner: ``[n]`` worker index of each annotation.
        expected: consensus annotations on the item.
        matched: ``[n]`` whether each annotation agrees with the consensus.
        closeness: ``[n]`` closeness of each annotation to its consensus annotation.
        close: ``[n]`` which annotations ``closeness`` counts for.
    """
    m = len(item_workers)
    drawn = np.bincount(owner, minlength=m).tolist()
    hits = np.bincount(owner, weights=matched, minlength=m).tolist()
    close_sum = np.bincount(owner, weights=np.where(close, closeness, 0.0), minlength=m).tolist()
    close_n = np.bincount(owner, weights=close, minlength=m).tolist()
    for k, worker in enumerate(item_workers):
        tally = tallies.get(worker)
        if tally is None:
            tally = tallies[worker] = MatchTally()
        tally.items += 1
        tally.drawn += int(drawn[k])
        tally.expected += expected
        tally.matched += int(hits[k])
        tally.closeness.append(float(close_sum[k]))
        tally.close_count += int(close_n[k])


def match_skills(
    workers: Sequence[WorkerId],
    tallies: Mapping[WorkerId, MatchTally],
    prior: Mapping[WorkerId, WorkerSkill] | None,
    *,
    closeness_metric: str,
) -> list[WorkerSkill]:
    """One skill per worker: accuracy = F1; metrics precision, recall, f1 and the closeness.

    A worker without a consensus item reports ``answers=0``, their prior accuracy (0.0 without
    one) and no metrics.
    """
    skills: list[WorkerSkill] = []
    for worker in workers:
        tally = tallies.get(worker)
        if tally is None or tally.items == 0:
            skills.append(WorkerSkill(worker, 0, prior_accuracy(prior, worker)))
            continue
        precision, recall, f1 = precision_recall_f1(tally.matched, tally.drawn, tally.expected)
        mean_close = math.fsum(tally.closeness) / tally.close_count if tally.close_count else 0.0
        skills.append(
            WorkerSkill(
                worker,
                tally.items,
                f1,
                metrics={
                    "precision": precision,
                    "recall": recall,
                    "f1": f1,
                    closeness_metric: mean_close,
                },
            )
        )
    return skills


@dataclass(frozen=True, slots=True)
class MatchItem(Generic[A]):
    """One item past the input policies, ready to be matched.

    Attributes:
        group: the item's answers.
        workers: the item's workers, sorted; ``owner`` and ``weights`` index this list.
        owner: ``[n]`` worker index of each annotation, answer by answer in input order.
        codes: ``[n]`` label code (rank in the vocabulary) of each annotation.
        weights: ``[workers]`` skill weight of each worker.
        labels: the vocabulary, indexed by label code.
        image_size: the image size the workers agree on; ``None`` when none reported one or
            the task type has no image.
        empty: how many workers made no annotation.
        evidence: the outcome's evidence so far.
        tallies: the run's per-worker tallies, which :meth:`consensus` adds the item to.
    """

    group: AnswerGroup[A]
    workers: list[WorkerId]
    owner: IntArray
    codes: IntArray
    weights: FloatArray
    labels: Sequence[Label]
    image_size: tuple[int, int] | None
    empty: int
    evidence: dict[str, Any]
    tallies: dict[WorkerId, MatchTally]
    single_answer_confidence: float = 0.0

    def consensus(
        self,
        value: Any,
        *,
        clusters: Clusters,
        kept: IntArray,
        confidence: FloatArray,
        owner: IntArray,
        matched: BoolArray,
        closeness: FloatArray,
        close: BoolArray,
        **evidence: Any,
    ) -> Consensus:
        """The item's consensus, once its annotations are matched and combined.

        The item's confidence is the mean ``confidence`` of the kept clusters; with none kept,
        the share of workers who made no annotation (1.0 when nobody made any). An item only one
        worker answered has no agreement to measure: its confidence, and that of each of its
        annotations, is ``single_answer_confidence`` (the worker's earlier accuracy, else 0),
        and the evidence says ``"single_answer": True``; such an item says nothing about the
        worker's skill. Other items are added to the workers' tallies (:func:`tally_item`).
        The evidence gets
        ``"clusters"``, ``"kept"``, ``"dropped"`` and then ``evidence``.

        Args:
            value: the consensus value.
            clusters: the item's clusters.
            kept: indices of the kept clusters.
            confidence: ``[clusters]`` confidence of each cluster.
            owner: ``[n]`` worker index of each annotation, in the order of the other arrays.
            matched: ``[n]`` whether each annotation agrees with the consensus.
            closeness: ``[n]`` closeness of each annotation to its consensus annotation.
            close: ``[n]`` which annotations ``closeness`` counts for.
            evidence: further evidence of the task type.
        """
        count = int(kept.size)
        score = float(confidence[kept].mean()) if count else self.empty / len(self.workers)
        if len(self.workers) == 1:
            score = self.single_answer_confidence
            evidence["single_answer"] = True
            for annotations in value.values() if isinstance(value, dict) else ():
                for annotation in annotations if isinstance(annotations, list) else ():
                    if isinstance(annotation, dict) and "confidence" in annotation:
                        annotation["confidence"] = round_confidence(score)
        else:
            tally_item(
                self.tallies,
                self.workers,
                owner,
                expected=count,
                matched=matched,
                closeness=closeness,
                close=close,
            )
        self.evidence.update(
            clusters=clusters.count, kept=count, dropped=clusters.count - count, **evidence
        )
        return Consensus(self.group.task_id, value, round_confidence(score), self.evidence)


def consolidate_annotations(
    answers: Iterable[A],
    *,
    annotations: Callable[[A], Sequence[_Labelled]],
    validate: Callable[[AnswerGroup[A]], G],
    consolidate: Callable[[MatchItem[A], G], Consensus],
    count_key: str,
    image_size: Callable[[A], tuple[int | None, int | None]] | None,
    labels: Sequence[Label] | None,
    prior: Mapping[WorkerId, WorkerSkill] | None,
    on_duplicate: DuplicatePolicy,
    on_unknown_label: UnknownLabelPolicy,
    closeness_metric: str,
    method: str,
    diagnostics: Mapping[str, float],
) -> ConsolidationRun:
    """The run every annotation-matching task type makes, around its own matching step.

    The answers are grouped by item (:func:`group_answers`), every item's annotations are
    validated, the labels ranked (:func:`label_order`) and the workers weighted
    (:func:`skill_weights`). An item that a duplicate answer, an unknown label or (with
    ``image_size``) a disagreement on the image size sets aside becomes a
    :class:`NoConsensus`; every other item is passed to ``consolidate``.

    Args:
        answers: one record per worker and item.
        annotations: the annotations of one answer (boxes, spans, points).
        validate: checks one item's annotations and returns their geometry, passed on to
            ``consolidate``; raises :class:`ConsolidationError` naming the item.
        consolidate: the consensus of one item.
        count_key: the evidence key of the annotations per worker.
        image_size: the ``(width, height)`` one answer reports, or ``None`` when the task type
            has no image size.
        labels: the declared label vocabulary; ``None`` accepts any label.
        prior: skill from earlier jobs.
        on_duplicate: policy for a worker answering an item twice.
        on_unknown_label: policy for a label outside the declared ``labels``.
        closeness_metric: the name of the closeness metric in the worker skills.
        method: the method name written to outputs.
        diagnostics: the hyperparameters reported by :func:`run_diagnostics`.

    Returns:
        One outcome per item in order of first appearance and one skill per worker
        (:func:`match_skills`).
    """
    groups, workers = group_answers(answers, on_duplicate=on_duplicate)
    geometry = [validate(group) for group in groups]
    rank = label_order(labels, (x.label for g in groups for a in g.answers for x in annotations(a)))
    declared = rank if labels is not None else None
    by_code = sorted(rank, key=rank.__getitem__)
    weights = skill_weights(workers, prior)
    tallies: dict[WorkerId, MatchTally] = {}
    outcomes: list[Outcome] = []
    for group, coords in zip(groups, geometry, strict=True):
        evidence: dict[str, Any] = {
            "workers": len(group.answers),
            count_key: {a.worker_id: len(annotations(a)) for a in group.answers},
        }
        reason = group.rejected or unknown_label_reason(
            group.task_id,
            (x.label for a in group.answers for x in annotations(a)),
            declared,
            on_unknown_label,
        )
        size: tuple[int, int] | None = None
        if reason is None and image_size is not None:
            size, reason = agreed_image_size(group.task_id, map(image_size, group.answers))
        if reason is not None:
            outcomes.append(NoConsensus(group.task_id, reason, evidence))
            continue
        item_workers = sorted(a.worker_id for a in group.answers)
        worker_rank = {w: k for k, w in enumerate(item_workers)}
        item = MatchItem(
            group=group,
            workers=item_workers,
            owner=np.asarray(
                [worker_rank[a.worker_id] for a in group.answers for _ in annotations(a)],
                dtype=np.intp,
            ),
            codes=np.asarray(
                [rank[x.label] for a in group.answers for x in annotations(a)], dtype=np.intp
            ),
            weights=np.asarray([weights[w] for w in item_workers]),
            labels=by_code,
            image_size=size,
            empty=sum(1 for a in group.answers if not annotations(a)),
            evidence=evidence,
            tallies=tallies,
            single_answer_confidence=prior_accuracy(prior, item_workers[0]),
        )
        outcomes.append(consolidate(item, coords))
    return ConsolidationRun(
        outcomes=outcomes,
        workers=match_skills(workers, tallies, prior, closeness_metric=closeness_metric),
        method=method,
        diagnostics=run_diagnostics(outcomes, **diagnostics),
    )
