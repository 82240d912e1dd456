"""The quality report: exact numbers on a small job, and a safe, self-contained HTML page."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from gt_consolidation.batch import Batch, consolidate_batch
from gt_contracts import PayloadObject, PostAnnotationEvent, ProjectConfig, WorkerAnnotation
from publish_results.manifest import Manifest, read_manifest
from publish_results.report import CostInputs, build_report, render_html

META = {"type": "groundtruth/custom", "job-name": "reviews-1", "human-annotated": "yes"}
EXPIRED = {"retry-count": 1, "failure-reason": "ClientError: Annotation tasks expired."}


def _value(name: str, votes: dict[str, int], confidence: float) -> dict[str, Any]:
    return {
        "class-name": name,
        "class-id": ["negative", "neutral", "positive"].index(name),
        "confidence": confidence,
        "votes": votes,
        "workers": 3,
        "method": "majority-vote",
    }


def _manifest(*values: Any) -> Manifest:
    lines = []
    for i, value in enumerate(values):
        if value is EXPIRED:
            lines.append({"source": f"text {i}", "s-metadata": EXPIRED})
        else:
            lines.append({"source": f"text {i}", "s": value, "s-metadata": META})
    return read_manifest("\n".join(json.dumps(line) for line in lines))


TIE = {
    "no-consensus": True,
    "reason": "tie between ['negative', 'positive']",
    "workers": 2,
    "method": "majority-vote",
}
SMALL = (
    _value("positive", {"positive": 2, "neutral": 1}, 0.67),
    _value("negative", {"negative": 3}, 1.0),
    _value("positive", {"positive": 3}, 0.95),
    TIE,
    EXPIRED,
)
SKILLS = [
    {
        "project": "reviews",
        "workers": [
            {"worker": "w0", "answers": 2, "accuracy": 1.0},
            {"worker": "w1", "answers": 2, "accuracy": 0.5},
        ],
    },
    {"project": "reviews", "workers": [{"worker": "w0", "answers": 2, "accuracy": 0.5}]},
]


def _small_report(**kwargs: Any) -> dict[str, Any]:
    text = "\n".join(json.dumps(line) for line in _lines(SMALL))
    return build_report(read_manifest(text), task_type="text-classification", **kwargs)


def _lines(values: tuple[Any, ...]) -> list[dict[str, Any]]:
    return [
        {"source": f"text {i}", "s-metadata": EXPIRED}
        if value is EXPIRED
        else {"source": f"text {i}", "s": value, "s-metadata": META}
        for i, value in enumerate(values)
    ]


def test_build_report_counts_items_by_status():
    report = _small_report()

    assert report["items"] == 5
    assert report["labeled"] == 3
    assert report["no_consensus"] == {
        "total": 1,
        "by_reason": {"tie between ['negative', 'positive']": 1},
    }
    assert report["failed"] == {
        "total": 1,
        "by_reason": {"ClientError: Annotation tasks expired.": 1},
    }
    assert report["unlabeled"] == {"total": 0, "by_reason": {}}
    assert report["repeated_sources"] == 0
    assert report["invalid_output_lines"] == 0
    assert report["validation"] is None


def test_a_repeated_source_is_an_item_of_its_own_and_counted_as_repeated():
    lines = _lines(SMALL)
    text = "\n".join(json.dumps(line) for line in [*lines, lines[0]])

    report = build_report(read_manifest(text), task_type="text-classification")

    assert (report["items"], report["labeled"], report["repeated_sources"]) == (6, 4, 1)


def test_the_report_states_what_validation_rejected():
    validation = {
        "manifest": "s3://intake/reviews/a.jsonl",
        "lines": 24,
        "accepted": 21,
        "rejected": 3,
        "blank": 0,
        "byReason": {"not-json": 1, "object-missing": 1, "wrong-source-kind": 1},
        "rejectsUri": "s3://results/jobs/j/output/rejects.jsonl",
    }

    report = _small_report(validation=validation)
    page = render_html(report)

    assert report["validation"] == validation
    assert "lines read" in page
    assert "rejected: object-missing" in page
    assert "s3://results/jobs/j/output/rejects.jsonl" in page


def test_build_report_counts_labels_and_bins_confidence():
    report = _small_report()

    assert report["label_unit"] == "items"
    assert report["label_distribution"] == {"positive": 2, "negative": 1}
    assert report["confidence"]["histogram"] == [0, 0, 0, 0, 0, 0, 1, 0, 0, 2]
    assert report["confidence"]["items"] == 3
    assert report["confidence"]["mean"] == 0.8733
    assert report["confidence"]["bins"][0] == [0.0, 0.1]
    assert report["confidence"]["bins"][9] == [0.9, 1.0]


@pytest.mark.parametrize(("confidence", "bin_"), [(0.0, 0), (0.1, 1), (0.7, 7), (0.99, 9)])
def test_build_report_puts_bin_edges_in_the_upper_bin(confidence, bin_):
    manifest = _manifest(_value("positive", {"positive": 3}, confidence))

    histogram = build_report(manifest, task_type="text-classification")["confidence"]["histogram"]

    assert histogram[bin_] == 1


def test_build_report_measures_agreement_from_votes():
    agreement = _small_report()["agreement"]

    assert agreement == {
        "items": 3,
        "mean": 0.8889,
        "distribution": [
            {"agreeing": 2, "workers": 3, "items": 1},
            {"agreeing": 3, "workers": 3, "items": 2},
        ],
    }


def test_build_report_merges_worker_skill_documents():
    report = _small_report(skills=SKILLS)

    assert report["workers"] == [
        {"worker": "w0", "answers": 4, "accuracy": 0.75, "batches": 2},
        {"worker": "w1", "answers": 2, "accuracy": 0.5, "batches": 1},
    ]
    assert report["skill_documents"] == 2
    assert report["skill_problems"] == []


def test_build_report_reports_malformed_skill_entries():
    report = _small_report(skills=[{"workers": [{"worker": "w0"}]}, {"no": "workers"}])

    assert report["workers"] == []
    assert report["skill_problems"] == [
        "document 0 workers[0]: needs worker, answers and accuracy",
        "document 1: no 'workers' list",
    ]


def test_build_report_reads_the_skill_document_of_the_consolidation_lambda():
    # Given a skill document written by the consolidation (gt_consolidation) for one batch
    request = PostAnnotationEvent(
        version=None,
        labeling_job_arn="arn:aws:sagemaker:us-east-1:111122223333:labeling-job/reviews-1",
        job_name="reviews-1",
        label_categories=None,
        label_attribute_name="s",
        role_arn="arn:aws:iam::111122223333:role/gt",
        payload_uri="s3://gt-out/batch.json",
    )
    answers = {"0": ["a", "a", "b"], "1": ["b", "b", "b"]}
    objects = [
        PayloadObject(
            object_id,
            {},
            tuple(
                WorkerAnnotation(f"w{k}", json.dumps({"s": {"label": label}}), None)
                for k, label in enumerate(labels)
            ),
        )
        for object_id, labels in answers.items()
    ]
    project = ProjectConfig(
        name="reviews", task_type="text-classification", labels=("a", "b"), method="majority-vote"
    )
    result = consolidate_batch(Batch(request=request, project=project, objects=objects))
    skills = json.loads(json.dumps(dict(result.skills)))

    # When the report reads it
    report = _small_report(skills=[skills])

    # Then every worker of the batch is in the table with its answers
    assert [(w["worker"], w["answers"]) for w in report["workers"]] == [
        ("w0", 2),
        ("w1", 2),
        ("w2", 2),
    ]
    assert all(0.0 <= w["accuracy"] <= 1.0 for w in report["workers"])
    assert report["skill_problems"] == []


def test_build_report_computes_cost_exactly():
    cost = CostInputs(price_per_task=0.036, workers_per_item=3, service_fee_per_object=0.08)

    report = _small_report(cost=cost)

    assert report["cost"] == {
        "items": 5,
        "workers_per_item": 3,
        "price_per_task": 0.036,
        "service_fee_per_object": 0.08,
        "worker_cost": 0.54,
        "service_fees": 0.4,
        "total": 0.94,
        "currency": "USD",
    }


def test_build_report_leaves_cost_out_without_a_price():
    assert _small_report()["cost"] is None


JOB_COST = {
    "workforce": "public",
    "answers": 9,
    "priceUsdPerTask": 0.012,
    "workforceCostUsd": 0.108,
    "currency": "USD",
    "note": "public workforce: 9 answers x 0.012 USD per task",
}


def test_build_report_carries_the_job_cost_as_given():
    assert _small_report(job_cost=JOB_COST)["job_cost"] == JOB_COST
    assert _small_report()["job_cost"] is None


def test_render_html_shows_the_workforce_cost_section():
    page = render_html(_small_report(job_cost=JOB_COST))

    section = page.split("<h2>Workforce cost</h2>", 1)[1].split("</section>", 1)[0]
    assert '<th>workforce</th><td class="n">public</td>' in section
    assert '<th>worker answers (tasks)</th><td class="n">9</td>' in section
    assert "<b>0.108 USD</b>" in section
    assert "9 answers x 0.012 USD per task" in section
    assert "No prices given" not in page


def test_render_html_says_when_the_workforce_cost_is_unknown():
    unknown = {**JOB_COST, "priceUsdPerTask": None, "workforceCostUsd": None, "note": "n"}

    page = render_html(_small_report(job_cost=unknown))

    section = page.split("<h2>Workforce cost</h2>", 1)[1].split("</section>", 1)[0]
    assert "<b>unknown</b>" in section
    assert '<th>price per task</th><td class="n">n/a</td>' in section


def test_render_html_without_any_cost_keeps_the_no_prices_note():
    page = render_html(_small_report())

    assert "Workforce cost" not in page
    assert "No prices given" in page


@pytest.mark.parametrize(
    "kwargs",
    [
        {"price_per_task": -1.0, "workers_per_item": 3},
        {"price_per_task": 1.0, "workers_per_item": 0},
    ],
)
def test_cost_inputs_reject_impossible_values(kwargs):
    with pytest.raises(ValueError, match="must"):
        CostInputs(**kwargs)


@pytest.mark.parametrize(
    ("task_type", "value", "unit", "distribution"),
    [
        (
            "image-classification-multilabel",
            {"class-ids": [0, 2], "class-map": {"0": "person", "2": "dog"}, "confidence": 0.7},
            "items",
            {"dog": 1, "person": 1},
        ),
        (
            "bounding-box",
            {
                "image_size": [],
                "annotations": [{"class_id": 1}, {"class_id": 0}, {"class_id": 1}],
                "consolidation": {"class-map": {"0": "dog", "1": "cat"}, "confidence": 0.5},
            },
            "boxes",
            {"cat": 2, "dog": 1},
        ),
        (
            "named-entity",
            {"annotations": {"entities": [{"label": "org"}, {"label": "date"}]}},
            "entities",
            {"date": 1, "org": 1},
        ),
        (
            "keypoint",
            {"keypoints": [{"label": "nose"}], "confidence": 0.9},
            "keypoints",
            {"nose": 1},
        ),
        (
            "semantic-segmentation",
            {"ref": "s3://b/m.png", "class-confidence": {"cat": 0.8}, "confidence": 0.8},
            "images",
            {"cat": 1},
        ),
        ("numeric", {"value": 4, "confidence": 0.8}, "items", {"4": 1}),
        ("free-text", {"text": "hello", "confidence": 0.8}, "none", {}),
    ],
)
def test_build_report_counts_labels_per_task_type(task_type, value, unit, distribution):
    report = build_report(_manifest(value), task_type=task_type)

    assert report["label_unit"] == unit
    assert report["label_distribution"] == distribution
    assert report["agreement"]["items"] == 0


# -- HTML -----------------------------------------------------------------------------------------

HOSTILE = '<script>alert("x")</script>'
QUOTES = 'it\'s a "quoted" & <b>bold</b> label'


def _hostile_report() -> dict[str, Any]:
    manifest = _manifest(
        _value("positive", {"positive": 3}, 0.9) | {"class-name": HOSTILE},
        _value("positive", {"positive": 3}, 0.9) | {"class-name": QUOTES},
        {**TIE, "reason": f"worker {HOSTILE!r} gave unknown label"},
    )
    skills = [{"workers": [{"worker": QUOTES, "answers": 1, "accuracy": 0.5}]}]
    return build_report(
        manifest,
        task_type="text-classification",
        skills=skills,
        cost=CostInputs(price_per_task=0.012, workers_per_item=3, currency="<EUR>"),
        title=f"Job {HOSTILE}",
    )


def test_render_html_escapes_every_text():
    page = render_html(_hostile_report())

    assert "<script" not in page.lower()
    assert "<b>bold" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "it&#x27;s a &quot;quoted&quot; &amp; &lt;b&gt;bold&lt;/b&gt;" in page
    assert "&lt;EUR&gt;" in page


def test_render_html_is_self_contained():
    page = render_html(_hostile_report())

    assert "http" not in page.lower()
    assert not re.search(r"<(link|img|iframe|object|embed)\b", page)
    assert not re.search(r"\bsrc=|url\(|@import", page)
    assert page.startswith("<!DOCTYPE html>")


def test_render_html_draws_the_charts_as_inline_svg():
    page = render_html(_small_report(skills=SKILLS))

    assert page.count("<svg") == 4  # labels, confidence, agreement, worker skill
    assert "2 of 3 agree" in page
    assert "<td>tie between [&#x27;negative&#x27;, &#x27;positive&#x27;]</td>" in page


def test_render_html_stays_small_for_ten_thousand_items(tmp_path):
    # Given 10,000 items over 57 labels, 300 distinct no-consensus reasons and 400 workers
    values: list[Any] = []
    for i in range(10_000):
        if i % 20 == 0:
            values.append({**TIE, "reason": f"tie number {i % 300}"})
        else:
            values.append(
                _value("positive", {"positive": 2, "neutral": 1}, (i % 100) / 100)
                | {"class-name": f"label-{i % 60}"}
            )
    skills = [
        {"workers": [{"worker": f"w{w}", "answers": 75, "accuracy": 0.9} for w in range(400)]}
    ]
    report = build_report(_manifest(*values), task_type="text-classification", skills=skills)

    # When the page is rendered and written out
    path = tmp_path / "report.html"
    path.write_text(render_html(report), encoding="utf-8")

    # Then it is small and still complete
    assert path.stat().st_size < 200_000
    assert report["items"] == 10_000
    assert sum(report["confidence"]["histogram"]) == 9_500
    assert "27 other labels" in path.read_text(encoding="utf-8")
    assert "350 more workers not shown" in path.read_text(encoding="utf-8")


def _with_gold(*pairs: tuple[dict[str, Any], str | None]) -> Manifest:
    lines = []
    for i, (value, gold) in enumerate(pairs):
        line: dict[str, Any] = {"source": f"text {i}", "s": value, "s-metadata": META}
        if gold is not None:
            line["s-gold"] = gold
        lines.append(line)
    return read_manifest("\n".join(json.dumps(line) for line in lines))


def test_gold_items_give_the_reliability_of_the_confidence():
    manifest = _with_gold(
        (_value("positive", {"positive": 2, "neutral": 1}, 0.65), "positive"),
        (_value("positive", {"positive": 2, "neutral": 1}, 0.62), "neutral"),
        (_value("negative", {"negative": 3}, 0.97), "negative"),
        (_value("neutral", {"neutral": 3}, 0.95), None),
        (TIE, "negative"),
    )

    calibration = build_report(manifest, task_type="text-classification")["calibration"]

    assert calibration["gold_items"] == 4
    assert calibration["labeled"] == 3
    assert calibration["accuracy"] == pytest.approx(2 / 3, abs=1e-4)
    six, nine = calibration["bins"][6], calibration["bins"][9]
    assert (six["items"], six["accuracy"], six["mean_confidence"]) == (2, 0.5, 0.635)
    assert (nine["items"], nine["accuracy"]) == (1, 1.0)
    # |1.27 - 1| + |0.97 - 1| over 3 labeled gold items
    assert calibration["ece"] == pytest.approx((0.27 + 0.03) / 3, abs=1e-4)


def test_without_gold_items_there_is_no_reliability_section():
    report = build_report(_manifest(*SMALL), task_type="text-classification")

    assert report["calibration"] is None
    assert "Confidence against gold items" not in render_html(report)


def test_render_html_draws_the_reliability_diagram_against_the_diagonal():
    manifest = _with_gold((_value("negative", {"negative": 3}, 0.97), "negative"))

    page = render_html(build_report(manifest, task_type="text-classification"))

    section = page.split("<h2>Confidence against gold items</h2>", 1)[1].split("</section>")[0]
    assert 'stroke-dasharray="4 3"' in section  # the diagonal
    assert "1 items, 100% right" in section
    assert "expected calibration error 0.03" in section
