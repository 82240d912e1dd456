"""Seeded generator of the scale benchmark's input: a large crowd answer table with truth.

The default is 1,000,000 answers: 100,000 items, each answered by 10 distinct workers drawn
from a pool of 50, over 5 classes. Every draw comes from one ``numpy`` generator seeded with
``seed``, so the same parameters always give byte-identical files.

* Class prior: Dirichlet(5) over the classes (mildly unbalanced).
* Workers: accuracies spread from near-random to expert (uniform in [0.30, 0.95]); each worker's
  wrong answers follow its own Dirichlet(1) split over the other classes, so workers have real
  confusion patterns, not only an accuracy. Workers differ in how much they work (log-normal
  activity); each item's 10 workers are drawn without replacement in proportion to it.
* Rows are shuffled, so the file is grouped neither by item nor by worker.

Files (header ``question,worker,answer`` and ``question,truth``, like the real sets) are cached
under a name that encodes every parameter and the generator version; they are written to a
temporary name and renamed, so an interrupted run never leaves a partial file behind.

Run ``python -m benchmarks.consolidation.synth --out DIR`` to generate them on their own.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

GENERATOR_VERSION = 1


@dataclass(frozen=True)
class ScaleSpec:
    n_items: int = 100_000
    per_item: int = 10
    n_workers: int = 50
    n_classes: int = 5
    seed: int = 20_240_601

    @property
    def n_answers(self) -> int:
        return self.n_items * self.per_item

    @property
    def stem(self) -> str:
        return (
            f"scale-v{GENERATOR_VERSION}-i{self.n_items}-r{self.per_item}"
            f"-w{self.n_workers}-k{self.n_classes}-s{self.seed}"
        )


def simulate(spec: ScaleSpec) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(truth[item], item_idx, worker_idx, label_idx)`` of every answer, in file order."""
    if spec.per_item > spec.n_workers:
        raise ValueError("per_item cannot exceed the worker pool")
    rng = np.random.default_rng(spec.seed)
    k = spec.n_classes
    prior = rng.dirichlet(np.full(k, 5.0))
    truth = rng.choice(k, size=spec.n_items, p=prior)

    accuracy = rng.uniform(0.30, 0.95, size=spec.n_workers)
    confusion = np.zeros((spec.n_workers, k, k))
    for w in range(spec.n_workers):
        for t in range(k):
            wrong = rng.dirichlet(np.ones(k - 1)) * (1.0 - accuracy[w])
            confusion[w, t, np.arange(k) != t] = wrong
            confusion[w, t, t] = accuracy[w]
    cumulative = confusion.cumsum(axis=2)

    # Weighted sampling without replacement (Gumbel top-k) of each item's workers.
    activity = rng.lognormal(mean=0.0, sigma=0.6, size=spec.n_workers)
    keys = np.log(activity)[None, :] + rng.gumbel(size=(spec.n_items, spec.n_workers))
    chosen = np.argpartition(-keys, spec.per_item - 1, axis=1)[:, : spec.per_item]
    del keys

    item_idx = np.repeat(np.arange(spec.n_items), spec.per_item)
    worker_idx = chosen.reshape(-1)
    draw = rng.random(item_idx.shape[0])
    rows = cumulative[worker_idx, truth[item_idx]]
    label_idx = np.minimum((draw[:, None] > rows).sum(axis=1), k - 1)

    order = rng.permutation(item_idx.shape[0])
    return truth, item_idx[order], worker_idx[order], label_idx[order]


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    tmp.write_text(text)
    tmp.replace(path)


def ensure_scale_files(out_dir: Path, spec: ScaleSpec | None = None) -> tuple[Path, Path]:
    """Paths of the answers and truth CSVs for ``spec``, generating them if not cached."""
    spec = spec or ScaleSpec()
    out_dir.mkdir(parents=True, exist_ok=True)
    answers = out_dir / f"{spec.stem}-answers.csv"
    truth_path = out_dir / f"{spec.stem}-truth.csv"
    if answers.is_file() and truth_path.is_file():
        return answers, truth_path
    truth, item_idx, worker_idx, label_idx = simulate(spec)
    width = len(str(spec.n_items - 1))
    items = [f"q{i:0{width}d}" for i in range(spec.n_items)]
    workers = [f"w{w:02d}" for w in range(spec.n_workers)]
    labels = [str(c) for c in range(spec.n_classes)]
    lines = ["question,worker,answer"]
    lines.extend(
        f"{items[i]},{workers[w]},{labels[c]}"
        for i, w, c in zip(item_idx.tolist(), worker_idx.tolist(), label_idx.tolist(), strict=True)
    )
    _write_atomically(answers, "\n".join(lines) + "\n")
    truth_lines = ["question,truth"]
    truth_lines.extend(f"{items[i]},{labels[c]}" for i, c in enumerate(truth.tolist()))
    _write_atomically(truth_path, "\n".join(truth_lines) + "\n")
    return answers, truth_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate the scale benchmark's CSVs")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "results")
    parser.add_argument("--items", type=int, default=ScaleSpec.n_items)
    parser.add_argument("--per-item", type=int, default=ScaleSpec.per_item)
    parser.add_argument("--workers", type=int, default=ScaleSpec.n_workers)
    parser.add_argument("--classes", type=int, default=ScaleSpec.n_classes)
    parser.add_argument("--seed", type=int, default=ScaleSpec.seed)
    args = parser.parse_args(argv)
    spec = ScaleSpec(args.items, args.per_item, args.workers, args.classes, args.seed)
    for path in ensure_scale_files(args.out, spec):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
