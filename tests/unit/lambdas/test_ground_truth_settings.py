from __future__ import annotations

import json
from dataclasses import fields

import pytest

from post_annotation import settings as post_settings
from pre_annotation import settings as pre_settings

PROJECTS = json.dumps({"pets": {"task_type": "bounding-box", "labels": ["dog", "cat"]}})


def test_pre_annotation_settings_read_the_projects():
    settings = pre_settings.Settings.from_env({"LABELFLOW_PROJECTS": PROJECTS})

    assert settings.labelflow_projects["pets"].labels == ("dog", "cat")


def test_post_annotation_settings_read_projects_and_bucket():
    settings = post_settings.Settings.from_env(
        {
            "LABELFLOW_PROJECTS": PROJECTS,
            "ARTIFACTS_BUCKET": "labelflow-artifacts",
            "SKILLS_TABLE": "skills",
        }
    )

    assert settings.artifacts_bucket == "labelflow-artifacts"
    assert settings.skills_table == "skills"
    assert settings.labelflow_projects["pets"].task_type == "bounding-box"


@pytest.mark.parametrize(
    ("module", "variables"),
    [
        (pre_settings, {"LABELFLOW_PROJECTS"}),
        (post_settings, {"LABELFLOW_PROJECTS", "ARTIFACTS_BUCKET", "SKILLS_TABLE", "TOPIC_ARN"}),
    ],
)
def test_settings_fields_name_their_environment_variables(module, variables):
    declared = {f.metadata["env"] for f in fields(module.Settings)}

    assert declared == variables
    assert {f.name.upper() for f in fields(module.Settings)} == variables


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({}, "LABELFLOW_PROJECTS is missing or empty"),
        ({"LABELFLOW_PROJECTS": "{oops"}, "LABELFLOW_PROJECTS is not valid JSON"),
        (
            {"LABELFLOW_PROJECTS": json.dumps({"pets": {"task_type": "boxes"}})},
            r"LABELFLOW_PROJECTS\['pets'\]\.task_type 'boxes'",
        ),
    ],
)
@pytest.mark.parametrize("module", [pre_settings, post_settings])
def test_settings_reject_bad_projects(module, environ, message):
    environ = {"ARTIFACTS_BUCKET": "bucket", "SKILLS_TABLE": "skills", **environ}

    with pytest.raises(module.SettingsError, match=message):
        module.Settings.from_env(environ)


@pytest.mark.parametrize(
    ("bucket", "message"),
    [
        (None, "ARTIFACTS_BUCKET is missing or empty"),
        ("  ", "ARTIFACTS_BUCKET is missing or empty"),
        ("s3://bucket", "ARTIFACTS_BUCKET must be a bucket name"),
        ("bucket/prefix", "ARTIFACTS_BUCKET must be a bucket name"),
    ],
)
def test_post_annotation_settings_reject_a_bad_bucket(bucket, message):
    environ = {"LABELFLOW_PROJECTS": PROJECTS, "SKILLS_TABLE": "skills"}
    if bucket is not None:
        environ["ARTIFACTS_BUCKET"] = bucket

    with pytest.raises(post_settings.SettingsError, match=message):
        post_settings.Settings.from_env(environ)


@pytest.mark.parametrize("module", [pre_settings, post_settings])
def test_get_settings_parses_the_process_environment_once(module, monkeypatch):
    monkeypatch.setenv("LABELFLOW_PROJECTS", PROJECTS)
    monkeypatch.setenv("ARTIFACTS_BUCKET", "bucket")
    monkeypatch.setenv("SKILLS_TABLE", "skills")
    module.get_settings.cache_clear()
    try:
        first = module.get_settings()
        monkeypatch.setenv("LABELFLOW_PROJECTS", "{broken")

        assert module.get_settings() is first
    finally:
        module.get_settings.cache_clear()
