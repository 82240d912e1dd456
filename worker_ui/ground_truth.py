"""Ground Truth / A2I worker templates (Liquid + crowd HTML elements), one per task type.

A template reads only the ``taskInput`` keys the pre-annotation Lambda produces
(``gt_contracts.TASK_INPUT_KEYS``); a review template also reads the two keys a review
adds (``prediction`` and ``confidence``, ``gt_contracts.REVIEW_TASK_INPUT_KEYS``).
Everything read from ``task.input`` is autoescaped by Ground Truth; instructions are shown as
text (line breaks kept), never as markup.

The project's examples are constant per project, so they are baked into the template when it
is generated, HTML-escaped and with ``{``/``}`` written as character references so that no
example text can start a Liquid tag. The templates list no keyboard shortcuts: nothing in a
Ground Truth or A2I page would bind them (the crowd elements keep their own keyboard
handling); Label Studio's config binds each label's key (``hotkey``) and lists it.

The answer element is named after the project's ``answer_name`` (``"answer"`` when unset) and
submits the shape docs/contracts.md lists for the task type.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from gt_contracts import TaskType
from worker_ui.spec import ExampleSpec, TaskSpec, answer_name, task_type_of

__all__ = ["MAX_TEMPLATE_CHARS", "ground_truth_template", "review_template"]

#: CreateHumanTaskUi / RenderUiTemplate limit on template text (also assumed for GT's S3 URI).
MAX_TEMPLATE_CHARS = 128_000

# Documented element limits (crowd-image-classifier categories, crowd-bounding-box labels).
_MAX_ELEMENT_LABELS: Mapping[str, int] = {
    "image-classification": 10,
    "bounding-box": 10,
}

_SCRIPT = '<script src="https://assets.crowd.aws/crowd-html-elements.js"></script>'
_SRC = "{{ task.input.taskObject | grant_read_access }}"
_LABELS_JSON = "{{ task.input.labels | to_json | escape }}"
_HEADER = "{{ task.input.shortInstruction }}"
_TEXT_ITEM = '<div class="labelflow-item">{{ task.input.taskObject }}</div>'
_IMAGE_ITEM = f'<img class="labelflow-item" src="{_SRC}" alt="the item to label">'
_EITHER_ITEM = (
    '{% if task.input.sourceKind == "s3" %}'
    + _IMAGE_ITEM
    + "{% else %}"
    + _TEXT_ITEM
    + "{% endif %}"
)
_CONFIDENCE = "{{ task.input.confidence | times: 100 | round }}%"

_STYLE = """<style>
  .labelflow-item { white-space: pre-wrap; max-width: 100%; }
  .labelflow-instruction { white-space: pre-wrap; }
  .labelflow-keys td, .labelflow-keys th { padding: 0 8px; text-align: left; }
  .labelflow-example { border-left: 4px solid #2ca02c; margin: 8px 0; padding: 4px 8px; }
  .labelflow-example.bad { border-left-color: #d62728; }
  .labelflow-example img { max-width: 240px; display: block; }
</style>"""


@dataclass(frozen=True, slots=True)
class _Element:
    """How one task type's answer element is written.

    ``tag`` and ``attributes`` open the element (Liquid inside attribute values);
    ``review_attributes`` pre-fill it in review templates; ``body`` goes inside it before the
    instruction regions; ``before`` goes before it (the item, for elements that do not show
    it); ``regions_inside`` says whether the element takes the instruction regions (else the
    form does); ``in_form`` is false for elements that bring their own crowd-form.
    """

    tag: str
    attributes: str
    review_attributes: str = ""
    body: str = ""
    before: str = ""
    regions_inside: bool = True
    in_form: bool = True
    prediction: str = ""  # how the review note names the model's prediction


def _elements(name: str) -> Mapping[TaskType, _Element]:
    labels_attr = f'labels="{_LABELS_JSON}"'
    categories_attr = f'categories="{_LABELS_JSON}"'
    image = f'name="{name}" src="{_SRC}" header="{_HEADER}"'
    entity_labels = (
        "labels='[{% for label in task.input.labels %}"
        '{"label": {{ label | to_json | escape }}}'
        "{% unless forloop.last %},{% endunless %}{% endfor %}]'"
    )
    return {
        "image-classification": _Element(
            "crowd-image-classifier",
            f"{image} {categories_attr}",
            prediction="<b>{{ task.input.prediction.label }}</b>",
        ),
        "image-classification-multilabel": _Element(
            "crowd-image-classifier-multi-select",
            f"{image} {categories_attr}",
            prediction='<b>{{ task.input.prediction.labels | join: ", " }}</b>',
        ),
        "text-classification": _Element(
            "crowd-classifier",
            f'name="{name}" header="{_HEADER}" {categories_attr}',
            review_attributes='initial-value="{{ task.input.prediction.label }}"',
            body=f"<classification-target>{_TEXT_ITEM}</classification-target>",
            prediction="<b>{{ task.input.prediction.label }}</b>",
        ),
        "text-classification-multilabel": _Element(
            "crowd-classifier-multi-select",
            f'name="{name}" header="{_HEADER}" {categories_attr}',
            body=f"<classification-target>{_TEXT_ITEM}</classification-target>",
            prediction='<b>{{ task.input.prediction.labels | join: ", " }}</b>',
        ),
        "bounding-box": _Element(
            "crowd-bounding-box",
            f"{image} {labels_attr}",
            review_attributes=(
                'initial-value="{{ task.input.prediction.boundingBoxes | to_json | escape }}"'
            ),
            prediction="the {{ task.input.prediction.boundingBoxes | size }} boxes drawn",
        ),
        "semantic-segmentation": _Element(
            "crowd-semantic-segmentation",
            f"{image} {labels_attr}",
            review_attributes=(
                'initial-value=\'{"labelMappings": '
                "{{ task.input.prediction.labelMappings | to_json | escape }}, "
                '"src": {{ task.input.prediction.src | grant_read_access | to_json | escape }}}\''
            ),
            prediction="the mask painted",
        ),
        "named-entity": _Element(
            "crowd-entity-annotation",
            f'name="{name}" header="{_HEADER}" {entity_labels} '
            'text="{{ task.input.taskObject }}"',
            review_attributes=(
                "initial-value='{{ task.input.prediction.entities | to_json | escape }}'"
            ),
            in_form=False,  # the element brings its own crowd-form and submit button
            prediction="the {{ task.input.prediction.entities | size }} highlighted entities",
        ),
        "free-text": _Element(
            "crowd-text-area",
            f'name="{name}" label="Your answer" rows="4" required',
            review_attributes='value="{{ task.input.prediction }}"',
            before=_EITHER_ITEM,
            regions_inside=False,
            prediction="the text already in the answer box",
        ),
        "numeric": _Element(
            "crowd-input",
            f'name="{name}" type="number" label="Your answer" required',
            review_attributes='value="{{ task.input.prediction }}"',
            before=_EITHER_ITEM,
            regions_inside=False,
            prediction="<b>{{ task.input.prediction }}</b>",
        ),
        "keypoint": _Element(
            "crowd-keypoint",
            f"{image} {labels_attr}",
            review_attributes=(
                'initial-value="{{ task.input.prediction.keypoints | to_json | escape }}"'
            ),
            prediction="the {{ task.input.prediction.keypoints | size }} points placed",
        ),
    }


def ground_truth_template(spec: TaskSpec) -> str:
    """The Ground Truth worker template (Liquid HTML) for a project.

    Args:
        spec: the project (``infra.config.ProjectConfig`` or any :class:`TaskSpec`).

    Returns:
        The template text, to upload as ``templates/<project>.liquid.html``.

    Raises:
        ValueError: an unknown task type, more labels than the crowd element shows, an example
            image that is not an https:// URL, or a template over 128,000 characters.
    """
    return _template(spec, review=False)


def review_template(spec: TaskSpec) -> str:
    """The A2I human-review template for a project: the model's prediction, pre-filled.

    Reads the pre-annotation keys plus ``prediction`` (in the shape the answer element submits;
    for segmentation ``{"labelMappings", "src"}``) and ``confidence`` (0 to 1). The worker's
    answer has the same shape as in :func:`ground_truth_template`, so the same consolidation
    reads it.

    Raises:
        ValueError: as :func:`ground_truth_template`.
    """
    return _template(spec, review=True)


def _template(spec: TaskSpec, *, review: bool) -> str:
    task_type = task_type_of(spec)
    limit = _MAX_ELEMENT_LABELS.get(task_type)
    if limit is not None and len(spec.labels) > limit:
        raise ValueError(
            f"project {spec.name!r}: the {task_type} worker element shows at most {limit} "
            f"labels, the project has {len(spec.labels)}"
        )
    element = _elements(_bake(answer_name(spec)))[task_type]
    regions = _regions(spec.examples, review=review, element=element)
    attributes = element.attributes
    if review and element.review_attributes:
        attributes = f"{attributes} {element.review_attributes}"
    inside = "\n".join(
        part for part in (element.body, regions if element.regions_inside else "") if part
    )
    widget = f"<{element.tag} {attributes}>\n{inside}\n</{element.tag}>"
    outside_regions = "" if element.regions_inside else regions
    body = "\n".join(part for part in (outside_regions, element.before, widget) if part)
    if element.in_form:
        body = f"<crowd-form>\n{body}\n</crowd-form>"
    template = f"{_SCRIPT}\n{_STYLE}\n{body}\n"
    if len(template) > MAX_TEMPLATE_CHARS:
        raise ValueError(
            f"project {spec.name!r}: the worker template has {len(template):,} characters; "
            f"Ground Truth and A2I accept at most {MAX_TEMPLATE_CHARS:,} (shorten the examples)"
        )
    return template


def _regions(examples: Sequence[ExampleSpec], *, review: bool, element: _Element) -> str:
    shown_examples = _examples(examples)
    review_note = (
        '<crowd-alert type="info">The model suggests '
        f"{element.prediction} (confidence {_CONFIDENCE}). "
        "Keep it if it is right; correct it if it is not.</crowd-alert>"
        if review
        else ""
    )
    short = "\n".join(
        part
        for part in (
            review_note,
            '<p class="labelflow-instruction">{{ task.input.shortInstruction }}</p>',
            shown_examples,
        )
        if part
    )
    full = "\n".join(
        part
        for part in (
            '<div class="labelflow-instruction">{{ task.input.fullInstruction }}</div>',
            shown_examples,
        )
        if part
    )
    return (
        f"<short-instructions>\n{short}\n</short-instructions>\n"
        f'<full-instructions header="Instructions">\n{full}\n</full-instructions>'
    )


def _examples(examples: Sequence[ExampleSpec]) -> str:
    if not examples:
        return ""
    parts = ["<h4>Examples</h4>"]
    for example in examples:
        if example.image_url is not None:
            if not example.image_url.startswith("https://"):
                raise ValueError(f"example image {example.image_url!r} is not an https:// URL")
            item = f'<img src="{_bake(example.image_url)}" alt="example">'
        else:
            item = f'<div class="labelflow-item">{_bake(example.text or "")}</div>'
        verdict = "Good" if example.kind == "good" else "Bad"
        parts.append(
            f'<div class="labelflow-example {example.kind}"><b>{verdict} example</b>: '
            f"<b>{_bake(example.label)}</b>{item}<span>{_bake(example.why)}</span></div>"
        )
    return "\n".join(parts)


def _bake(text: str) -> str:
    """Project text as inert template source: HTML-escaped, and no Liquid delimiters."""
    return html.escape(text, quote=True).replace("{", "&#123;").replace("}", "&#125;")
