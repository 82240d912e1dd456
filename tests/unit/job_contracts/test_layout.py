"""Every S3 key of a job, and Ground Truth's layout inside a labeling job's folder."""

from __future__ import annotations

import pytest

from job_contracts.layout import (
    JobLayout,
    LabelingJobFolder,
    audit_key,
    labelstudio_config_key,
    masks_prefix,
    payload_digest,
    rejection_key,
    skills_key,
    skills_prefix,
    template_key,
)


def test_a_jobs_files_in_the_results_bucket() -> None:
    layout = JobLayout("ab12")

    assert layout.clean_manifest == "jobs/ab12/manifest.clean.jsonl"
    assert layout.rejects == "jobs/ab12/rejects.jsonl"
    assert layout.validation == "jobs/ab12/validation.json"
    assert layout.chunk(3) == "jobs/ab12/chunks/3.manifest"
    assert layout.label_categories == "jobs/ab12/label-categories.json"
    assert layout.ground_truth_output == "jobs/ab12/gt/"
    assert layout.output("report.json") == "jobs/ab12/output/report.json"


def test_ground_truths_layout_inside_a_labeling_jobs_folder() -> None:
    folder = JobLayout("j").labeling_job("pets-j-0")

    assert folder.output_manifest == "jobs/j/gt/pets-j-0/manifests/output/output.manifest"
    assert folder.worker_responses == "jobs/j/gt/pets-j-0/annotations/worker-response/"
    assert folder.worker_response("7", "2026-01-02T03:04:05.000Z") == (
        "jobs/j/gt/pets-j-0/annotations/worker-response/iteration-1/7/2026-01-02T03:04:05.000Z.json"
    )
    assert folder.consolidation_requests == (
        "jobs/j/gt/pets-j-0/annotations/consolidated-annotation/consolidation-request/"
    )
    assert folder.consolidation_request("s") == folder.consolidation_requests + "iteration-1/s.json"
    assert folder.consolidation_response("s") == (
        "jobs/j/gt/pets-j-0/annotations/consolidated-annotation/consolidation-response/"
        "iteration-1/s.json"
    )
    assert folder.consolidated_output == (
        "jobs/j/gt/pets-j-0/annotations/consolidated-annotation/output/"
    )


@pytest.mark.parametrize(
    ("uri", "folder"),
    [
        (
            "s3://out/jobs/j/gt/pets-j-0/manifests/output/output.manifest",
            "s3://out/jobs/j/gt/pets-j-0",
        ),
        ("s3://results/jobs/j/gt/pets-j-0/output.manifest", "s3://results/jobs/j/gt/pets-j-0"),
    ],
)
def test_a_labeling_jobs_folder_is_found_from_its_output_manifest(uri: str, folder: str) -> None:
    assert LabelingJobFolder.of_output_manifest(uri).folder == folder


def test_artifacts_and_audit_keys() -> None:
    assert rejection_key("pets/x/a.jsonl") == "rejected/pets/x/a.jsonl.json"
    assert template_key("pets") == "templates/pets.liquid.html"
    assert labelstudio_config_key("pets", None) == "templates/pets.labelstudio.xml"
    assert labelstudio_config_key("notes", "text") == "templates/notes.text.labelstudio.xml"
    assert audit_key("pets", "j", "pets-j-0") == "audit/pets/j/pets-j-0.jsonl"


def test_skill_and_mask_prefixes_ignore_the_job_names_case() -> None:
    # Ground Truth sends the name lower-cased in labelingJobArn; Publish lists it as created.
    assert skills_prefix("pets", "Pets-AB-0") == skills_prefix("pets", "pets-ab-0")
    assert skills_prefix("pets", "Pets-AB-0") == "skills/pets/pets-ab-0/"
    assert masks_prefix("pets", "Pets-AB-0") == "masks/pets/pets-ab-0/"
    key = skills_key("pets", "Pets-AB-0", "s3://r/req.json")
    assert key.startswith("skills/pets/pets-ab-0/")
    assert key == skills_key("pets", "pets-ab-0", "s3://r/req.json")
    assert key != skills_key("pets", "pets-ab-0", "s3://r/other.json")


def test_skills_key_is_stable_per_payload():
    uri = "s3://gt-out/output/reviews-1/req.json"
    key = skills_key("reviews", "reviews-1", uri)

    assert key == f"skills/reviews/reviews-1/{payload_digest(uri)}.json"
    assert key == skills_key("reviews", "reviews-1", uri)
    assert key != skills_key("reviews", "reviews-1", uri + "x")
    assert len(payload_digest(uri)) == 16
