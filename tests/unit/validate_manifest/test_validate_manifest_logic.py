"""The Validate step's pure core: every manifest rule, the existence step and the chunk plan."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest

from gt_contracts import SOURCE_KINDS, TASK_TYPES, ContractError
from job_contracts.steps import JobInput, ValidationSummary
from validate_manifest.logic import (
    MAX_ATTRIBUTE_CHARS,
    MAX_LINE_CHARS,
    ChunkRange,
    ManifestValidator,
    Reason,
    Reject,
    SourceRef,
    UnavailableObject,
    plan_chunks,
    remove_unavailable,
    validate_manifest,
)

IMAGE = b'{"source-ref": "s3://labelflow-data/pets/0001.jpg", "camera": "front-door"}'
IMAGE_2 = b'{"source-ref":"s3://labelflow-data/pets/0002.jpg","camera":"back"}'
TEXT = b'{"source": "The delivery was late but support fixed it.", "review-id": "r-9001"}'


@dataclass
class Collected:
    """A sink that keeps everything in lists."""

    lines: list[bytes] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    refs: list[SourceRef] = field(default_factory=list)
    summary: ValidationSummary = field(  # set by run()
        default_factory=lambda: ValidationSummary(lines=0, accepted=0, rejected=0, blank=0)
    )

    def clean(self, lines: list[bytes]) -> None:
        self.lines.extend(lines)

    def reject(self, reject: Reject) -> None:
        self.rejects.append(reject)

    def source_refs(self, refs: list[SourceRef]) -> None:
        self.refs.extend(refs)

    @property
    def reasons(self) -> list[tuple[int, str]]:
        return [(r.line, str(r.reason)) for r in self.rejects]


def run(data: bytes | list[bytes], task_type: str = "bounding-box") -> Collected:
    sink = Collected()
    chunks = [data] if isinstance(data, bytes) else data
    sink.summary = validate_manifest(chunks, task_type, sink)  # type: ignore[arg-type]
    return sink


def only_reject(line: bytes, task_type: str = "bounding-box") -> Reject:
    sink = run(line + b"\n", task_type)
    assert sink.lines == []
    assert len(sink.rejects) == 1
    return sink.rejects[0]


def padded_line(chars: int, filler: str = "x") -> bytes:
    """A valid source-ref line of exactly ``chars`` characters, no attribute over the limit."""
    head = '{"source-ref":"s3://labelflow-data/a.jpg"'
    parts = [head]
    length = len(head) + 1  # the closing brace
    index = 0
    while length < chars:
        room = chars - length
        prefix = f',"a{index}":"'
        body = min(room - len(prefix) - 1, 15_000)
        if body < 1:  # too little room for another attribute: widen the previous one
            parts[-1] = parts[-1][:-1] + filler * room + '"'
            length += room
            break
        parts.append(prefix + filler * body + '"')
        length += len(prefix) + body + 1
        index += 1
    line = "".join(parts) + "}"
    assert len(line) == chars
    return line.encode()


# --- accepted lines ---------------------------------------------------------------------------


def test_validate_manifest_writes_accepted_lines_verbatim():
    sink = run(IMAGE + b"\n" + IMAGE_2 + b"\n")

    assert sink.lines == [IMAGE, IMAGE_2]
    assert sink.rejects == []


def test_validate_manifest_summary_counts_every_line():
    data = b"\n".join([IMAGE, b"", b"not json", IMAGE_2, b"[1]"]) + b"\n"

    summary = run(data).summary

    assert summary == ValidationSummary(
        lines=5, accepted=2, rejected=2, blank=1, by_reason={"not-json": 1, "not-an-object": 1}
    )


def test_validate_manifest_summary_to_json_uses_camel_case_and_sorted_reasons():
    summary = run(b"[1]\nnope\n" + IMAGE).summary

    assert summary.to_json() == {
        "manifest": None,
        "lines": 3,
        "accepted": 1,
        "rejected": 2,
        "blank": 0,
        "byReason": {"not-an-object": 1, "not-json": 1},
        "rejectsUri": None,
        "repeated": 0,
    }


def test_validate_manifest_accepts_surrounding_white_space_verbatim():
    line = b"  " + IMAGE + b"\t "

    assert run(line + b"\n").lines == [line]


def test_validate_manifest_hands_accepted_source_refs_to_the_sink_with_positions():
    data = b"\n".join([b"[1]", IMAGE, b"", IMAGE_2]) + b"\n"

    refs = run(data).refs

    assert refs == [
        SourceRef(0, 2, "s3://labelflow-data/pets/0001.jpg", 0),
        SourceRef(1, 4, "s3://labelflow-data/pets/0002.jpg", 1),
    ]


def test_validate_manifest_hands_no_source_refs_for_text_lines():
    sink = run(TEXT + b"\n", "text-classification")

    assert sink.lines == [TEXT]
    assert sink.refs == []


@pytest.mark.parametrize("task_type", TASK_TYPES)
@pytest.mark.parametrize(("line", "kind"), [(IMAGE, "s3"), (TEXT, "text")])
def test_validate_manifest_takes_the_source_key_the_task_type_labels(task_type, line, kind):
    sink = run(line + b"\n", task_type)

    if kind in SOURCE_KINDS[task_type]:
        assert sink.lines == [line]
    else:
        assert sink.reasons == [(1, "wrong-source-for-task")]


# --- one reason per rejected line -------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "reason", "detail"),
    [
        (b'{"source-ref": "s3://labelflow-data/a.jpg"', "not-json", "not JSON: Expecting"),
        (IMAGE + IMAGE_2, "not-json", "not JSON: Extra data"),
        (b'{"source-ref": "s3://labelflow-data/a.jpg", "score": NaN}', "not-json", "NaN"),
        (b"[1, 2]", "not-an-object", "a JSON array, not an object"),
        (b'"s3://labelflow-data/a.jpg"', "not-an-object", "a JSON string, not an object"),
        (b"42", "not-an-object", "a JSON number, not an object"),
        (b"null", "not-an-object", "a JSON null, not an object"),
        (
            b'{"source-ref": "s3://labelflow-data/a.jpg", "$meta": 1}',
            "dollar-attribute",
            "attribute name '$meta' starts with '$'",
        ),
        (
            b'{"source-ref": "s3://labelflow-data/a.jpg", "\\u0024meta": 1}',
            "dollar-attribute",
            "attribute name '$meta' starts with '$'",
        ),
        (
            b'{"source-ref": "s3://labelflow-data/a.jpg", "source": "text"}',
            "both-sources",
            "either 'source-ref' or 'source', not both",
        ),
        (b'{"camera": "front-door"}', "no-source", "needs 'source-ref'"),
        (b'{"source-ref": 42}', "invalid-source-ref", "must be an S3 URI string, got int"),
        (
            b'{"source-ref": "https://labelflow-data/a.jpg"}',
            "invalid-source-ref",
            "must start with 's3://'",
        ),
        (b'{"source-ref": "s3://labelflow-data/"}', "invalid-source-ref", "has no object key"),
        (b'{"source-ref": "s3://a/b.jpg"}', "invalid-source-ref", "invalid bucket name 'a'"),
        (
            b'{"source-ref": "s3://labelflow-data/\\ud800.jpg"}',
            "invalid-source-ref",
            "not valid Unicode",
        ),
    ],
)
def test_validate_manifest_rejects_with_one_precise_reason(line, reason, detail):
    reject = only_reject(line)

    assert (reject.line, str(reject.reason)) == (1, reason)
    assert detail in reject.detail


@pytest.mark.parametrize(
    ("line", "detail"),
    [
        (b'{"source": 42}', "'source' must be a string, got number"),
        (b'{"source": ["a"]}', "'source' must be a string, got array"),
        (b'{"source": ""}', "'source' is an empty string"),
    ],
)
def test_validate_manifest_rejects_a_source_that_is_not_text(line, detail):
    reject = only_reject(line, "text-classification")

    assert (str(reject.reason), reject.detail) == ("invalid-source", detail)


@pytest.mark.parametrize(
    ("line", "task_type", "detail"),
    [
        (
            TEXT,
            "bounding-box",
            "bounding-box labels S3 objects: lines need 'source-ref', not 'source'",
        ),
        (IMAGE, "named-entity", "named-entity labels text: lines need 'source', not 'source-ref'"),
    ],
)
def test_validate_manifest_rejects_the_wrong_source_key_for_the_task_type(line, task_type, detail):
    reject = only_reject(line, task_type)

    assert (str(reject.reason), reject.detail) == ("wrong-source-for-task", detail)


def test_validate_manifest_reports_the_first_failing_rule():
    reject = only_reject(b'{"$meta": 1}')

    assert reject.reason is Reason.DOLLAR_ATTRIBUTE


def test_validate_manifest_only_checks_top_level_attribute_names():
    line = b'{"source-ref": "s3://labelflow-data/a.jpg", "meta": {"$ref": 1}}'

    assert run(line).lines == [line]


# --- size limits ------------------------------------------------------------------------------


@pytest.mark.parametrize("chars", [MAX_LINE_CHARS - 1, MAX_LINE_CHARS])
def test_validate_manifest_accepts_a_line_up_to_the_character_limit(chars):
    line = padded_line(chars)

    assert run(line + b"\r\n").lines == [line]


def test_validate_manifest_rejects_a_line_one_character_over_the_limit():
    reject = only_reject(padded_line(MAX_LINE_CHARS + 1))

    assert reject.reason is Reason.LINE_TOO_LONG
    assert reject.detail == "line has 100,001 characters; the limit is 100,000"


def test_validate_manifest_counts_line_length_in_characters_not_bytes():
    line = padded_line(MAX_LINE_CHARS, filler="é")

    assert len(line) > MAX_LINE_CHARS
    assert run(line).lines == [line]


def test_validate_manifest_rejects_a_huge_line_without_buffering_it_and_goes_on():
    huge = b'{"source-ref": "s3://labelflow-data/a.jpg", "blob": "' + b"x" * 1_000_000 + b'"}'
    data = huge + b"\n" + IMAGE + b"\n"
    chunks = [data[i : i + 65_536] for i in range(0, len(data), 65_536)]

    sink = run(chunks)

    assert sink.reasons == [(1, "line-too-long")]
    assert (
        sink.rejects[0].detail
        == "line has more than 400,001 bytes, so more than 100,000 characters"
    )
    assert sink.rejects[0].content == huge[:200].decode()
    assert sink.lines == [IMAGE]
    assert sink.summary.lines == 2


def test_validate_manifest_rejects_a_huge_last_line_without_line_ending():
    chunks = [IMAGE + b"\n", b"{" + b"x" * 300_000, b"x" * 300_000]

    sink = run(chunks)

    assert sink.reasons == [(2, "line-too-long")]
    assert sink.summary.lines == 2


def test_validate_manifest_rejects_a_huge_line_that_arrives_in_one_chunk():
    reject = only_reject(b"[" + b"1," * 250_000 + b"1]")

    assert reject.reason is Reason.LINE_TOO_LONG
    assert reject.detail == "line has 500,003 bytes, so more than 100,000 characters"


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        ("x" * (MAX_ATTRIBUTE_CHARS - 2), True),  # with its quotes: exactly the limit
        ("x" * (MAX_ATTRIBUTE_CHARS - 1), False),
        ('"' * (MAX_ATTRIBUTE_CHARS // 2), False),  # 10,000 quotes, escaped: 20,002
    ],
)
def test_validate_manifest_measures_attributes_as_serialized_json(value, accepted):
    line = json.dumps({"source": value, "review-id": "r-1"}).encode()

    sink = run(line, "text-classification")

    if accepted:
        assert sink.lines == [line]
    else:
        assert sink.reasons == [(1, "attribute-too-long")]
        assert sink.rejects[0].detail.startswith("attribute 'source' has 20,00")


def test_validate_manifest_measures_nested_attribute_values_whole():
    meta = {"tags": ["t" * 5_000] * 4}  # each string fits, the attribute does not
    line = json.dumps({"source-ref": "s3://labelflow-data/a.jpg", "meta": meta}).encode()

    reject = only_reject(line)

    assert reject.reason is Reason.ATTRIBUTE_TOO_LONG
    assert reject.detail == "attribute 'meta' has 20,022 characters serialized; the limit is 20,000"


# --- repeated sources ---------------------------------------------------------------------------


def test_a_repeated_source_ref_is_a_data_object_of_its_own_and_counted():
    again = b'{"source-ref": "s3://labelflow-data/pets/0001.jpg", "camera": "other"}'

    sink = run(b"\n".join([IMAGE, IMAGE_2, again]))

    assert sink.lines == [IMAGE, IMAGE_2, again]
    assert sink.reasons == []
    assert sink.summary.repeated == 1
    # The repeat names its first occurrence, so the object is checked once.
    assert [(r.position, r.first) for r in sink.refs] == [(0, 0), (1, 1), (2, 0)]


def test_a_repeated_source_text_is_kept_and_counted():
    again = b'{"source": "The delivery was late but support fixed it.", "review-id": "r-2"}'

    sink = run(TEXT + b"\n\n" + again, "text-classification")

    assert sink.lines == [TEXT, again]
    assert sink.summary.repeated == 1
    assert sink.summary.to_json()["repeated"] == 1


def test_a_rejected_line_is_not_counted_as_seen():
    first = b'{"source-ref": "s3://labelflow-data/pets/0001.jpg", "$x": 1}'

    sink = run(first + b"\n" + IMAGE)

    assert sink.lines == [IMAGE]
    assert sink.reasons == [(1, "dollar-attribute")]
    assert sink.summary.repeated == 0


def test_texts_and_uris_are_apart_when_finding_repeats():
    text = b'{"source": "s3://labelflow-data/pets/0001.jpg"}'

    sink = run(IMAGE + b"\n" + text, "free-text")

    assert sink.lines == [IMAGE, text]
    assert sink.summary.repeated == 0


def test_validate_manifest_accepts_a_text_with_an_escaped_lone_surrogate():
    line = b'{"source": "broken \\ud800 emoji"}'

    assert run(line, "named-entity").lines == [line]


# --- encoding, line endings, blank lines, line numbers -----------------------------------------


def test_validate_manifest_rejects_bytes_that_are_not_utf8():
    line = b'{"source": "caf\xe9 au lait"}'

    reject = only_reject(line, "text-classification")

    assert (reject.reason, reject.detail) == (Reason.NOT_UTF8, "invalid UTF-8 at byte 16")
    assert reject.content == '{"source": "caf\ufffd au lait"}'


def test_validate_manifest_strips_crlf_endings_from_clean_lines_and_rejects():
    sink = run(IMAGE + b"\r\n[1]\r\n" + IMAGE_2 + b"\r\n")

    assert sink.lines == [IMAGE, IMAGE_2]
    assert sink.rejects[0].content == "[1]"


@pytest.mark.parametrize("blank", [b"", b"   ", b"\t", b"\r", b" \r"])
def test_validate_manifest_skips_and_counts_blank_lines(blank):
    sink = run(IMAGE + b"\n" + blank + b"\n" + IMAGE_2 + b"\n")

    assert sink.lines == [IMAGE, IMAGE_2]
    assert sink.rejects == []
    assert (sink.summary.lines, sink.summary.blank) == (3, 1)


def test_validate_manifest_numbers_lines_from_one_counting_blank_lines():
    data = b"\n".join([b"", b"[1]", IMAGE, b"  ", b"[2]"])

    assert run(data).reasons == [(2, "not-an-object"), (5, "not-an-object")]


@pytest.mark.parametrize(
    ("data", "lines"),
    [
        (IMAGE, 1),  # no line ending at the end
        (IMAGE + b"\n", 1),  # the final \n ends the line; it does not start one
        (IMAGE + b"\n\n", 2),  # ... but an empty line after it is a blank line
        (b"", 0),
    ],
)
def test_validate_manifest_reads_the_last_line_with_or_without_an_ending(data, lines):
    assert run(data).summary.lines == lines


def test_validate_manifest_ignores_a_byte_order_mark_at_the_start():
    sink = run(b"\xef\xbb\xbf" + IMAGE + b"\n" + IMAGE_2)

    assert sink.lines == [IMAGE, IMAGE_2]


def test_validate_manifest_reject_content_is_the_first_200_characters():
    line = b"[" + "é".encode() * 300 + b"]"

    reject = only_reject(line)

    assert reject.content == "[" + "é" * 199


def test_reject_to_json_is_one_compact_record():
    reject = Reject(7, Reason.NOT_JSON, "not JSON: Expecting value", "caf\u00e9")

    assert json.loads(reject.to_json()) == {
        "line": 7,
        "reason": "not-json",
        "detail": "not JSON: Expecting value",
        "content": "café",
    }
    assert b"\n" not in reject.to_json()


# --- chunk boundaries -------------------------------------------------------------------------

MIXED = b"\r\n".join(
    [
        b'{"source": "caf\xc3\xa9 \xf0\x9f\x98\x80 na\xc3\xafve", "id": 1}',
        b"",
        b'{"source": "\xe2\x82\xac 12", "id": 2}',
        b'{"source": "caf\xc3\xa9 \xf0\x9f\x98\x80 na\xc3\xafve", "id": 3}',
        b'{"source": "bad \xff byte"}',
        b'{"source": "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e"}',
    ]
)


def _outcome(sink: Collected) -> tuple[object, ...]:
    return sink.lines, sink.rejects, sink.refs, sink.summary


@pytest.mark.parametrize("cut", range(1, len(MIXED)))
def test_validate_manifest_gives_the_same_result_wherever_a_chunk_ends(cut):
    whole = run(MIXED, "free-text")

    split = run([MIXED[:cut], MIXED[cut:]], "free-text")

    assert _outcome(split) == _outcome(whole)


def test_validate_manifest_reads_a_manifest_fed_one_byte_at_a_time():
    whole = run(MIXED, "free-text")

    bytewise = run([MIXED[i : i + 1] for i in range(len(MIXED))], "free-text")

    assert _outcome(bytewise) == _outcome(whole)
    assert whole.summary.to_json()["byReason"] == {"not-utf8": 1}
    assert whole.summary.repeated == 1
    assert [line.decode() for line in whole.lines][3] == '{"source": "日本語"}'


def test_validate_manifest_ignores_empty_chunks():
    assert run([b"", IMAGE, b"", b"\n", b""]).lines == [IMAGE]


# --- the validator object ---------------------------------------------------------------------


def test_manifest_validator_rejects_an_unknown_task_type():
    with pytest.raises(ValueError, match="unknown task type 'boxes'"):
        ManifestValidator("boxes", Collected())  # type: ignore[arg-type]


def test_manifest_validator_refuses_input_after_finish():
    validator = ManifestValidator("bounding-box", Collected())
    validator.finish()

    with pytest.raises(RuntimeError, match="after finish"):
        validator.feed(IMAGE)


def test_manifest_validator_finish_twice_returns_the_same_summary():
    validator = ManifestValidator("bounding-box", Collected())
    validator.feed(IMAGE)

    assert validator.finish() == validator.finish()


# --- second step: referenced objects ----------------------------------------------------------


def test_remove_unavailable_turns_missing_and_forbidden_objects_into_rejects():
    first = run(b"\n".join([IMAGE, b"[1]", b"", IMAGE_2]))
    final = Collected()

    summary = remove_unavailable(
        [line + b"\n" for line in first.lines],
        [
            UnavailableObject(first.refs[0], "missing"),
            UnavailableObject(first.refs[1], "forbidden"),
        ],
        final,
        first.summary,
    )

    assert final.lines == []
    assert final.reasons == [(1, "object-missing"), (4, "object-forbidden")]
    assert final.rejects[0].detail == "no object at s3://labelflow-data/pets/0001.jpg"
    assert final.rejects[1].content == IMAGE_2.decode()
    assert summary == ValidationSummary(
        lines=4,
        accepted=0,
        rejected=3,
        blank=1,
        by_reason={"not-an-object": 1, "object-missing": 1, "object-forbidden": 1},
    )


def test_remove_unavailable_keeps_every_other_line_in_order():
    first = run(b"\n".join([IMAGE, IMAGE_2, padded_line(300)]))
    final = Collected()

    summary = remove_unavailable(
        first.lines, [UnavailableObject(first.refs[1], "missing")], final, first.summary
    )

    assert final.lines == [IMAGE, padded_line(300)]
    assert (summary.accepted, summary.rejected) == (2, 1)


def test_remove_unavailable_with_nothing_unavailable_changes_nothing():
    first = run(IMAGE + b"\n" + IMAGE_2)
    final = Collected()

    summary = remove_unavailable(first.lines, [], final, first.summary)

    assert (final.lines, final.rejects, summary) == (first.lines, [], first.summary)


# --- the chunk plan ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accepted", "limit", "task_type", "plan"),
    [
        (0, 100_000, "bounding-box", []),
        (1, 100_000, "bounding-box", [(0, 0, 1)]),
        (100_000, 100_000, "bounding-box", [(0, 0, 100_000)]),
        (100_001, 100_000, "bounding-box", [(0, 0, 50_001), (1, 50_001, 50_000)]),
        (5, 2, "text-classification", [(0, 0, 2), (1, 2, 2), (2, 4, 1)]),
        (20_000, 100_000, "semantic-segmentation", [(0, 0, 20_000)]),
        (
            40_001,
            100_000,
            "semantic-segmentation",
            [(0, 0, 13_334), (1, 13_334, 13_334), (2, 26_668, 13_333)],
        ),
        (25, 10, "semantic-segmentation", [(0, 0, 9), (1, 9, 8), (2, 17, 8)]),
        (250_000, 250_000, "bounding-box", [(0, 0, 250_000)]),  # a raised quota
    ],
)
def test_plan_chunks_cuts_even_consecutive_ranges_within_the_limit(
    accepted, limit, task_type, plan
):
    assert plan_chunks(accepted, limit, task_type) == [ChunkRange(*c) for c in plan]


def test_plan_chunks_defaults_to_the_ground_truth_quota():
    assert [c.count for c in plan_chunks(300_000)] == [100_000] * 3


@pytest.mark.parametrize("accepted", [1, 7, 99, 100, 101, 1_000])
@pytest.mark.parametrize("limit", [1, 3, 10, 100])
def test_plan_chunks_covers_every_line_exactly_once(accepted, limit):
    plan = plan_chunks(accepted, limit)

    covered = [i for chunk in plan for i in range(chunk.first, chunk.first + chunk.count)]
    assert covered == list(range(accepted))
    assert all(0 < chunk.count <= limit for chunk in plan)
    assert [chunk.index for chunk in plan] == list(range(len(plan)))


@pytest.mark.parametrize(
    ("accepted", "limit", "message"),
    [(-1, 10, "accepted must be >= 0"), (10, 0, "max_objects_per_job must be >= 1")],
)
def test_plan_chunks_rejects_invalid_arguments(accepted, limit, message):
    with pytest.raises(ValueError, match=message):
        plan_chunks(accepted, limit)


# --- the event: the job's input (job_contracts.steps.JobInput) --------------------------------

EVENT = {
    "bucket": "labelflow-intake",
    "key": "pets/2024-05/batch-1.jsonl",
    "project": "pets",
    "jobId": "pets-2024-05-batch-1",
    "taskType": "bounding-box",
}


def test_validate_event_reads_the_job_input():
    request = JobInput.from_event({**EVENT, "versionId": "v-42"})

    assert (request.bucket, request.key, request.version_id) == (
        "labelflow-intake",
        "pets/2024-05/batch-1.jsonl",
        "v-42",
    )
    assert (request.project, request.job_id, request.task_type) == (
        "pets",
        "pets-2024-05-batch-1",
        "bounding-box",
    )
    assert request.uri == "s3://labelflow-intake/pets/2024-05/batch-1.jsonl"
    assert (request.workforce, request.backend) == (None, "ground-truth")


def test_validate_event_version_is_optional():
    assert JobInput.from_event(EVENT).version_id is None


def test_validate_event_result_keys_are_under_the_job():
    layout = JobInput.from_event(EVENT).layout

    assert (layout.clean_manifest, layout.rejects, layout.validation, layout.chunk(3)) == (
        "jobs/pets-2024-05-batch-1/manifest.clean.jsonl",
        "jobs/pets-2024-05-batch-1/rejects.jsonl",
        "jobs/pets-2024-05-batch-1/validation.json",
        "jobs/pets-2024-05-batch-1/chunks/3.manifest",
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"bucket": None}, "bucket must be a non-empty string"),
        ({"jobId": ""}, "jobId must be a non-empty string"),
        ({"taskType": 3}, "taskType 3 is not one of"),
        ({"versionId": ""}, "versionId must be a non-empty string"),
        ({"bucket": "a"}, "invalid bucket name"),
        ({"key": "other/batch-1.jsonl"}, "is not under the project's prefix 'pets/'"),
        ({"key": "pets/batch-1.csv"}, "must end with .jsonl or .manifest"),
        ({"jobId": "../x"}, "jobId must be 1-128 letters, digits, '.', '_' or '-'.*'../x'"),
        ({"taskType": "boxes"}, "taskType 'boxes' is not one of"),
        ({"backend": "mturk"}, "backend 'mturk' is not one of"),
    ],
)
def test_validate_event_rejects_a_malformed_event(change, message):
    with pytest.raises(ContractError, match=message):
        JobInput.from_event({**EVENT, **change})


def test_validate_event_accepts_a_manifest_suffix():
    key = "pets/batch-1.manifest"

    assert JobInput.from_event({**EVENT, "key": key}).key == key
