from __future__ import annotations

import json

from gt_contracts import ConsolidatedAnnotation, PreAnnotationResponse


def test_pre_annotation_response_uses_the_documented_boolean(load_event):
    response = PreAnnotationResponse({"taskObject": "s3://b/k"}).to_json()
    documented = load_event("pre-annotation-response.json")

    assert set(response) == set(documented)
    assert response["isHumanAnnotationRequired"] is True
    assert '"isHumanAnnotationRequired": true' in json.dumps(response)


def test_consolidated_annotation_nests_the_value_under_the_label_attribute(load_event):
    sample = load_event("consolidation-response.textclass.json")[1]
    value = sample["consolidatedAnnotation"]["content"]["sentiment"]

    assert ConsolidatedAnnotation("1", "sentiment", value).to_json() == sample
