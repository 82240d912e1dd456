"""Worker UIs rendered at synthesis and uploaded by a bucket deployment."""

from __future__ import annotations

from typing import Any

import pytest

from infra.config import ConfigError, ProjectConfig
from infra.constructs.worker_templates import template_files
from tests.infra.template_helpers import resources


def project(**overrides: Any) -> ProjectConfig:
    fields: dict[str, Any] = {
        "name": "pets",
        "task_type": "image-classification",
        "labels": ("cat", "dog"),
        "short_instruction": "Pick the animal.",
        "full_instruction": "Pick the animal you see.",
        "workers_per_item": 3,
        **overrides,
    }
    return ProjectConfig(**fields)


def test_a_project_gets_its_three_ui_files() -> None:
    files = template_files(project())
    assert set(files) == {"pets.liquid.html", "pets.review.liquid.html", "pets.labelstudio.xml"}
    assert "crowd-image-classifier" in files["pets.liquid.html"]
    assert files["pets.labelstudio.xml"].lstrip().startswith("<View")


def test_free_text_gets_a_label_studio_config_per_source_kind() -> None:
    files = template_files(project(task_type="free-text", labels=()))
    assert {"pets.image.labelstudio.xml", "pets.text.labelstudio.xml"} <= set(files)
    assert "$image" in files["pets.image.labelstudio.xml"]
    assert "$text" in files["pets.text.labelstudio.xml"]


def test_a_ui_that_cannot_be_generated_fails_synthesis_naming_the_project() -> None:
    many = tuple(f"label-{i}" for i in range(12))
    with pytest.raises(ConfigError, match="project 'pets': its worker UI cannot be generated"):
        template_files(project(labels=many))


def test_the_stack_uploads_templates_with_pruning(template_json: dict[str, Any]) -> None:
    (deployment,) = resources(template_json, "Custom::CDKBucketDeployment").values()
    properties = deployment["Properties"]
    assert properties["DestinationBucketKeyPrefix"] == "templates/"
    assert properties["Prune"] is True
    # One data source per file: three for each of the two test projects.
    assert len(properties["SourceObjectKeys"]) == 6
