"""The quality report of a labeling job: a JSON-able dict and one self-contained HTML page.

:func:`build_report` summarises a read :class:`~publish_results.manifest.Manifest`, the
worker-skill documents the consolidation Lambda wrote for the job
(``skills/<project>/<job>/<batch>.json``: ``{"workers": [{"worker", "answers", "accuracy",
...}], ...}``) and explicit cost inputs. :func:`render_html` turns that dict into one HTML page
with no external assets and no JavaScript: charts are inline SVG, every text is HTML-escaped,
and long lists are cut to their largest entries so the page stays small whatever the job size.

Report fields
    ``title``, ``task_type``; ``items`` (distinct items), ``labeled``; ``no_consensus``,
    ``failed`` and ``unlabeled`` as ``{"total", "by_reason": {reason: count}}`` (most frequent
    first); ``repeated_sources`` (items repeating an earlier item's source; each is labeled)
    and ``invalid_output_lines`` (lines of the labeling jobs' output that are not manifest
    lines); ``validation``: what Validate counted in the submitted manifest (``{"manifest",
    "lines", "accepted", "rejected", "blank", "byReason", "rejectsUri"}``, the shape of
    ``job_contracts.steps.ValidationSummary``) or ``None``; ``label_distribution`` (label →
    count, most frequent first) counted in ``label_unit``: items for classification (each
    chosen label once for multi-label), boxes, entities, keypoints, images per class present
    in the mask for segmentation, items per value for numbers, nothing for free text;
    ``confidence``: ``{"items", "mean", "bins", "histogram"}`` over labeled items with a
    confidence, ten bins ``[0.0, 0.1) ... [0.9, 1.0]``; ``agreement``: ``{"items", "mean",
    "distribution": [{"agreeing", "workers", "items"}]}``, the share of workers whose vote is
    the consensus label (``votes[class-name] / workers``), for items whose value carries
    ``votes`` (single-label classification); ``workers``: per worker ``{"worker", "answers",
    "accuracy", "batches"}``, answers summed over the documents and accuracy their
    answer-weighted mean, most answers first; ``skill_documents`` and ``skill_problems``;
    ``cost``: ``None`` without a price, else ``{"items", "workers_per_item",
    "price_per_task", "service_fee_per_object", "worker_cost", "service_fees", "total",
    "currency"}`` with ``worker_cost = workers_per_item * price_per_task * items`` and
    ``service_fees = service_fee_per_object * items`` (exact decimal arithmetic);
    ``job_cost``: what the job's workforce cost from its counted worker answers, as the caller
    computed it (``{"workforce", "answers", "priceUsdPerTask", "workforceCostUsd", "currency",
    "note"}``, see ``publish_job.cost``), or ``None``; ``calibration``: for single-label
    classification when manifest lines carry a known answer under ``<label attribute>-gold``
    (:func:`gt_contracts.gold_key`), ``{"gold_items", "labeled", "accuracy",
    "mean_confidence", "ece", "bins": [{"low", "high", "items", "mean_confidence",
    "accuracy"}]}`` over the labeled gold
    items (the reliability diagram: how often the consolidated label is right at each
    confidence), else ``None``.

Fetching the manifests and skill documents and uploading the page are left to the caller.
"""

from __future__ import annotations

import html
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from gt_contracts import CLASSIFICATION_TASK_TYPES, MULTILABEL_TASK_TYPES, TaskType, gold_key
from publish_results.manifest import Manifest, ManifestRecord

__all__ = ["BINS", "CostInputs", "build_report", "render_html"]

BINS = 10
_TOP_LABELS = 30
_TOP_REASONS = 20
_TOP_WORKERS = 50


@dataclass(frozen=True, kw_only=True)
class CostInputs:
    """What the job cost per task, all explicit.

    Attributes:
        price_per_task: what one worker is paid for one item (e.g. 0.036 USD).
        workers_per_item: workers asked per item.
        service_fee_per_object: a per-item platform fee (0 for none).
        currency: the currency of both prices.
    """

    price_per_task: float
    workers_per_item: int
    service_fee_per_object: float = 0.0
    currency: str = "USD"

    def __post_init__(self) -> None:
        if self.price_per_task < 0 or self.service_fee_per_object < 0:
            raise ValueError("prices must not be negative")
        if self.workers_per_item < 1:
            raise ValueError("workers_per_item must be at least 1")


# -- the report -----------------------------------------------------------------------------------


def build_report(
    manifest: Manifest,
    *,
    task_type: TaskType,
    skills: Sequence[Mapping[str, Any]] = (),
    cost: CostInputs | None = None,
    job_cost: Mapping[str, Any] | None = None,
    validation: Mapping[str, Any] | None = None,
    title: str = "Labeling job report",
) -> dict[str, Any]:
    """The quality report as a JSON-able dict (fields in the module docstring).

    Args:
        manifest: the read output manifest(s).
        task_type: the project's task type (decides how labels are counted).
        skills: the parsed worker-skill documents of the job.
        cost: the cost inputs, or ``None`` to leave cost out.
        job_cost: the job's workforce cost from its answers, or ``None``.
        validation: what Validate counted in the submitted manifest, or ``None``.
        title: the report's title.
    """
    records = manifest.records
    labeled = [r for r in records if r.status == "labeled"]
    unit, distribution = _label_distribution(labeled, task_type)
    workers, problems = _worker_table(skills)
    return {
        "title": title,
        "task_type": task_type,
        "items": len(records),
        "labeled": len(labeled),
        "no_consensus": _by_reason(records, "no-consensus"),
        "failed": _by_reason(records, "failed"),
        "unlabeled": _by_reason(records, "unlabeled"),
        "repeated_sources": len(manifest.duplicates),
        "invalid_output_lines": len(manifest.invalid),
        "validation": dict(validation) if validation is not None else None,
        "label_unit": unit,
        "label_distribution": distribution,
        "confidence": _confidence(labeled),
        "agreement": _agreement(labeled),
        "workers": workers,
        "skill_documents": len(skills),
        "skill_problems": problems,
        "cost": _cost(cost, len(records)),
        "job_cost": dict(job_cost) if job_cost is not None else None,
        "calibration": _calibration(records, task_type),
    }


def _by_reason(records: Sequence[ManifestRecord], status: str) -> dict[str, Any]:
    reasons = Counter(r.reason or status for r in records if r.status == status)
    return {"total": sum(reasons.values()), "by_reason": _ranked(reasons)}


def _ranked(counts: Counter[str]) -> dict[str, int]:
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _label_distribution(
    labeled: Sequence[ManifestRecord], task_type: TaskType
) -> tuple[str, dict[str, int]]:
    counts: Counter[str] = Counter()
    unit = "items"
    for record in labeled:
        label = record.label or {}
        if task_type in CLASSIFICATION_TASK_TYPES:
            name = label.get("class-name", label.get("class-id"))
            if name is not None:
                counts[str(name)] += 1
        elif task_type in MULTILABEL_TASK_TYPES:
            class_map = label.get("class-map") or {}
            counts.update(str(class_map.get(str(i), i)) for i in label.get("class-ids") or [])
        elif task_type == "bounding-box":
            unit = "boxes"
            block = label.get("consolidation") or {}
            class_map = block.get("class-map") or {}
            counts.update(
                str(class_map.get(str(a.get("class_id")), a.get("class_id")))
                for a in label.get("annotations") or []
            )
        elif task_type == "named-entity":
            unit = "entities"
            entities = (label.get("annotations") or {}).get("entities") or []
            counts.update(str(e.get("label")) for e in entities)
        elif task_type == "keypoint":
            unit = "keypoints"
            counts.update(str(p.get("label")) for p in label.get("keypoints") or [])
        elif task_type == "semantic-segmentation":
            unit = "images"
            counts.update(str(name) for name in label.get("class-confidence") or {})
        elif task_type == "numeric":
            if "value" in label:
                counts[str(label["value"])] += 1
        else:
            unit = "none"
    return unit, _ranked(counts)


def _bin(x: float) -> int:
    return min(max(math.floor(x * BINS + 1e-9), 0), BINS - 1)


def _confidence(labeled: Sequence[ManifestRecord]) -> dict[str, Any]:
    values = [c for c in (r.confidence for r in labeled) if c is not None]
    histogram = [0] * BINS
    for value in values:
        histogram[_bin(value)] += 1
    return {
        "items": len(values),
        "mean": round(sum(values) / len(values), 4) if values else None,
        "bins": [[round(i / BINS, 1), round((i + 1) / BINS, 1)] for i in range(BINS)],
        "histogram": histogram,
    }


def _calibration(records: Sequence[ManifestRecord], task_type: TaskType) -> dict[str, Any] | None:
    """The consolidated labels' confidence against the gold items' known answers."""
    if task_type not in CLASSIFICATION_TASK_TYPES:
        return None
    gold_items = 0
    pairs: list[tuple[float, bool]] = []
    for record in records:
        if record.label_attribute is None:
            continue
        gold = record.fields.get(gold_key(record.label_attribute))
        if not isinstance(gold, str):
            continue
        gold_items += 1
        confidence = record.confidence
        if record.status == "labeled" and record.label is not None and confidence is not None:
            pairs.append((confidence, record.label.get("class-name") == gold))
    if not gold_items:
        return None
    bins: list[dict[str, Any]] = []
    gap = 0.0
    for i in range(BINS):
        inside = [(c, right) for c, right in pairs if _bin(c) == i]
        conf = sum(c for c, _ in inside)
        right = sum(1 for _, r in inside if r)
        gap += abs(conf - right)
        bins.append(
            {
                "low": round(i / BINS, 1),
                "high": round((i + 1) / BINS, 1),
                "items": len(inside),
                "mean_confidence": round(conf / len(inside), 4) if inside else None,
                "accuracy": round(right / len(inside), 4) if inside else None,
            }
        )
    n = len(pairs)
    return {
        "gold_items": gold_items,
        "labeled": n,
        "accuracy": round(sum(1 for _, r in pairs if r) / n, 4) if n else None,
        "mean_confidence": round(sum(c for c, _ in pairs) / n, 4) if n else None,
        "ece": round(gap / n, 4) if n else None,
        "bins": bins,
    }


def _agreement(labeled: Sequence[ManifestRecord]) -> dict[str, Any]:
    shares: list[float] = []
    groups: Counter[tuple[int, int]] = Counter()
    for record in labeled:
        label = record.label or {}
        votes, chosen = label.get("votes"), label.get("class-name")
        if not isinstance(votes, Mapping) or not votes or chosen is None:
            continue
        counts = [v for v in votes.values() if isinstance(v, int) and not isinstance(v, bool)]
        workers = record.workers or sum(counts)
        agreeing = votes.get(chosen, 0)
        if workers <= 0 or not isinstance(agreeing, int):
            continue
        shares.append(agreeing / workers)
        groups[(agreeing, workers)] += 1
    return {
        "items": len(shares),
        "mean": round(sum(shares) / len(shares), 4) if shares else None,
        "distribution": [
            {"agreeing": a, "workers": w, "items": n}
            for (a, w), n in sorted(groups.items(), key=lambda kv: (kv[0][0] / kv[0][1], kv[0]))
        ],
    }


def _worker_table(skills: Sequence[Mapping[str, Any]]) -> tuple[list[dict[str, Any]], list[str]]:
    answers: Counter[str] = Counter()
    weighted: dict[str, float] = {}
    plain: dict[str, list[float]] = {}
    batches: Counter[str] = Counter()
    problems: list[str] = []
    for d, doc in enumerate(skills):
        entries = doc.get("workers") if isinstance(doc, Mapping) else None
        if not isinstance(entries, list):
            problems.append(f"document {d}: no 'workers' list")
            continue
        for i, entry in enumerate(entries):
            worker = entry.get("worker") if isinstance(entry, Mapping) else None
            count = entry.get("answers", 0) if isinstance(entry, Mapping) else None
            accuracy = entry.get("accuracy") if isinstance(entry, Mapping) else None
            if (
                not isinstance(worker, str)
                or isinstance(count, bool)
                or not isinstance(count, int)
                or isinstance(accuracy, bool)
                or not isinstance(accuracy, int | float)
            ):
                problems.append(f"document {d} workers[{i}]: needs worker, answers and accuracy")
                continue
            answers[worker] += count
            weighted[worker] = weighted.get(worker, 0.0) + count * float(accuracy)
            plain.setdefault(worker, []).append(float(accuracy))
            batches[worker] += 1
    table = []
    for worker in sorted(batches, key=lambda w: (-answers[w], w)):
        n = answers[worker]
        accuracy = weighted[worker] / n if n else sum(plain[worker]) / len(plain[worker])
        table.append(
            {
                "worker": worker,
                "answers": n,
                "accuracy": round(accuracy, 4),
                "batches": batches[worker],
            }
        )
    return table, problems


def _cost(inputs: CostInputs | None, items: int) -> dict[str, Any] | None:
    if inputs is None:
        return None
    price = Decimal(repr(inputs.price_per_task))
    fee = Decimal(repr(inputs.service_fee_per_object))
    worker_cost = price * inputs.workers_per_item * items
    service_fees = fee * items
    return {
        "items": items,
        "workers_per_item": inputs.workers_per_item,
        "price_per_task": inputs.price_per_task,
        "service_fee_per_object": inputs.service_fee_per_object,
        "worker_cost": float(worker_cost),
        "service_fees": float(service_fees),
        "total": float(worker_cost + service_fees),
        "currency": inputs.currency,
    }


# -- the HTML page --------------------------------------------------------------------------------

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;line-height:1.5;
color:#1f2933;background:#f7f8fa;margin:0;padding:2rem 1rem}
main{max-width:60rem;margin:0 auto}
h1{font-size:1.8rem;margin:0 0 .25rem}h2{font-size:1.25rem;margin:2rem 0 .5rem}
p.sub{color:#52606d;margin:0 0 1.5rem}
.tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(9rem,1fr));gap:.75rem}
.tile{background:#fff;border:1px solid #e4e7eb;border-radius:.5rem;padding:.75rem 1rem}
.tile b{display:block;font-size:1.5rem;font-variant-numeric:tabular-nums}
.tile span{color:#52606d;font-size:.9rem}
section{background:#fff;border:1px solid #e4e7eb;border-radius:.5rem;padding:1rem 1.25rem;
margin-top:1rem}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #e4e7eb;vertical-align:top}
td.n,th.n{text-align:right}
svg{display:block;max-width:100%;height:auto}
svg text{font-family:inherit;font-size:12px;fill:#1f2933}
.muted{color:#7b8794}
"""


def render_html(report: Mapping[str, Any]) -> str:
    """One self-contained HTML page for a :func:`build_report` dict."""
    title = str(report.get("title", "Labeling job report"))
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width,initial-scale=1">',
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body><main>",
        f"<h1>{_e(title)}</h1>",
        f'<p class="sub">Task type: {_e(report.get("task_type", ""))}</p>',
        _tiles(report),
        _manifest_section(report),
        _labels_section(report),
        _confidence_section(report),
        _calibration_section(report),
        _agreement_section(report),
        _reasons_section(report),
        _workers_section(report),
        _job_cost_section(report),
        _cost_section(report),
        "</main></body></html>",
    ]
    return "\n".join(parts) + "\n"


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.{digits}f}".rstrip("0").rstrip(".") if value % 1 else f"{value:.0f}"
    return str(value)


def _tiles(report: Mapping[str, Any]) -> str:
    tiles = [
        ("items", report.get("items")),
        ("labeled", report.get("labeled")),
        ("no consensus", report.get("no_consensus", {}).get("total")),
        ("failed", report.get("failed", {}).get("total")),
        ("unlabeled", report.get("unlabeled", {}).get("total")),
        ("lines rejected", (report.get("validation") or {}).get("rejected")),
        ("repeated sources", report.get("repeated_sources")),
        ("mean confidence", report.get("confidence", {}).get("mean")),
    ]
    cells = "".join(
        f'<div class="tile"><b>{_e(_fmt(v))}</b><span>{_e(k)}</span></div>' for k, v in tiles
    )
    return f'<div class="tiles">{cells}</div>'


def _section(title: str, body: str) -> str:
    return f"<section><h2>{_e(title)}</h2>{body}</section>"


def _manifest_section(report: Mapping[str, Any]) -> str:
    validation = report.get("validation")
    if not validation:
        return _section("Submitted manifest", '<p class="muted">No validation counts.</p>')
    rows = [
        ("manifest", _e(validation.get("manifest") or "n/a")),
        ("lines read", _e(validation.get("lines"))),
        ("accepted", _e(validation.get("accepted"))),
        ("blank", _e(validation.get("blank"))),
        ("rejected", _e(validation.get("rejected"))),
    ]
    rows += [
        (f"rejected: {reason}", _e(count))
        for reason, count in (validation.get("byReason") or {}).items()
    ]
    body = "".join(f'<tr><th>{_e(k)}</th><td class="n">{v}</td></tr>' for k, v in rows)
    rejects = validation.get("rejectsUri")
    note = (
        f'<p class="muted">Each rejected line, with its number and reason: {_e(rejects)}</p>'
        if rejects and validation.get("rejected")
        else ""
    )
    return _section("Submitted manifest", f"<table><tbody>{body}</tbody></table>{note}")


def _labels_section(report: Mapping[str, Any]) -> str:
    distribution: Mapping[str, int] = report.get("label_distribution") or {}
    unit = str(report.get("label_unit", "items"))
    if not distribution:
        return _section("Labels", '<p class="muted">No label counts for this task type.</p>')
    rows = list(distribution.items())
    shown = rows[:_TOP_LABELS]
    rest = rows[_TOP_LABELS:]
    if rest:
        shown.append((f"{len(rest)} other labels", sum(n for _, n in rest)))
    chart = _hbars([(name, float(n), str(n)) for name, n in shown])
    return _section(f"Labels ({unit})", chart)


def _confidence_section(report: Mapping[str, Any]) -> str:
    confidence = report.get("confidence") or {}
    histogram: list[int] = confidence.get("histogram") or [0] * BINS
    bins: list[list[float]] = confidence.get("bins") or []
    labels = [f"{lo:.1f}" for lo, _ in bins] or [f"{i / BINS:.1f}" for i in range(BINS)]
    note = (
        f'<p class="muted">{_e(confidence.get("items", 0))} labeled items with a confidence; '
        f"mean {_e(_fmt(confidence.get('mean')))}. Bins are [low, low + 0.1), the last "
        "includes 1.0.</p>"
    )
    return _section("Confidence", _vbars(list(zip(labels, histogram, strict=False))) + note)


def _calibration_section(report: Mapping[str, Any]) -> str:
    calibration = report.get("calibration")
    if not calibration:
        return ""
    note = (
        f'<p class="muted">{_e(calibration["labeled"])} of {_e(calibration["gold_items"])} '
        f"gold items labeled: accuracy {_e(_fmt(calibration['accuracy']))}, mean confidence "
        f"{_e(_fmt(calibration['mean_confidence']))}, expected calibration error "
        f"{_e(_fmt(calibration['ece']))}. Each bar is how often the label was right among "
        "the gold items whose confidence falls in the bin; a calibrated confidence puts the "
        "bar on the diagonal.</p>"
    )
    return _section("Confidence against gold items", _reliability(calibration["bins"]) + note)


def _agreement_section(report: Mapping[str, Any]) -> str:
    agreement = report.get("agreement") or {}
    rows = agreement.get("distribution") or []
    if not rows:
        body = '<p class="muted">Not computable: the label values carry no votes.</p>'
        return _section("Worker agreement", body)
    bars = [
        (f"{r['agreeing']} of {r['workers']} agree", float(r["items"]), str(r["items"]))
        for r in rows
    ]
    note = (
        f'<p class="muted">Mean share of workers agreeing with the consensus: '
        f"{_e(_fmt(agreement.get('mean')))} over {_e(agreement.get('items'))} items.</p>"
    )
    return _section("Worker agreement", _hbars(bars) + note)


def _reasons_section(report: Mapping[str, Any]) -> str:
    rows = []
    statuses = (("no_consensus", "no consensus"), ("failed", "failed"), ("unlabeled", "unlabeled"))
    for key, name in statuses:
        reasons: Mapping[str, int] = (report.get(key) or {}).get("by_reason") or {}
        items = list(reasons.items())
        for reason, n in items[:_TOP_REASONS]:
            rows.append(f'<tr><td>{_e(name)}</td><td>{_e(reason)}</td><td class="n">{n}</td></tr>')
        if len(items) > _TOP_REASONS:
            more = sum(n for _, n in items[_TOP_REASONS:])
            rows.append(
                f'<tr><td>{_e(name)}</td><td class="muted">'
                f'{len(items) - _TOP_REASONS} other reasons</td><td class="n">{more}</td></tr>'
            )
    if not rows:
        return _section("Items without a label", '<p class="muted">None.</p>')
    table = (
        '<table><thead><tr><th>status</th><th>reason</th><th class="n">items</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )
    return _section("Items without a label", table)


def _workers_section(report: Mapping[str, Any]) -> str:
    workers: list[Mapping[str, Any]] = report.get("workers") or []
    if not workers:
        return _section("Worker skill", '<p class="muted">No worker-skill documents.</p>')
    shown = workers[:_TOP_WORKERS]
    chart = _hbars(
        [(str(w["worker"]), float(w["accuracy"]), _fmt(w["accuracy"])) for w in shown],
        scale=1.0,
    )
    rows = "".join(
        f'<tr><td>{_e(w["worker"])}</td><td class="n">{_e(w["answers"])}</td>'
        f'<td class="n">{_e(_fmt(w["accuracy"]))}</td><td class="n">{_e(w["batches"])}</td></tr>'
        for w in shown
    )
    more = (
        f'<p class="muted">{len(workers) - _TOP_WORKERS} more workers not shown.</p>'
        if len(workers) > _TOP_WORKERS
        else ""
    )
    table = (
        '<table><thead><tr><th>worker</th><th class="n">answers</th>'
        '<th class="n">accuracy</th><th class="n">batches</th></tr></thead>'
        f"<tbody>{rows}</tbody></table>"
    )
    return _section("Worker skill (estimated accuracy)", chart + table + more)


def _job_cost_section(report: Mapping[str, Any]) -> str:
    cost = report.get("job_cost")
    if not cost:
        return ""
    currency = _e(cost.get("currency", "USD"))
    price = cost.get("priceUsdPerTask")
    total = cost.get("workforceCostUsd")
    rows = [
        ("workforce", _e(cost.get("workforce") or "not given")),
        ("worker answers (tasks)", _e(cost.get("answers"))),
        ("price per task", f"{_e(_fmt(price))} {currency}" if price is not None else "n/a"),
        (
            "workforce cost",
            f"<b>{_e(_fmt(total))} {currency}</b>" if total is not None else "<b>unknown</b>",
        ),
    ]
    body = "".join(f'<tr><th>{_e(k)}</th><td class="n">{v}</td></tr>' for k, v in rows)
    note = f'<p class="muted">{_e(cost.get("note", ""))}</p>'
    return _section("Workforce cost", f"<table><tbody>{body}</tbody></table>{note}")


def _cost_section(report: Mapping[str, Any]) -> str:
    cost = report.get("cost")
    if not cost and report.get("job_cost"):
        return ""  # the workforce-cost section stands for the job's cost
    if not cost:
        return _section("Cost", '<p class="muted">No prices given.</p>')
    currency = _e(cost["currency"])
    rows = [
        ("items", _e(cost["items"])),
        ("workers per item", _e(cost["workers_per_item"])),
        ("price per task", f"{_e(_fmt(cost['price_per_task']))} {currency}"),
        ("service fee per object", f"{_e(_fmt(cost['service_fee_per_object']))} {currency}"),
        ("worker cost", f"{_e(_fmt(cost['worker_cost']))} {currency}"),
        ("service fees", f"{_e(_fmt(cost['service_fees']))} {currency}"),
        ("total", f"<b>{_e(_fmt(cost['total']))} {currency}</b>"),
    ]
    body = "".join(f'<tr><th>{_e(k)}</th><td class="n">{v}</td></tr>' for k, v in rows)
    return _section("Cost", f"<table><tbody>{body}</tbody></table>")


# -- inline SVG charts ----------------------------------------------------------------------------


def _short(text: str, limit: int = 28) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _hbars(rows: Iterable[tuple[str, float, str]], *, scale: float | None = None) -> str:
    """Horizontal bars: one ``(label, value, shown value)`` per row."""
    rows = list(rows)
    top = scale if scale is not None else max((v for _, v, _ in rows), default=0.0)
    top = top or 1.0
    label_w, bar_w, row_h = 200, 420, 22
    height = row_h * len(rows) + 4
    out = [
        f'<svg role="img" viewBox="0 0 {label_w + bar_w + 70} {height}" '
        f'width="{label_w + bar_w + 70}" height="{height}">'
    ]
    for i, (label, value, shown) in enumerate(rows):
        y = i * row_h + 2
        width = max(value / top * bar_w, 0.0)
        out.append(
            f"<g><title>{_e(label)}: {_e(shown)}</title>"
            f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end">{_e(_short(label))}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{width:.1f}" height="{row_h - 6}" '
            'fill="#3e7cb1" rx="2"></rect>'
            f'<text x="{label_w + width + 6:.1f}" y="{y + 15}">{_e(shown)}</text></g>'
        )
    out.append("</svg>")
    return "".join(out)


def _reliability(bins: Sequence[Mapping[str, Any]]) -> str:
    """The reliability diagram: per confidence bin, the share right, against the diagonal."""
    col_w, plot_h, pad = 56, 160, 24
    width = col_w * len(bins) + 8
    base = pad + plot_h
    out = [
        f'<svg role="img" viewBox="0 0 {width} {plot_h + 2 * pad}" width="{width}" '
        f'height="{plot_h + 2 * pad}">',
        f'<line x1="4" y1="{base}" x2="{width - 4}" y2="{pad}" stroke="#9aa5b1" '
        'stroke-dasharray="4 3"></line>',
    ]
    for i, row in enumerate(bins):
        x = i * col_w + 4
        label = f"{row['low']:.1f}"
        accuracy = row.get("accuracy")
        if accuracy is None:
            out.append(
                f'<text x="{x + col_w / 2:.1f}" y="{base + 16}" text-anchor="middle">'
                f"{_e(label)}</text>"
            )
            continue
        h = accuracy * plot_h
        out.append(
            f"<g><title>{_e(label)}: {row['items']} items, {accuracy:.0%} right</title>"
            f'<rect x="{x + 6}" y="{base - h:.1f}" width="{col_w - 12}" height="{h:.1f}" '
            'fill="#3e7cb1" fill-opacity="0.8" rx="2"></rect>'
            f'<text x="{x + col_w / 2:.1f}" y="{base - h - 4:.1f}" text-anchor="middle">'
            f"{row['items']}</text>"
            f'<text x="{x + col_w / 2:.1f}" y="{base + 16}" text-anchor="middle">'
            f"{_e(label)}</text></g>"
        )
    out.append("</svg>")
    return "".join(out)


def _vbars(rows: Sequence[tuple[str, int]]) -> str:
    """Vertical bars (the confidence histogram): one ``(bin label, count)`` per bin."""
    top = max((n for _, n in rows), default=0) or 1
    col_w, plot_h, pad = 56, 160, 24
    width = col_w * len(rows) + 8
    out = [
        f'<svg role="img" viewBox="0 0 {width} {plot_h + 2 * pad}" width="{width}" '
        f'height="{plot_h + 2 * pad}">'
    ]
    for i, (label, n) in enumerate(rows):
        h = n / top * plot_h
        x = i * col_w + 4
        y = pad + plot_h - h
        out.append(
            f"<g><title>{_e(label)}: {n}</title>"
            f'<rect x="{x + 6}" y="{y:.1f}" width="{col_w - 12}" height="{h:.1f}" '
            'fill="#3e7cb1" rx="2"></rect>'
            f'<text x="{x + col_w / 2:.1f}" y="{y - 4:.1f}" text-anchor="middle">{n}</text>'
            f'<text x="{x + col_w / 2:.1f}" y="{plot_h + pad + 16}" '
            f'text-anchor="middle">{_e(label)}</text></g>'
        )
    out.append("</svg>")
    return "".join(out)
