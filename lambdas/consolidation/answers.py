"""Classification answers encoded as integer arrays, the input of every classification method.

:class:`ClassAnswers` is the long-format answer table (one row per worker answer) with items,
workers and labels replaced by indices into their vocabularies. Building it applies the two
input policies once, so every method sees the same clean table:

* ``on_duplicate`` (a worker answered the same item more than once):
  ``"keep_last"`` (default) keeps the worker's last answer, so one worker is one vote, and
  counts the repeats in :attr:`ClassAnswers.repeated` (they become part of the item's
  evidence); ``"keep_first"`` keeps the first answer instead; ``"no_consensus"`` (strict) sets
  the item aside with a reason. A repeat is never a second vote: it would let one worker
  outvote two.
* ``on_unknown_label`` (a label outside the declared ``labels``; only applies when labels are
  declared): ``"no_consensus"`` (default) sets the item aside; ``"error"`` raises.

Items set aside are listed in :attr:`ClassAnswers.rejected` and come back from every method as
explicit no-consensus outcomes. Nothing is dropped silently.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

import numpy as np
import numpy.typing as npt

from consolidation._common import Annotation, ConsolidationError, Label, TaskId, WorkerId

__all__ = ["ClassAnswers", "DuplicatePolicy", "UnknownLabelPolicy", "natural_sorted"]

DuplicatePolicy = Literal["keep_last", "keep_first", "no_consensus"]
UnknownLabelPolicy = Literal["no_consensus", "error"]

IntArray = npt.NDArray[np.intp]


def natural_sorted(labels: Iterable[Label]) -> list[Label]:
    """Labels in a stable, human order: numbers numerically ("2" < "10"), then text."""

    def key(label: Label) -> tuple[int, float, str]:
        try:
            return (0, float(label), label)
        except ValueError:
            return (1, 0.0, label)

    return sorted(labels, key=key)


@dataclass(frozen=True)
class ClassAnswers:
    """Encoded answers. Build with :meth:`from_annotations` or :meth:`from_codes`.

    Attributes:
        items: item ids in order of first appearance; index ``i`` is item ``items[i]``.
        workers: worker ids in order of first appearance.
        labels: the label vocabulary (declared order, or natural order of the labels seen).
        item_idx, worker_idx, label_idx: one entry per kept answer.
        rejected: items set aside by the input policies, with the reason for each.
        repeated: items where a worker answered more than once, with how many answers were
            repeats (not used as votes under ``"keep_last"``/``"keep_first"``).
    """

    items: tuple[TaskId, ...]
    workers: tuple[WorkerId, ...]
    labels: tuple[Label, ...]
    item_idx: IntArray
    worker_idx: IntArray
    label_idx: IntArray
    rejected: dict[TaskId, str] = field(default_factory=dict)
    repeated: dict[TaskId, int] = field(default_factory=dict)

    @property
    def n_items(self) -> int:
        return len(self.items)

    @property
    def n_workers(self) -> int:
        return len(self.workers)

    @property
    def n_labels(self) -> int:
        return len(self.labels)

    @property
    def n_answers(self) -> int:
        return int(self.item_idx.shape[0])

    @classmethod
    def from_annotations(
        cls,
        annotations: Iterable[Annotation],
        *,
        labels: Sequence[Label] | None = None,
        on_duplicate: DuplicatePolicy = "keep_last",
        on_unknown_label: UnknownLabelPolicy = "no_consensus",
        rejected: Mapping[TaskId, str] | None = None,
    ) -> ClassAnswers:
        """Encode long-format annotations.

        Args:
            annotations: one record per worker answer.
            labels: the declared label vocabulary; ``None`` learns it from the answers.
            on_duplicate: policy for a worker answering the same item twice (module docstring).
            on_unknown_label: policy for a label outside ``labels``.
            rejected: items already set aside by the caller (an unreadable answer, say), with
                the reason; their other answers are not used.

        Raises:
            ConsolidationError: an unknown label under ``on_unknown_label="error"``, or duplicate
                names in ``labels``.
        """
        items: dict[TaskId, int] = {}
        workers: dict[WorkerId, int] = {}
        seen_labels: dict[Label, int] = {}
        ii: list[int] = []
        ww: list[int] = []
        ll: list[int] = []
        for a in annotations:
            ii.append(items.setdefault(a.task_id, len(items)))
            ww.append(workers.setdefault(a.worker_id, len(workers)))
            ll.append(seen_labels.setdefault(a.label, len(seen_labels)))
        return cls.from_codes(
            items=tuple(items),
            workers=tuple(workers),
            labels_seen=tuple(seen_labels),
            item_idx=np.asarray(ii, dtype=np.intp),
            worker_idx=np.asarray(ww, dtype=np.intp),
            label_idx=np.asarray(ll, dtype=np.intp),
            labels=labels,
            on_duplicate=on_duplicate,
            on_unknown_label=on_unknown_label,
            rejected=rejected,
        )

    @classmethod
    def from_codes(
        cls,
        *,
        items: tuple[TaskId, ...],
        workers: tuple[WorkerId, ...],
        labels_seen: tuple[Label, ...],
        item_idx: IntArray,
        worker_idx: IntArray,
        label_idx: IntArray,
        labels: Sequence[Label] | None = None,
        on_duplicate: DuplicatePolicy = "keep_last",
        on_unknown_label: UnknownLabelPolicy = "no_consensus",
        rejected: Mapping[TaskId, str] | None = None,
    ) -> ClassAnswers:
        """Encode answers already factorised by a reader (the fast path of the CLI).

        ``label_idx`` indexes ``labels_seen``; it is remapped onto the final vocabulary.
        Other arguments as in :meth:`from_annotations`.
        """
        rejected = dict(rejected or {})
        if labels is None:
            vocab = tuple(natural_sorted(labels_seen))
        else:
            vocab = tuple(labels)
            if len(set(vocab)) != len(vocab):
                raise ConsolidationError(f"declared labels contain duplicates: {list(vocab)}")
        position = {label: k for k, label in enumerate(vocab)}
        remap = np.asarray([position.get(label, -1) for label in labels_seen], dtype=np.intp)
        new_label = remap[label_idx] if label_idx.size else label_idx.copy()
        keep = np.ones(item_idx.shape[0], dtype=bool)

        unknown = new_label < 0
        if unknown.any():
            first = int(np.flatnonzero(unknown)[0])
            bad_label = labels_seen[int(label_idx[first])]
            if on_unknown_label == "error":
                raise ConsolidationError(
                    f"unknown label {bad_label!r} (declared: {list(vocab)})",
                    task_id=items[int(item_idx[first])],
                )
            for pos in np.flatnonzero(unknown):
                task = items[int(item_idx[pos])]
                rejected.setdefault(task, f"unknown label {labels_seen[int(label_idx[pos])]!r}")

        repeated_items: dict[TaskId, int] = {}
        if item_idx.size:
            pair = item_idx.astype(np.int64) * max(len(workers), 1) + worker_idx
            order = np.argsort(pair, kind="stable")
            same = pair[order[1:]] == pair[order[:-1]]
            # A repeat is an answer with an earlier (keep_first) or later (keep_last) twin.
            repeated = np.zeros(pair.shape[0], dtype=bool)
            if on_duplicate == "keep_last":
                repeated[order[:-1]] = same
            else:
                repeated[order[1:]] = same
            if repeated.any():
                if on_duplicate == "no_consensus":
                    for pos in np.flatnonzero(repeated):
                        task = items[int(item_idx[pos])]
                        rejected.setdefault(
                            task,
                            f"worker {workers[int(worker_idx[pos])]!r} answered more than once",
                        )
                else:
                    keep &= ~repeated
                    counts = np.bincount(item_idx[repeated], minlength=len(items))
                    repeated_items = {items[i]: int(counts[i]) for i in np.flatnonzero(counts)}

        if rejected:
            rejected_idx = np.asarray(
                [i for i, task in enumerate(items) if task in rejected], dtype=np.intp
            )
            keep &= ~np.isin(item_idx, rejected_idx)
        if not keep.all():
            item_idx, worker_idx, new_label = item_idx[keep], worker_idx[keep], new_label[keep]
            # Re-index so every kept item and worker has at least one answer.
            kept_items, item_idx = np.unique(item_idx, return_inverse=True)
            kept_workers, worker_idx = np.unique(worker_idx, return_inverse=True)
            items = tuple(items[i] for i in kept_items)
            workers = tuple(workers[w] for w in kept_workers)
        return cls(
            items=items,
            workers=workers,
            labels=vocab,
            item_idx=item_idx.astype(np.intp, copy=False),
            worker_idx=worker_idx.astype(np.intp, copy=False),
            label_idx=new_label.astype(np.intp, copy=False),
            rejected=rejected,
            repeated={t: n for t, n in repeated_items.items() if t not in rejected},
        )

    # -- groupings shared by the methods (computed once per table) --------------------------

    @cached_property
    def votes(self) -> npt.NDArray[np.float64]:
        """``votes[i, k]``: how many workers gave item ``i`` label ``k``."""
        flat = np.bincount(
            self.item_idx * self.n_labels + self.label_idx,
            minlength=self.n_items * self.n_labels,
        )
        return flat.reshape(self.n_items, self.n_labels).astype(np.float64)

    @cached_property
    def by_item(self) -> tuple[IntArray, IntArray]:
        """Answer order grouped by item, and the start of each item's run."""
        order = np.argsort(self.item_idx, kind="stable")
        starts = np.searchsorted(self.item_idx[order], np.arange(self.n_items))
        return order, starts.astype(np.intp)

    @cached_property
    def worker_counts(self) -> IntArray:
        """How many answers each worker gave."""
        return np.bincount(self.worker_idx, minlength=self.n_workers).astype(np.intp)
