"""Bounding boxes: match the workers' boxes by overlap and keep the boxes most workers drew.

Per item, in this order:

1. **Validate.** Every box needs finite coordinates and a positive width and height, and an
   image size, when given, needs a positive width *and* height. Anything else raises
   :class:`~consolidation._common.ConsolidationError` naming the item.
2. **Input policies.** A worker answering the item twice (``on_duplicate``), a label outside
   the declared ``labels`` (``on_unknown_label``) and workers reporting different image sizes
   make the item an explicit :class:`~consolidation._common.NoConsensus` with the reason.
3. **Match.** The IoU (intersection over union) of every two boxes drawn by *different* workers
   is computed. Clusters are grown greedily by complete linkage: pairs are taken from the
   highest IoU down, and two clusters merge when they share no worker and *every* pair of boxes
   across them overlaps by at least ``iou_threshold``. A cluster therefore holds at most one box
   per worker. Equal IoUs are taken in a canonical box order (worker id, then coordinates, then
   label), so the result does not depend on the order the answers arrive in.
4. **Keep.** A cluster is kept when at least ``min_support`` of the item's workers drew a box
   in it (a plain count: 2 of 4 workers is a support of 0.5).
5. **Combine.** The edges (left, top, right, bottom) of the cluster's boxes are combined by the
   skill-weighted mean or median (``coordinate_policy``). The label is the skill-weighted
   majority of the cluster's labels; a tie goes to the label first in vocabulary order (the
   declared ``labels``, else the natural order of the labels seen in the run).
6. **Confidence.** A box: ``(workers who drew it with the consensus label / item's workers) x
   mean IoU of the cluster's boxes with the consensus box``. The item: the mean of its box
   confidences; when no box is kept, the share of workers who drew no box at all (1.0 when
   nobody drew anything: full agreement on an empty image).

Kept boxes may overlap each other (two objects side by side); they are not merged further.

Skill weights: with a ``prior`` (skill from earlier jobs) a worker weighs their earlier
accuracy (at least 0.01); a worker missing from the prior weighs the mean accuracy of the
prior; without a prior every worker weighs 1.

Worker skill: a worker's box is *matched* when it joined a kept cluster and carries that
cluster's consensus label. Precision = matched / boxes drawn, recall = matched / consensus boxes
on the worker's items (each 1.0 when its denominator is 0), accuracy = F1; metrics add
``mean_iou``, the mean IoU of the worker's boxes in kept clusters with the consensus box (0.0
when none). Only items that reached consensus count. A worker whose every item was set aside
reports ``answers=0`` and their prior accuracy (0.0 without one).

The matching, combining and tallying steps are shared with the other annotation-matching task
types (:mod:`consolidation._matching`); grouping answers by item, the input policies and the
skill weights with every task type (:mod:`consolidation._grouping`).
"""

from __future__ import annotations

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
    numeric_rows,
)
from consolidation._matching import (
    CoordinatePolicy,
    LabelMatching,
    MatchItem,
    OutputCoordinates,
    cluster_annotations,
    combine_coordinates,
    consolidate_annotations,
    vote_labels,
)
from consolidation.answers import DuplicatePolicy, UnknownLabelPolicy

__all__ = ["Box", "BoxAnswer", "BoxConsolidator"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Box:
    """One box in image coordinates (top-left origin), as ``crowd-bounding-box`` reports it."""

    label: Label
    left: float
    top: float
    width: float
    height: float


@dataclass(frozen=True, slots=True)
class BoxAnswer:
    """One worker's boxes for one image (possibly none), with the image size they saw."""

    task_id: TaskId
    worker_id: WorkerId
    boxes: tuple[Box, ...]
    image_width: int | None = None
    image_height: int | None = None


@dataclass(frozen=True, kw_only=True)
class BoxConsolidator:
    """IoU clustering of bounding boxes (see the module docstring).

    Attributes:
        iou_threshold: minimum IoU between any two boxes of one cluster, in (0, 1].
        min_support: share of the item's workers that must have drawn a box for it to be kept,
            in (0, 1].
        coordinate_policy: ``"mean"`` (default; Ground Truth also averages matched boxes) or
            ``"median"`` of the edges, skill-weighted.
        label_matching: ``"ignore"`` (default) matches boxes on geometry and votes the label;
            ``"require"`` only matches boxes with the same label.
        output_coordinates: ``"pixels"`` (integers) or ``"exact"``.
        on_duplicate: policy for a worker answering an item twice.
        on_unknown_label: policy for a label outside the declared ``labels``.

    Example:
        >>> a = BoxAnswer("img", "w1", (Box("dog", 10, 10, 100, 50),))
        >>> b = BoxAnswer("img", "w2", (Box("dog", 12, 10, 100, 50),))
        >>> BoxConsolidator().aggregate([a, b]).outcomes[0].value["boxes"][0]["left"]
        11
    """

    iou_threshold: float = 0.5
    min_support: float = 0.5
    coordinate_policy: CoordinatePolicy = "mean"
    label_matching: LabelMatching = "ignore"
    output_coordinates: OutputCoordinates = "pixels"
    on_duplicate: DuplicatePolicy = "keep_last"
    on_unknown_label: UnknownLabelPolicy = "no_consensus"
    name: str = "box-clustering"

    def __post_init__(self) -> None:
        if not 0.0 < self.iou_threshold <= 1.0:
            raise ConsolidationError(f"iou_threshold must be in (0, 1], got {self.iou_threshold}")
        if not 0.0 < self.min_support <= 1.0:
            raise ConsolidationError(f"min_support must be in (0, 1], got {self.min_support}")
        check_choice("coordinate_policy", self.coordinate_policy, ("mean", "median"))
        check_choice("label_matching", self.label_matching, ("ignore", "require"))
        check_choice("output_coordinates", self.output_coordinates, ("pixels", "exact"))
        check_input_policies(self.on_duplicate, self.on_unknown_label)

    def aggregate(
        self,
        answers: Iterable[BoxAnswer],
        *,
        labels: Sequence[Label] | None = None,
        prior: Mapping[WorkerId, WorkerSkill] | None = None,
    ) -> ConsolidationRun:
        """Consolidate box answers into one outcome per item and one skill per worker.

        Args:
            answers: one record per worker and item; empty ``boxes`` means "nothing to box".
            labels: the declared label vocabulary; ``None`` accepts any label.
            prior: skill from earlier jobs, used as coordinate and label-vote weights.

        Returns:
            Outcomes in order of first appearance. A consensus value is ``{"boxes": [{"label",
            "left", "top", "width", "height", "confidence"}, ...], "image_size": {"width",
            "height"} | None}`` with boxes in reading order (top, then left); the evidence of
            every outcome has ``"workers"`` and ``"boxes_per_worker"`` (worker -> boxes drawn),
            and a consensus adds ``"clusters"``, ``"kept"`` and ``"dropped"``.

        Raises:
            ConsolidationError: invalid geometry or image size, or an unknown label under
                ``on_unknown_label="error"``; the message names the item.
        """
        return consolidate_annotations(
            answers,
            annotations=lambda a: a.boxes,
            validate=_box_geometry,
            consolidate=self._consolidate,
            count_key="boxes_per_worker",
            image_size=lambda a: (a.image_width, a.image_height),
            labels=labels,
            prior=prior,
            on_duplicate=self.on_duplicate,
            on_unknown_label=self.on_unknown_label,
            closeness_metric="mean_iou",
            method=self.name,
            diagnostics={"iou_threshold": self.iou_threshold, "min_support": self.min_support},
        )

    def _consolidate(self, item: MatchItem[BoxAnswer], coords: FloatArray) -> Consensus:
        n_workers = len(item.workers)
        owner, codes = item.owner, item.codes
        # Canonical order (worker id, coordinates, label): ties never depend on input order.
        order = np.lexsort((codes, coords[:, 3], coords[:, 2], coords[:, 1], coords[:, 0], owner))
        owner, codes, coords = owner[order], codes[order], coords[order]
        edges = np.column_stack(
            (coords[:, 0], coords[:, 1], coords[:, 0] + coords[:, 2], coords[:, 1] + coords[:, 3])
        )
        iou = _iou(edges[:, None, :], edges[None, :, :])
        if self.label_matching == "require":
            iou[codes[:, None] != codes[None, :]] = -1.0
        clusters = cluster_annotations(
            iou,
            owner,
            threshold=self.iou_threshold,
            n_workers=n_workers,
            min_support=self.min_support,
        )
        weight = item.weights[owner]
        boxes = combine_coordinates(edges, weight, clusters, policy=self.coordinate_policy)
        winner = vote_labels(codes, weight, clusters, len(item.labels))
        of = clusters.of
        overlap = _iou(edges, boxes[of])
        in_kept = clusters.kept[of]
        agree = (codes == winner[of]) & in_kept
        agree_count = np.bincount(of, weights=agree, minlength=clusters.count)
        mean_overlap = np.bincount(of, weights=overlap, minlength=clusters.count) / clusters.size
        box_confidence = agree_count / n_workers * mean_overlap

        kept = np.flatnonzero(clusters.kept)
        kept = kept[
            np.lexsort(
                (winner[kept], boxes[kept, 2], boxes[kept, 3], boxes[kept, 0], boxes[kept, 1])
            )
        ]
        out_boxes = [
            {"label": item.labels[code], **xywh, "confidence": round_confidence(conf)}
            for code, xywh, conf in zip(
                winner[kept].tolist(),
                self._coordinates(boxes[kept]),
                box_confidence[kept].tolist(),
                strict=True,
            )
        ]
        size = item.image_size
        return item.consensus(
            {
                "boxes": out_boxes,
                "image_size": None if size is None else {"width": size[0], "height": size[1]},
            },
            clusters=clusters,
            kept=kept,
            confidence=box_confidence,
            owner=owner,
            matched=agree,
            closeness=overlap,
            close=in_kept,
        )

    def _coordinates(self, boxes: FloatArray) -> list[dict[str, float | int]]:
        """Edges ``[k, 4]`` as output boxes (without label and confidence)."""
        if self.output_coordinates == "exact":
            xywh = np.column_stack(
                (boxes[:, 0], boxes[:, 1], boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
            ).round(4)
        else:
            edges = np.floor(boxes + 0.5)
            xywh = np.column_stack(
                (
                    edges[:, 0],
                    edges[:, 1],
                    np.maximum(edges[:, 2] - edges[:, 0], 1.0),
                    np.maximum(edges[:, 3] - edges[:, 1], 1.0),
                )
            ).astype(np.int64)
        return [{"left": x, "top": y, "width": w, "height": h} for x, y, w, h in xywh.tolist()]


def _iou(a: FloatArray, b: FloatArray) -> FloatArray:
    """IoU of boxes ``a`` and ``b`` (last axis: left, top, right, bottom), broadcast."""
    inter_w = np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0])
    inter_h = np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1])
    inter = np.maximum(inter_w, 0.0) * np.maximum(inter_h, 0.0)
    area_a = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
    area_b = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    result: FloatArray = inter / (area_a + area_b - inter)
    return result


def _box_geometry(group: AnswerGroup[BoxAnswer]) -> FloatArray:
    """``[boxes, 4]`` left, top, width, height of the item's boxes, validated."""
    rows = [(b.left, b.top, b.width, b.height) for a in group.answers for b in a.boxes]
    coords = np.asarray(numeric_rows(rows), dtype=np.float64).reshape(-1, 4)
    valid = np.isfinite(coords).all(axis=1) & (coords[:, 2] > 0) & (coords[:, 3] > 0)
    if valid.all():
        return coords
    worker, box = [(a.worker_id, b) for a in group.answers for b in a.boxes][
        int(np.flatnonzero(~valid)[0])
    ]
    raise ConsolidationError(
        f"worker {worker!r} drew an invalid box (left={box.left!r}, top={box.top!r}, "
        f"width={box.width!r}, height={box.height!r}); coordinates must be finite numbers "
        "and width and height positive",
        task_id=group.task_id,
    )
