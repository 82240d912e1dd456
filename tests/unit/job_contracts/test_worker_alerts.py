"""Which workers to flag mid-job, and the record of a flag (pure)."""

from __future__ import annotations

import pytest

from gt_contracts import ContractError
from job_contracts.skills import SkillRecord
from job_contracts.worker_alerts import (
    FlaggedWorker,
    WorkerFlag,
    accuracy_upper_bound,
    current_skill,
    flag_workers,
)


def skills(**workers: tuple[int, float]) -> dict[str, SkillRecord]:
    """``w1=(answers, accuracy)`` -> the workers' skill records."""
    return {w: SkillRecord(w, answers, accuracy) for w, (answers, accuracy) in workers.items()}


def flagged(records: dict[str, SkillRecord], **options: object) -> list[str]:
    rule: dict[str, object] = {"min_accuracy": 0.6, "min_answers": 20, **options}
    return [flag.worker_id for flag in flag_workers(records, **rule)]  # type: ignore[arg-type]


# -- the bound ---------------------------------------------------------------------------------


def test_the_upper_bound_is_the_one_sided_95_percent_wilson_bound() -> None:
    # z = 1.6449: (0.41 + z²/114 + z·sqrt(0.41·0.59/57 + z²/12996)) / (1 + z²/57)
    assert accuracy_upper_bound(0.41, 57) == pytest.approx(0.5189, abs=1e-4)
    assert accuracy_upper_bound(0.41, 57, confidence=0.99) == pytest.approx(0.5628, abs=1e-4)


@pytest.mark.parametrize("accuracy", [0.0, 0.3, 0.41, 0.9, 1.0])
def test_the_bound_lies_above_the_estimate_and_tightens_with_evidence(accuracy: float) -> None:
    bounds = [accuracy_upper_bound(accuracy, n) for n in (1, 5, 20, 100, 10_000)]

    assert all(accuracy <= b <= 1.0 for b in bounds)
    assert bounds == sorted(bounds, reverse=True)
    assert bounds[-1] == pytest.approx(accuracy, abs=0.02)


def test_no_answers_bound_nothing() -> None:
    assert accuracy_upper_bound(0.0, 0) == 1.0


@pytest.mark.parametrize(("accuracy", "confidence"), [(-0.1, 0.95), (1.1, 0.95), (0.5, 1.0)])
def test_the_bound_refuses_values_out_of_range(accuracy: float, confidence: float) -> None:
    with pytest.raises(ValueError, match="must be in"):
        accuracy_upper_bound(accuracy, 10, confidence=confidence)


# -- enough evidence ---------------------------------------------------------------------------


def test_a_worker_clearly_below_the_threshold_is_flagged_with_the_figures() -> None:
    (flag,) = flag_workers(skills(w7=(57, 0.41)), min_accuracy=0.6, min_answers=20)

    assert flag == WorkerFlag(
        worker_id="w7",
        accuracy=0.41,
        answers=57,
        upper_bound=pytest.approx(0.5189, abs=1e-4),  # type: ignore[arg-type]
        threshold=0.6,
        min_answers=20,
    )


def test_the_same_estimate_on_few_answers_flags_nobody() -> None:
    # 0.41 over 10 answers may well be a 0.6 worker's bad start: the bound is 0.66.
    assert flagged(skills(w7=(10, 0.41)), min_answers=5) == []
    assert flagged(skills(w7=(57, 0.41)), min_answers=5) == ["w7"]


def test_fewer_answers_than_the_minimum_flag_nobody_however_bad() -> None:
    assert flagged(skills(w1=(19, 0.0))) == []
    assert flagged(skills(w1=(20, 0.0))) == ["w1"]


@pytest.mark.parametrize("accuracy", [0.6, 0.75, 1.0])
def test_a_worker_at_or_above_the_threshold_is_never_flagged(accuracy: float) -> None:
    assert flagged(skills(w1=(100_000, accuracy))) == []


def test_only_the_bad_workers_are_flagged_in_worker_order() -> None:
    records = skills(w3=(200, 0.2), w1=(200, 0.95), w2=(200, 0.3), w4=(3, 0.0))

    assert flagged(records) == ["w2", "w3"]


def test_a_worker_flagged_before_in_the_job_is_not_flagged_again() -> None:
    records = skills(w1=(200, 0.2), w2=(200, 0.3))

    assert flagged(records, already={"w1"}) == ["w2"]
    assert flagged(records, already={"w1", "w2"}) == []


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"min_accuracy": 0.0}, "min_accuracy"),
        ({"min_accuracy": 1.0}, "min_accuracy"),
        ({"min_answers": 0}, "min_answers"),
    ],
)
def test_a_rule_out_of_range_is_refused(options: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        flagged(skills(w1=(50, 0.1)), **options)


# -- the current skill -------------------------------------------------------------------------


def test_the_current_skill_adds_the_batch_to_what_is_carried() -> None:
    carried = skills(w1=(30, 0.5), w9=(100, 0.9))
    batch = [SkillRecord("w1", 10, 0.1), SkillRecord("w2", 4, 0.75)]

    current = current_skill(carried, batch)

    assert set(current) == {"w1", "w2"}  # the batch's workers only
    assert current["w1"].answers == 40
    assert current["w1"].accuracy == pytest.approx((30 * 0.5 + 10 * 0.1) / 40)
    assert current["w2"] == batch[1]


def test_carried_evidence_can_flag_a_worker_one_batch_could_not() -> None:
    batch = [SkillRecord("w1", 8, 0.25)]

    assert flagged(current_skill(None, batch)) == []
    assert flagged(current_skill(skills(w1=(40, 0.3)), batch)) == ["w1"]


# -- the record --------------------------------------------------------------------------------

FLAG = WorkerFlag(
    worker_id="labelstudio.7",
    accuracy=0.41,
    answers=57,
    upper_bound=0.51886,
    threshold=0.6,
    min_answers=20,
)


def test_a_flag_reads_as_one_line() -> None:
    assert FLAG.sentence() == (
        "worker labelstudio.7 flagged: accuracy 0.41 over 57 answers, below 0.60"
    )
    removed = FlaggedWorker(
        project="pets", job_name="pets-j-0", flag=FLAG, removal="removed-from-organization"
    )
    assert removed.sentence().endswith("; taken out of the Label Studio organization")


def test_the_record_holds_ids_and_figures_and_reads_back() -> None:
    record = FlaggedWorker(project="pets", job_name="pets-j-0", flag=FLAG, removal="unsupported")

    doc = record.to_json()

    assert doc == {
        "project": "pets",
        "jobName": "pets-j-0",
        "worker": "labelstudio.7",
        "accuracy": 0.41,
        "answers": 57,
        "upperBound": 0.5189,
        "threshold": 0.6,
        "minAnswers": 20,
        "confidence": 0.95,
        "removal": "unsupported",
    }
    back = FlaggedWorker.from_json(doc, at="marker")
    assert back.flag.worker_id == "labelstudio.7"
    assert (back.project, back.job_name, back.removal) == ("pets", "pets-j-0", "unsupported")
    assert back.flag.sentence() == FLAG.sentence()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"worker": ""}, r"marker\.worker must be a non-empty string"),
        ({"accuracy": "low"}, r"marker\.accuracy must be a number"),
        ({"answers": -1}, r"marker\.answers must be a non-negative integer"),
        ({"removal": "banned"}, r"marker\.removal 'banned' is not one of"),
    ],
)
def test_a_malformed_record_is_refused_naming_the_field(
    change: dict[str, object], message: str
) -> None:
    doc = {**FlaggedWorker(project="pets", job_name="j", flag=FLAG).to_json(), **change}

    with pytest.raises(ContractError, match=message):
        FlaggedWorker.from_json(doc, at="marker")
