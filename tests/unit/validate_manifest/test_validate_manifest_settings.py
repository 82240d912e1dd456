from __future__ import annotations

from dataclasses import fields

import pytest

from validate_manifest.settings import Settings, SettingsError
from validate_manifest.sources import DataSource


def test_validate_manifest_settings_read_bucket_and_limit():
    settings = Settings.from_env(
        {"RESULTS_BUCKET": "labelflow-results", "MAX_OBJECTS_PER_JOB": "5000"}
    )

    assert (settings.results_bucket, settings.max_objects_per_job) == ("labelflow-results", 5000)


def test_validate_manifest_settings_default_to_the_ground_truth_quota():
    assert Settings.from_env({"RESULTS_BUCKET": "labelflow-results"}).max_objects_per_job == 100_000


def test_validate_manifest_settings_read_the_data_sources():
    settings = Settings.from_env(
        {
            "RESULTS_BUCKET": "labelflow-results",
            "DATA_SOURCES": '[{"bucket":"data-lake","prefixes":["images/"]},'
            '{"bucket":"archive","prefixes":[]}]',
        }
    )

    assert settings.data_sources == (
        DataSource("data-lake", ("images/",)),
        DataSource("archive", ()),
    )


def test_validate_manifest_settings_have_no_data_sources_by_default():
    assert Settings.from_env({"RESULTS_BUCKET": "labelflow-results"}).data_sources == ()
    assert Settings.from_env({"RESULTS_BUCKET": "r-1", "DATA_SOURCES": "[]"}).data_sources == ()


def test_validate_manifest_settings_fields_name_their_environment_variables():
    declared = {f.metadata["env"] for f in fields(Settings)}

    assert declared == {"RESULTS_BUCKET", "MAX_OBJECTS_PER_JOB", "DATA_SOURCES"}
    assert {f.name.upper() for f in fields(Settings)} == declared


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({}, "RESULTS_BUCKET is missing or empty"),
        ({"RESULTS_BUCKET": "  "}, "RESULTS_BUCKET is missing or empty"),
        ({"RESULTS_BUCKET": "s3://labelflow-results"}, "RESULTS_BUCKET must be a bucket name"),
        (
            {"RESULTS_BUCKET": "b-1", "MAX_OBJECTS_PER_JOB": "many"},
            "MAX_OBJECTS_PER_JOB must be a positive integer, got 'many'",
        ),
        (
            {"RESULTS_BUCKET": "b-1", "MAX_OBJECTS_PER_JOB": "0"},
            "MAX_OBJECTS_PER_JOB must be a positive integer, got '0'",
        ),
        ({"RESULTS_BUCKET": "b-1", "DATA_SOURCES": "[{"}, "DATA_SOURCES is not valid JSON"),
        (
            {"RESULTS_BUCKET": "b-1", "DATA_SOURCES": '{"bucket":"lake"}'},
            "DATA_SOURCES must be a JSON list of data sources",
        ),
        (
            {"RESULTS_BUCKET": "b-1", "DATA_SOURCES": '[{"bucket":"s3://lake"}]'},
            "DATA_SOURCES entry 0: bucket must be a bucket name",
        ),
        (
            {"RESULTS_BUCKET": "b-1", "DATA_SOURCES": '[{"bucket":"lake","prefixes":[""]}]'},
            "DATA_SOURCES entry 0: prefixes must be a list of non-empty key prefixes",
        ),
    ],
)
def test_validate_manifest_settings_reject_bad_variables(environ, message):
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(environ)
