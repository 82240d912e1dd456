"""Tiny hand-made single-label classification datasets with their exact expected results.

Each dataset is written as ``{item: "answer of w1, answer of w2, ..."}`` (``-`` = no answer), so
the whole crowd fits on a few lines and every expected value can be checked by hand.
"""

from __future__ import annotations

from collections.abc import Mapping

from consolidation import Annotation, ClassAnswers

WORKERS = ("w1", "w2", "w3", "w4", "w5", "w6")


def crowd(table: Mapping[str, str], workers: tuple[str, ...] = WORKERS) -> list[Annotation]:
    """Long-format answers from ``{item: "w1 w2 w3 ..."}``; ``-`` means the worker skipped it."""
    out: list[Annotation] = []
    for item, row in table.items():
        for worker, label in zip(workers[: len(row.split())], row.split(), strict=True):
            if label != "-":
                out.append(Annotation(item, worker, label))
    return out


def encoded(table: Mapping[str, str], workers: tuple[str, ...] = WORKERS) -> ClassAnswers:
    return ClassAnswers.from_annotations(crowd(table, workers))


# -- the toy crowd (crowd-kit's toy dataset): five workers, five items, yes/no ------------------

TOY = {
    "t1": "no  yes yes yes yes",
    "t2": "yes yes no  yes no",
    "t3": "yes no  no  yes no",
    "t4": "yes yes yes yes no",
    "t5": "yes no  no  yes no",
}
# Majority vote: the winning label and the share of workers that gave it.
TOY_MAJORITY = {
    "t1": ("yes", 0.8),
    "t2": ("yes", 0.6),
    "t3": ("no", 0.6),
    "t4": ("yes", 0.8),
    "t5": ("no", 0.6),
}
# Each worker's agreement with the majority over their five answers.
TOY_MAJORITY_ACCURACY = {"w1": 0.4, "w2": 1.0, "w3": 0.8, "w4": 0.6, "w5": 0.6}

# -- two reliable workers outvoted by three noisy ones -------------------------------------------
# r1 and r2 are always right. n1..n3 lean towards "cat": on q07-q09 (true "dog") all three say
# "cat", so the majority is wrong there; their scattered errors elsewhere show they are noisy.
NOISY_WORKERS = ("r1", "r2", "n1", "n2", "n3")
NOISY_CROWD = {
    "q01": "cat cat cat dog cat",
    "q02": "cat cat cat cat dog",
    "q03": "cat cat dog cat cat",
    "q04": "cat cat cat cat cat",
    "q05": "cat cat cat cat cat",
    "q06": "cat cat cat cat cat",
    "q07": "dog dog cat cat cat",
    "q08": "dog dog cat cat cat",
    "q09": "dog dog cat cat cat",
    "q10": "dog dog cat cat dog",
    "q11": "dog dog dog dog cat",
    "q12": "dog dog dog dog dog",
}
NOISY_TRUTH = {item: row.split()[0] for item, row in NOISY_CROWD.items()}
NOISY_MAJORITY_WRONG = ("q07", "q08", "q09")

# -- gold exposes two confident-looking adversaries -----------------------------------------------
# w1 and w2 always agree with each other and w3 always disagrees, so without gold every method
# trusts w1 and w2. The gold items g1-g3 show that w1 and w2 answer the opposite of the truth.
ADVERSARY = {
    "g1": "dog dog cat",
    "g2": "cat cat dog",
    "g3": "dog dog cat",
    "q1": "cat cat dog",
    "q2": "dog dog cat",
    "q3": "cat cat dog",
}
ADVERSARY_GOLD = {"g1": "cat", "g2": "dog", "g3": "cat"}
ADVERSARY_WITHOUT_GOLD = {"q1": "cat", "q2": "dog", "q3": "cat"}
ADVERSARY_WITH_GOLD = {"q1": "dog", "q2": "cat", "q3": "dog"}

# -- balanced evidence: one item, two workers, two labels -----------------------------------------
BALANCED = {"q1": "cat dog"}

# -- exact ties -----------------------------------------------------------------------------------
# Natural label order puts "2" before "10", so "lowest_label" picks "2" (a string sort would not).
TIE_NUMERIC = {"q1": "10 2"}
# Two of four labels tied at the top: "lowest_label" takes "b", the first tied label.
TIE_TWO_OF_FOUR = {"q1": "c b c b a d"}

# -- calibration: correlated splits make raw Dawid-Skene posteriors over-confident ---------------
# w1/w2 and w3/w4 split as pairs on q07/q08, which independent-error EM cannot explain; the
# leave-one-out temperature comes out below 1.
CALIBRATION = {
    "q01": "a a a a",
    "q02": "a a a a",
    "q03": "b b b b",
    "q04": "b b b b",
    "q05": "a a a a",
    "q06": "b b b b",
    "q07": "a a b b",
    "q08": "b b a a",
    "q09": "a a a b",
    "q10": "b b b a",
    "q11": "a b a a",
    "q12": "b a b b",
}
CALIBRATION_LABELS = {
    "q01": "a",
    "q02": "a",
    "q03": "b",
    "q04": "b",
    "q05": "a",
    "q06": "b",
    "q07": "a",
    "q08": "a",
    "q09": "a",
    "q10": "b",
    "q11": "a",
    "q12": "b",
}
