"""The crowd-kit equivalent of ``labelflow consolidate --method dawid-skene``.

Usage (inside the peer environment)::

    benchmarks/.peer-venv/bin/python benchmarks/consolidation/crowdkit_consolidate.py \\
        ANSWERS.csv OUT.csv

Reads a ``question,worker,answer`` CSV with pandas, drops a worker's repeated answers to the
same item (keeping the first), runs crowd-kit's ``DawidSkene`` with its defaults and writes
``question,label,confidence``, the same columns LabelFlow writes. It is what a crowd-kit user
would write for the job, and the whole process (interpreter start, imports, reading, fitting,
writing) is what the benchmark times. It imports nothing from LabelFlow.
"""

from __future__ import annotations

import sys

import pandas as pd  # type: ignore[import-untyped, import-not-found, unused-ignore]
from crowdkit.aggregation import DawidSkene  # type: ignore[import-untyped, import-not-found, unused-ignore]


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: crowdkit_consolidate.py ANSWERS.csv OUT.csv", file=sys.stderr)
        return 2
    source, target = argv
    raw = pd.read_csv(source, dtype=str, keep_default_na=False)
    answers = raw.rename(columns={"question": "task", "answer": "label"})[
        ["task", "worker", "label"]
    ].drop_duplicates(subset=["task", "worker"], keep="first")
    model = DawidSkene()
    labels = model.fit_predict(answers)
    probas = model.probas_
    confidence = probas.max(axis=1).reindex(labels.index)
    out = pd.DataFrame(
        {"question": labels.index, "label": labels.to_numpy(), "confidence": confidence.to_numpy()}
    )
    out.to_csv(target, index=False, float_format="%.4f")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
