"""Semantic segmentation: a per-pixel vote over class-index masks, weighted by worker skill.

Each worker answers an item with a mask of class indices (``0`` background, ``1 + k`` for
``labels[k]``; :mod:`consolidation.masks` decodes the PNGs). Every worker votes for a class at
every pixel; leaving a pixel unpainted is a vote for background. The method runs in two passes
(``weighting="iou-skill"``; ``"equal"`` stops after the first, a plain majority):

1. an unweighted vote gives a first consensus mask per item;
2. each worker's skill is their mean IoU with that first consensus over the items they shared
   with at least one other worker, smoothed towards ``initial_skill`` and their ``prior``
   accuracy::

       skill = (sum of IoUs + skill_smoothing * initial_skill + prior_strength * prior)
               / (items compared + skill_smoothing + prior_strength)

   (the prior terms only for workers in ``prior``), and the vote is repeated with the skills
   (floored at 0.01) as weights.

The IoU of a worker's mask with a consensus is the mean over the foreground classes either of
them uses (1.0 when both are empty). For the skill estimate only *decided* pixels count, those
whose first-pass winner had a strict majority: where workers split evenly the first pass is
settled by the tie rule, and crediting the worker who happens to match the tie rule would hand
them every disputed pixel in the second pass (two workers who disagree therefore stay equal).
Smoothing keeps a worker judged on one or two items from being silenced by one disagreement.

With ``smoothing="3x3"`` neighbouring pixels inform the result, as Ground Truth's built-in
consolidation does: a class's score at a pixel is its (weighted) vote share there plus
``neighbour_weight`` times its mean share over the 8 neighbours, divided by
``1 + neighbour_weight``. Because ``neighbour_weight`` is below 1 (at most 0.99), a pixel all
workers agree on never changes; smoothing only settles contested pixels by their surroundings,
removing isolated specks along disputed borders.

Ties: the winner is the lowest class index whose score is within ``1e-5`` of the best, so
background wins a tie.

Cost: unanimous pixels are settled in a few whole-image passes; the per-class work touches only
the contested pixels, so it grows with the disputed area, not with the image or the number of
labels (a 1280 x 960 image from 5 workers takes a few hundred milliseconds at most).

Scores, per item:

* per pixel, the *winner share* is the weighted share of the vote the winning class received at
  that pixel (before smoothing: smoothing picks the winner, the share reports how much of the
  crowd actually backed it);
* ``Consensus.confidence`` is the mean winner share over the pixels at least one worker painted
  (over all pixels when nobody painted anything, which gives 1.0: everyone agrees the image is
  empty);
* ``"class-confidence"`` is, for each label present in the consensus mask, the mean winner share
  over that label's pixels.

An item answered by a single worker has nothing to agree with: its consensus is that worker's
mask and its confidence is the worker's ``prior`` accuracy, or 0.0 without a prior (Ground Truth
also reports 0 for one worker per object).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

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
    agreement_skills,
    check_choice,
    check_skill_smoothing,
    group_answers,
    prior_accuracy,
    smoothed_weights,
)
from consolidation.masks import MAX_LABELS

__all__ = ["MaskAnswer", "SegmentationConsolidator", "SkillWeighting", "SmoothingPolicy"]

SmoothingPolicy = Literal["none", "3x3"]
SkillWeighting = Literal["iou-skill", "equal"]

UInt8Mask = npt.NDArray[np.uint8]
IntArray = npt.NDArray[np.intp]
Float32Array = npt.NDArray[np.float32]

_TIE_TOLERANCE = 1e-5
_MAX_NEIGHBOUR_WEIGHT = 0.99  # below 1 with a margin well above the tie tolerance
_CLASS_CODES = 256  # a uint8 mask holds class indices 0..255
_OFFSETS = [(dr, dc) for dr in (-1, 0, 1) for dc in (-1, 0, 1) if (dr, dc) != (0, 0)]


@dataclass(frozen=True, slots=True, eq=False)
class MaskAnswer:
    """One worker's mask for one item.

    Attributes:
        task_id: the item.
        worker_id: the worker.
        mask: ``H x W`` integer array of class indices: 0 background, ``1 + k`` for
            ``labels[k]``. Compared by identity (arrays have no single truth value).
    """

    task_id: TaskId
    worker_id: WorkerId
    mask: npt.NDArray[Any]


@dataclass(frozen=True, slots=True)
class _Item:
    task_id: TaskId
    workers: list[WorkerId]
    masks: list[UInt8Mask]
    rejected: str | None


@dataclass(frozen=True, slots=True)
class _Vote:
    """One item's vote, kept sparse: pixels where all masks agree are not stored.

    Attributes:
        winner: the consensus mask (``H x W``).
        where: flat indices of the contested pixels (some workers differ), ascending.
        votes: ``[worker, contested pixel]`` class given by each worker.
        won: the consensus class at each contested pixel.
        share: the winner's weighted vote share at each contested pixel (1 elsewhere).
        counts: pixels per class in the consensus: row 0 over all pixels, row 1 over the
            contested ones.
    """

    winner: UInt8Mask
    where: IntArray
    votes: UInt8Mask
    won: UInt8Mask
    share: Float32Array
    counts: IntArray


@dataclass(frozen=True, kw_only=True)
class SegmentationConsolidator:
    """Skill-weighted per-pixel vote with optional neighbourhood smoothing.

    Attributes:
        smoothing: ``"3x3"`` lets the 8 neighbours of a pixel inform its vote; ``"none"`` votes
            every pixel on its own.
        neighbour_weight: weight of the neighbours' mean share relative to the pixel's own
            share, in [0, 0.99] (below 1 so a unanimous pixel is never overruled).
        weighting: ``"iou-skill"`` weights each worker by their skill (module docstring);
            ``"equal"`` keeps the unweighted vote (``prior`` then only sets the
            confidence of single-worker items).
        prior_strength: how many items' worth of evidence a worker's ``prior`` accuracy counts
            for when blended with this run's mean IoU.
        skill_smoothing: pseudo-items at ``initial_skill`` added to every worker's skill.
        initial_skill: the skill assumed before any evidence, in [0, 1].
        name: the method name written to outputs.

    Example:
        >>> import numpy as np
        >>> cat = np.array([[0, 1], [1, 1]])
        >>> run = SegmentationConsolidator(smoothing="none").aggregate(
        ...     [MaskAnswer("img", "w1", cat), MaskAnswer("img", "w2", cat),
        ...      MaskAnswer("img", "w3", np.zeros((2, 2), dtype=int))], labels=["cat"])
        >>> run.outcomes[0].value["mask"].tolist()
        [[0, 1], [1, 1]]
    """

    smoothing: SmoothingPolicy = "3x3"
    neighbour_weight: float = 0.5
    weighting: SkillWeighting = "iou-skill"
    prior_strength: float = 2.0
    skill_smoothing: float = 2.0
    initial_skill: float = 0.7
    name: str = "pixel-vote"

    def __post_init__(self) -> None:
        check_choice("smoothing", self.smoothing, get_args(SmoothingPolicy))
        check_choice("weighting", self.weighting, get_args(SkillWeighting))
        if not 0.0 <= self.neighbour_weight <= _MAX_NEIGHBOUR_WEIGHT:
            raise ConsolidationError(
                f"neighbour_weight must be in [0, {_MAX_NEIGHBOUR_WEIGHT}], "
                f"got {self.neighbour_weight}"
            )
        check_skill_smoothing(
            prior_strength=self.prior_strength,
            skill_smoothing=self.skill_smoothing,
            initial_skill=self.initial_skill,
        )

    def aggregate(
        self,
        answers: Iterable[MaskAnswer],
        *,
        labels: Sequence[Label],
        prior: Mapping[WorkerId, WorkerSkill] | None = None,
    ) -> ConsolidationRun:
        """Consolidate masks into one mask per item (see the module docstring).

        Args:
            answers: one record per worker answer; masks hold values in ``0 .. len(labels)``.
            labels: the declared labels; mask value ``1 + k`` is ``labels[k]``.
            prior: skill from earlier jobs, blended into the weights and used as the
                confidence of single-worker items.

        Returns:
            One outcome per item, in order of first appearance. A :class:`Consensus` has
            ``value = {"mask": ndarray, "class-confidence": {label: float}}`` where ``"mask"``
            is an ``H x W`` ``uint8`` numpy array of class indices (not JSON: the Lambda adapter
            encodes it with :func:`consolidation.masks.encode_label_png`), and
            ``evidence = {"workers": int, "shape": [H, W], "pixels_labeled": int}`` (plus
            ``"single_answer": True`` for one worker). An item where a worker answered twice,
            or whose masks differ in shape, is a :class:`NoConsensus` naming the worker or the
            shapes. Every worker gets a :class:`WorkerSkill` whose ``accuracy`` is their mean
            IoU with the final consensus over the items they shared with others (the prior
            accuracy, or 0.0, when they shared none); ``metrics`` holds ``"compared"`` (those
            items) and ``"mean_iou"`` (when compared > 0).

        Raises:
            ConsolidationError: a mask that is not a non-empty 2-D integer array, a value
                outside ``0 .. len(labels)``, or too many / repeated labels.
        """
        n_classes = _class_count(labels)
        groups, worker_order = group_answers(answers)
        items = [
            _Item(
                group.task_id,
                [a.worker_id for a in group.answers],
                [_checked_mask(a, n_classes) for a in group.answers],
                group.rejected,
            )
            for group in groups
        ]

        votable: list[_Item] = []
        used = dict.fromkeys(worker_order, 0)
        reasons: dict[TaskId, NoConsensus] = {}
        for item in items:
            rejection = _rejection(item)
            if rejection is None:
                votable.append(item)
                for worker in item.workers:
                    used[worker] += 1
            else:
                reasons[item.task_id] = rejection

        shared = [it for it in votable if len(it.masks) > 1]
        weights: dict[WorkerId, float] = dict.fromkeys(worker_order, 1.0)
        final = {
            it.task_id: self._vote(it.masks, np.ones(len(it.masks)), n_classes) for it in shared
        }
        if self.weighting == "iou-skill" and shared:
            decided = _iou_table(shared, final, n_classes, decided_only=True)
            weights = smoothed_weights(
                worker_order,
                decided,
                prior,
                smoothing=self.skill_smoothing,
                initial=self.initial_skill,
                prior_strength=self.prior_strength,
            )
            final = {
                it.task_id: self._vote(
                    it.masks, np.asarray([weights[w] for w in it.workers]), n_classes
                )
                for it in shared
            }
        ious = _iou_table(shared, final, n_classes)

        outcomes: list[Outcome] = []
        for item in items:
            if item.task_id in reasons:
                outcomes.append(reasons[item.task_id])
            elif item.task_id in final:
                outcomes.append(_consensus(item, final[item.task_id], labels))
            else:
                single = prior_accuracy(prior, item.workers[0])
                outcomes.append(_single(item, labels, single))
        return ConsolidationRun(
            outcomes=outcomes,
            workers=agreement_skills(
                worker_order, used, ious, prior, metric="mean_iou", mean=_np_mean
            ),
            method=self.name,
            diagnostics={
                "smoothing": self.smoothing,
                "neighbour_weight": self.neighbour_weight,
                "weighting": self.weighting,
                "weights": weights,
            },
        )

    # -- steps ------------------------------------------------------------------------------

    def _vote(
        self, masks: Sequence[UInt8Mask], weights: npt.NDArray[np.float64], n_classes: int
    ) -> _Vote:
        """The weighted (and smoothed) per-pixel vote of one item's masks.

        Only *contested* pixels (where the workers' masks differ) are voted on: a unanimous
        pixel keeps its class with share 1, which smoothing can never overturn.
        """
        norm = (weights / weights.sum()).astype(np.float32)
        first = masks[0]
        contested = np.zeros(first.shape, dtype=bool)
        for mask in masks[1:]:
            contested |= mask != first
        where = np.flatnonzero(contested)
        votes = np.stack([mask.ravel()[where] for mask in masks])  # [worker, contested pixel]
        winner = first.copy()
        first_counts = np.bincount(first.ravel(), minlength=n_classes)
        if where.size == 0:
            counts = np.stack([first_counts, np.zeros_like(first_counts)])
            return _Vote(winner, where, votes, votes[0], np.ones(0, dtype=np.float32), counts)
        neighbours = _Neighbours(first, where) if self.smoothing == "3x3" else None
        # Candidates: every class voted at a contested pixel, and with smoothing every class of
        # the unanimous pixels too (a neighbour's class can win a contested pixel). A class
        # absent from a pixel's neighbourhood scores 0 there and never wins.
        voted = np.bincount(votes.ravel(), minlength=n_classes)
        if neighbours is not None:
            voted = voted + first_counts
        classes = np.flatnonzero(voted)
        raw = np.zeros((classes.size, where.size), dtype=np.float32)
        for k, c in enumerate(classes):
            for row, w in zip(votes, norm, strict=True):
                raw[k] += (row == c) * w
        score = raw
        if neighbours is not None:
            own = np.float32(1.0 / (1.0 + self.neighbour_weight))
            near = np.float32(self.neighbour_weight / (1.0 + self.neighbour_weight))
            score = own * raw + near * neighbours.mean_share(raw, classes)
        top = score.max(axis=0)
        pick = np.argmax(score >= top - np.float32(_TIE_TOLERANCE), axis=0)  # lowest class
        won = classes[pick].astype(np.uint8)
        np.put(winner, where, won)
        counts = np.stack(
            [
                first_counts
                - np.bincount(votes[0], minlength=n_classes)
                + np.bincount(won, minlength=n_classes),
                np.bincount(won, minlength=n_classes),
            ]
        )
        return _Vote(winner, where, votes, won, raw[pick, np.arange(where.size)], counts)


# -- helpers ----------------------------------------------------------------------------------


class _Neighbours:
    """The 8-neighbourhoods of the contested pixels ``where`` (flat indices, ascending).

    A neighbour inside the image is either contested (its shares are a column of the ``raw``
    table being voted) or unanimous (share 1 for its class in ``first``). Each neighbour is
    encoded once as a column of an extended table ``[raw | one-hot of classes 0..255 | 0]``,
    so a neighbourhood sum is 8 gathers.
    """

    def __init__(self, first: UInt8Mask, where: IntArray) -> None:
        height, width = first.shape
        n = where.size
        # Column of every pixel in the extended table, with a border of "outside" around it.
        code = first.astype(np.int32)
        code += np.int32(n)
        np.put(code, where, np.arange(n, dtype=np.int32))
        padded = np.pad(code, 1, constant_values=n + _CLASS_CODES).ravel()
        rows, cols = np.divmod(where, width)
        centre = (rows + 1) * (width + 2) + cols + 1
        self.size = n
        self.columns = [padded[centre + dr * (width + 2) + dc] for dr, dc in _OFFSETS]
        tall = 1 + (rows > 0).astype(np.float32) + (rows < height - 1)
        wide = 1 + (cols > 0).astype(np.float32) + (cols < width - 1)
        self.count = np.maximum(tall * wide - 1, np.float32(1.0))

    def mean_share(self, raw: Float32Array, classes: IntArray) -> Float32Array:
        """Mean share of each class (rows of ``raw``) over each contested pixel's neighbours."""
        table = np.zeros((classes.size, self.size + _CLASS_CODES + 1), dtype=np.float32)
        table[:, : self.size] = raw
        table[np.arange(classes.size), self.size + classes] = 1.0
        total = np.zeros_like(raw)
        for column in self.columns:
            total += np.take(table, column, axis=1)
        mean: Float32Array = (total / self.count).astype(np.float32, copy=False)
        return mean


def _class_count(labels: Sequence[Label]) -> int:
    if len(labels) > MAX_LABELS:
        raise ConsolidationError(f"at most {MAX_LABELS} labels, got {len(labels)}")
    if len(set(labels)) != len(labels):
        raise ConsolidationError(f"labels contain duplicates: {list(labels)}")
    return len(labels) + 1


def _checked_mask(answer: MaskAnswer, n_classes: int) -> UInt8Mask:
    mask = answer.mask
    task = answer.task_id
    if not isinstance(mask, np.ndarray) or mask.ndim != 2 or mask.size == 0:
        shape = getattr(mask, "shape", type(mask).__name__)
        raise ConsolidationError(
            f"worker {answer.worker_id!r}: mask must be a non-empty 2-D array, got {shape}",
            task_id=task,
        )
    if not (np.issubdtype(mask.dtype, np.integer) or mask.dtype == np.bool_):
        raise ConsolidationError(
            f"worker {answer.worker_id!r}: mask must hold integer class indices, got {mask.dtype}",
            task_id=task,
        )
    low, high = int(mask.min()), int(mask.max())
    if low < 0 or high >= n_classes:
        raise ConsolidationError(
            f"worker {answer.worker_id!r}: mask values must lie in 0..{n_classes - 1} "
            f"(background plus {n_classes - 1} labels), got {low}..{high}",
            task_id=task,
        )
    return mask.astype(np.uint8, copy=False)


def _rejection(item: _Item) -> NoConsensus | None:
    if item.rejected is not None:
        return NoConsensus(item.task_id, item.rejected, {"workers": len(set(item.workers))})
    shapes = {tuple(int(d) for d in m.shape) for m in item.masks}
    if len(shapes) > 1:
        return NoConsensus(
            item.task_id,
            f"masks have different shapes: {sorted(shapes)}",
            {
                "workers": len(item.workers),
                "shapes": {
                    w: [int(d) for d in m.shape]
                    for w, m in zip(item.workers, item.masks, strict=True)
                },
            },
        )
    return None


def _mean_iou(table: IntArray) -> float:
    """Mean IoU over the foreground classes of a joint ``[worker class, consensus class]``
    pixel count table; 1.0 when neither side has foreground pixels."""
    inter = np.diag(table)[1:]
    union = table.sum(axis=1)[1:] + table.sum(axis=0)[1:] - inter
    present = union > 0
    if not present.any():
        return 1.0
    return float((inter[present] / union[present]).mean())


def _iou_table(
    items: Sequence[_Item],
    votes: Mapping[TaskId, _Vote],
    n_classes: int,
    *,
    decided_only: bool = False,
) -> dict[WorkerId, list[float]]:
    """Each worker's mean IoU with the consensus, one entry per multi-worker item.

    Unanimous pixels agree with every worker, so they only add to the diagonal of each joint
    table; the contested pixels are counted per worker. With ``decided_only`` contested pixels
    whose winner had no strict majority are left out.
    """
    out: dict[WorkerId, list[float]] = {}
    for item in items:
        vote = votes[item.task_id]
        counts = vote.counts
        agreed = np.diag(counts[0] - counts[1])
        won = vote.won.astype(np.intp)
        rows = vote.votes
        if decided_only:
            decided = vote.share > np.float32(0.5 + _TIE_TOLERANCE)
            won, rows = won[decided], rows[:, decided]
        for worker, row in zip(item.workers, rows, strict=True):
            codes = row.astype(np.intp) * n_classes + won
            joint = np.bincount(codes, minlength=n_classes * n_classes)
            table = joint.reshape(n_classes, n_classes) + agreed
            out.setdefault(worker, []).append(_mean_iou(table))
    return out


def _consensus(item: _Item, vote: _Vote, labels: Sequence[Label]) -> Consensus:
    n_classes = len(labels) + 1
    counts = vote.counts
    shares = np.bincount(vote.won, weights=vote.share, minlength=n_classes)
    # Each class: share 1 on its unanimous pixels plus the shares of its contested pixels.
    share_sum = counts[0] - counts[1] + shares
    # A pixel is labeled when some worker painted it: unanimous foreground, or contested
    # (masks that differ cannot all be background).
    first = item.masks[0].ravel()
    unanimous_fg = int(np.count_nonzero(first)) - int(np.count_nonzero(first[vote.where]))
    pixels_labeled = unanimous_fg + int(vote.where.size)
    if pixels_labeled:
        confidence = (unanimous_fg + float(vote.share.sum(dtype=np.float64))) / pixels_labeled
    else:
        confidence = 1.0  # nobody painted anything: unanimous background
    per_class = {
        labels[c - 1]: round_confidence(share_sum[c] / counts[0][c])
        for c in range(1, n_classes)
        if counts[0][c]
    }
    return Consensus(
        item.task_id,
        {"mask": vote.winner, "class-confidence": per_class},
        round_confidence(confidence),
        {
            "workers": len(item.workers),
            "shape": [int(d) for d in vote.winner.shape],
            "pixels_labeled": pixels_labeled,
        },
    )


def _single(item: _Item, labels: Sequence[Label], confidence: float) -> Consensus:
    mask = item.masks[0].copy()
    present = np.flatnonzero(np.bincount(mask.ravel(), minlength=len(labels) + 1))
    score = round_confidence(confidence)
    return Consensus(
        item.task_id,
        {"mask": mask, "class-confidence": {labels[int(c) - 1]: score for c in present if c > 0}},
        score,
        {
            "workers": 1,
            "shape": [int(d) for d in mask.shape],
            "pixels_labeled": int(np.count_nonzero(mask)),
            "single_answer": True,
        },
    )


def _np_mean(values: Sequence[float]) -> float:
    """The mean of ``values`` with numpy's pairwise summation, as ``mean_iou`` reports it."""
    return float(np.mean(values))
