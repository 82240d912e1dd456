"""Keypoints: cluster the workers' points per label and keep the points most workers placed.

Per item, in this order:

1. **Validate.** Coordinates must be finite numbers and an image size, when given, a positive
   width *and* height; anything else raises
   :class:`~consolidation._common.ConsolidationError` naming the item.
2. **Input policies.** A worker answering the item twice (``on_duplicate``), a label outside
   the declared ``labels`` (``on_unknown_label``) and workers reporting different image sizes
   make the item an explicit :class:`~consolidation._common.NoConsensus` with the reason.
3. **Radius.** When the image size is known, the matching radius is ``radius`` times the image
   diagonal (0.02 of a 1280x960 image is 32 pixels); when no worker reported it, the radius is
   ``pixel_radius``, in the coordinates' own units.
4. **Match.** Points of the same label placed by different workers are compared by distance.
   Clusters are grown by the same greedy complete linkage as boxes
   (:func:`consolidation._matching.cluster_annotations`) on the closeness ``1 - distance / radius``:
   at most one point per worker, every two points of a cluster within the radius of each
   other, closest pairs first, ties in a canonical order (worker id, coordinates) so that input
   order does not matter. A label may appear several times per image (one cluster each).
5. **Keep.** A cluster is kept when at least ``min_support`` of the item's workers placed a
   point in it.
6. **Combine.** x and y are the skill-weighted median (default) or mean of the cluster's
   points (``coordinate_policy``).
7. **Confidence.** A point: ``support x closeness``, where support = the cluster's workers /
   the item's workers and closeness = the mean over the cluster's points of
   ``max(0, 1 - distance to the consensus point / radius)``. The item: the mean of its point
   confidences; with no point kept, the share of workers who placed no point (1.0 when nobody
   placed any).

Points are listed by label (vocabulary order), then y, then x.

Skill weights follow :func:`consolidation._grouping.skill_weights`. Worker skill: a worker's point
is *matched* when it joined a kept cluster. Precision = matched / points placed, recall =
matched / consensus points on the worker's items, accuracy = F1; metrics add
``mean_distance``, the mean distance of the worker's matched points to the consensus point (in
pixels, or the coordinates' units).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

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
    is_finite_number,
    numeric_rows,
)
from consolidation._matching import (
    CoordinatePolicy,
    MatchItem,
    OutputCoordinates,
    cluster_annotations,
    combine_coordinates,
    consolidate_annotations,
)
from consolidation.answers import DuplicatePolicy, UnknownLabelPolicy

__all__ = ["Keypoint", "KeypointAnswer", "KeypointConsolidator"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Keypoint:
    """One labelled point in image coordinates (top-left origin)."""

    label: Label
    x: float
    y: float


@dataclass(frozen=True, slots=True)
class KeypointAnswer:
    """One worker's points for one image (possibly none), with the image size they saw."""

    task_id: TaskId
    worker_id: WorkerId
    points: tuple[Keypoint, ...]
    image_width: int | None = None
    image_height: int | None = None


@dataclass(frozen=True, kw_only=True)
class KeypointConsolidator:
    """Distance clustering of keypoints (see the module docstring).

    Attributes:
        radius: matching radius as a fraction of the image diagonal, in (0, 1]; used when the
            image size is known.
        pixel_radius: matching radius in the coordinates' units, > 0; used when no worker
            reported the image size.
        min_support: share of the item's workers that must have placed a point for it to be
            kept, in (0, 1].
        coordinate_policy: ``"median"`` (default) or ``"mean"``, skill-weighted.
        output_coordinates: ``"pixels"`` (integers) or ``"exact"``.
        on_duplicate: policy for a worker answering an item twice.
        on_unknown_label: policy for a label outside the declared ``labels``.

    Example:
        >>> a = KeypointAnswer("img", "w1", (Keypoint("nose", 100, 50),), 1000, 1000)
        >>> b = KeypointAnswer("img", "w2", (Keypoint("nose", 104, 50),), 1000, 1000)
        >>> KeypointConsolidator().aggregate([a, b]).outcomes[0].value["keypoints"][0]["x"]
        102
    """

    radius: float = 0.02
    pixel_radius: float = 10.0
    min_support: float = 0.5
    coordinate_policy: CoordinatePolicy = "median"
    output_coordinates: OutputCoordinates = "pixels"
    on_duplicate: DuplicatePolicy = "keep_last"
    on_unknown_label: UnknownLabelPolicy = "no_consensus"
    name: str = "keypoint-clustering"

    def __post_init__(self) -> None:
        if not 0.0 < self.radius <= 1.0:
            raise ConsolidationError(f"radius must be in (0, 1], got {self.radius}")
        if not (is_finite_number(self.pixel_radius) and self.pixel_radius > 0):
            raise ConsolidationError(f"pixel_radius must be > 0, got {self.pixel_radius}")
        if not 0.0 < self.min_support <= 1.0:
            raise ConsolidationError(f"min_support must be in (0, 1], got {self.min_support}")
        check_choice("coordinate_policy", self.coordinate_policy, ("mean", "median"))
        check_choice("output_coordinates", self.output_coordinates, ("pixels", "exact"))
        check_input_policies(self.on_duplicate, self.on_unknown_label)

    def aggregate(
        self,
        answers: Iterable[KeypointAnswer],
        *,
        labels: Sequence[Label] | None = None,
        prior: Mapping[WorkerId, WorkerSkill] | None = None,
    ) -> ConsolidationRun:
        """Consolidate keypoint answers into one outcome per item and one skill per worker.

        Args:
            answers: one record per worker and item; empty ``points`` means "no keypoint".
            labels: the declared keypoint labels; ``None`` accepts any label.
            prior: skill from earlier jobs, used as coordinate weights.

        Returns:
            Outcomes in order of first appearance. A consensus value is ``{"keypoints":
            [{"label", "x", "y", "confidence"}, ...]}``; the evidence of every outcome has
            ``"workers"`` and ``"points_per_worker"`` (worker -> points placed), and a
            consensus adds ``"clusters"``, ``"kept"``, ``"dropped"`` and ``"radius"`` (the
            matching radius used).

        Raises:
            ConsolidationError: invalid coordinates or image size, or an unknown label under
                ``on_unknown_label="error"``; the message names the item.
        """
        return consolidate_annotations(
            answers,
            annotations=lambda a: a.points,
            validate=_point_coordinates,
            consolidate=self._consolidate,
            count_key="points_per_worker",
            image_size=lambda a: (a.image_width, a.image_height),
            labels=labels,
            prior=prior,
            on_duplicate=self.on_duplicate,
            on_unknown_label=self.on_unknown_label,
            closeness_metric="mean_distance",
            method=self.name,
            diagnostics={
                "radius": self.radius,
                "pixel_radius": self.pixel_radius,
                "min_support": self.min_support,
            },
        )

    def _consolidate(self, item: MatchItem[KeypointAnswer], coords: FloatArray) -> Consensus:
        size = item.image_size
        radius = self.pixel_radius if size is None else self.radius * math.hypot(size[0], size[1])
        n_workers = len(item.workers)
        owner, codes = item.owner, item.codes
        order = np.lexsort((coords[:, 1], coords[:, 0], owner, codes))
        owner, codes, coords = owner[order], codes[order], coords[order]
        distance = np.hypot(
            coords[:, None, 0] - coords[None, :, 0], coords[:, None, 1] - coords[None, :, 1]
        )
        closeness = 1.0 - distance / radius
        closeness[codes[:, None] != codes[None, :]] = -1.0
        clusters = cluster_annotations(
            closeness, owner, threshold=0.0, n_workers=n_workers, min_support=self.min_support
        )
        weight = item.weights[owner]
        points = combine_coordinates(coords, weight, clusters, policy=self.coordinate_policy)
        of = clusters.of
        cluster_code = np.zeros(clusters.count, dtype=np.intp)
        cluster_code[of] = codes
        offset = np.hypot(coords[:, 0] - points[of, 0], coords[:, 1] - points[of, 1])
        close = np.maximum(1.0 - offset / radius, 0.0)
        mean_close = np.bincount(of, weights=close, minlength=clusters.count) / clusters.size
        point_confidence = clusters.size / n_workers * mean_close

        kept = np.flatnonzero(clusters.kept)
        kept = kept[np.lexsort((points[kept, 0], points[kept, 1], cluster_code[kept]))]
        if self.output_coordinates == "pixels":
            xy: list[list[Any]] = np.floor(points[kept] + 0.5).astype(np.int64).tolist()
        else:
            xy = points[kept].round(4).tolist()
        keypoints = [
            {"label": item.labels[code], "x": x, "y": y, "confidence": round_confidence(conf)}
            for code, (x, y), conf in zip(
                cluster_code[kept].tolist(), xy, point_confidence[kept].tolist(), strict=True
            )
        ]
        in_kept = clusters.kept[of]
        return item.consensus(
            {"keypoints": keypoints},
            clusters=clusters,
            kept=kept,
            confidence=point_confidence,
            owner=owner,
            matched=in_kept,
            closeness=offset,
            close=in_kept,
            radius=round(radius, 4),
        )


def _point_coordinates(group: AnswerGroup[KeypointAnswer]) -> FloatArray:
    """``[points, 2]`` x and y of the item's points, validated."""
    rows = [(p.x, p.y) for a in group.answers for p in a.points]
    coords = np.asarray(numeric_rows(rows), dtype=np.float64).reshape(-1, 2)
    valid = np.isfinite(coords).all(axis=1)
    if valid.all():
        return coords
    worker, point = [(a.worker_id, p) for a in group.answers for p in a.points][
        int(np.flatnonzero(~valid)[0])
    ]
    raise ConsolidationError(
        f"worker {worker!r} placed point {point.label!r} at invalid coordinates "
        f"({point.x!r}, {point.y!r})",
        task_id=group.task_id,
    )
