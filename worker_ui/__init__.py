"""LabelFlow's task-type catalog: worker UIs generated from one task spec per project.

From a project (``infra.config.ProjectConfig``: task type, labels, instructions, examples)
LabelFlow generates both worker UIs with the same labels, instructions and keyboard shortcuts:

- :func:`ground_truth_template`: the Ground Truth worker template (Liquid, crowd elements);
- :func:`review_template`: the A2I human-review template, the model's prediction pre-filled;
- :func:`label_studio_config`: the Label Studio labeling config (XML).

Rendering them offline (tests, ``labelflow preview``) is in :mod:`worker_ui.liquid`.
"""

from worker_ui.ground_truth import MAX_TEMPLATE_CHARS, ground_truth_template, review_template
from worker_ui.label_studio import DATA_KEYS, label_studio_config
from worker_ui.spec import HOTKEYS, ExampleSpec, TaskSpec, answer_name, hotkeys

__all__ = [
    "DATA_KEYS",
    "HOTKEYS",
    "MAX_TEMPLATE_CHARS",
    "ExampleSpec",
    "TaskSpec",
    "answer_name",
    "ground_truth_template",
    "hotkeys",
    "label_studio_config",
    "review_template",
]
