"""Reading answers: the CSV reader's fast and row paths, and worker-response folders."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labelflow.answers_io import (
    AnswersFileError,
    RawAnswers,
    _read_fast,
    _read_rows,
    read_answers_csv,
    read_worker_responses,
)

ANSWERS = b"".join(
    [
        b"question,worker,answer\n",
        b"q1,w1,cat\n",
        b"q1,w2,dog\n",
        b"q2,w1,dog\n",
        b"q2,w3,dog\n",
        b"q3,w2,cat\n",
    ]
)


def _read(data: bytes, **kwargs) -> RawAnswers:
    return read_answers_csv(None, data=data, **kwargs)


def _triples(raw: RawAnswers) -> list[tuple[str, str, str]]:
    return [
        (raw.items[i], raw.workers[w], raw.labels_seen[k])
        for i, w, k in zip(
            raw.item_idx.tolist(), raw.worker_idx.tolist(), raw.label_idx.tolist(), strict=True
        )
    ]


def _codes(raw: RawAnswers) -> tuple[object, ...]:
    return (
        raw.items,
        raw.workers,
        raw.labels_seen,
        raw.item_idx.tolist(),
        raw.worker_idx.tolist(),
        raw.label_idx.tolist(),
        raw.rejected,
    )


def _quote_first_field(data: bytes) -> bytes:
    """The same table with the first field of the first answer quoted (forces the row reader)."""
    header, first, rest = data.split(b"\n", 2)
    item, tail = first.split(b",", 1)
    return b"\n".join((header, b'"' + item + b'",' + tail, rest))


# -- the two paths agree ---------------------------------------------------------------------------


def test_read_answers_csv_factorises_in_order_of_first_appearance():
    raw = _read(ANSWERS)

    assert raw.items == ("q1", "q2", "q3")
    assert raw.workers == ("w1", "w2", "w3")
    assert raw.labels_seen == ("cat", "dog")
    assert raw.item_idx.tolist() == [0, 0, 1, 1, 2]
    assert raw.worker_idx.tolist() == [0, 1, 0, 2, 1]
    assert raw.label_idx.tolist() == [0, 1, 1, 1, 0]
    assert raw.rejected == {}


@pytest.mark.parametrize(
    "data",
    [
        ANSWERS,
        b"question,worker,answer\n a , w1 ,x\na,w1, y \n",
        b"extra,answer,worker,question,more\n1,cat,w1,q1,z\n2,dog,w2,q1,z\n3,cat,w1,q2,\n",
        "question,worker,answer\nq\u00e9,w\u65e5,\u732b\nq2,w\u65e5,cat\n".encode(),
    ],
    ids=["plain", "whitespace", "extra-columns", "unicode"],
)
def test_read_answers_csv_fast_path_and_row_path_give_identical_codes(data):
    fast = _read(data)
    rows = _read(_quote_first_field(data))

    assert _codes(fast) == _codes(rows)


_FIELD = st.text(alphabet=st.sampled_from("ab \u00e9\u65e5xyz19"), min_size=0, max_size=5)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(rows=st.lists(st.lists(_FIELD, min_size=4, max_size=4), min_size=1, max_size=12))
def test_read_fast_and_read_rows_agree_on_any_unquoted_table(rows):
    body = "\n".join(",".join(row) for row in rows).encode()
    names = ("question", "worker", "answer")

    def outcome(reader: Callable[..., RawAnswers | None]) -> object:
        try:
            raw = reader(body, 4, [2, 0, 3], names, "t.csv")
        except AnswersFileError as exc:
            return str(exc)
        assert raw is not None  # every line has four fields, so the fast path never gives up
        return _codes(raw)

    assert outcome(_read_fast) == outcome(_read_rows)


# -- formats -------------------------------------------------------------------------------------


def test_read_answers_csv_quoted_fields_keep_commas_quotes_and_newlines():
    data = b"".join(
        [
            b"question,worker,answer\n",
            b'"img,1.jpg",w1,"say ""cat"""\n',
            b'"img,1.jpg",w2,"two\nlines"\n',
        ]
    )

    raw = _read(data)

    assert _triples(raw) == [("img,1.jpg", "w1", 'say "cat"'), ("img,1.jpg", "w2", "two\nlines")]


@pytest.mark.parametrize(
    "data",
    [
        ANSWERS.replace(b"\n", b"\r\n"),
        ANSWERS.replace(b"\n", b"\r"),
        b"\xef\xbb\xbf" + ANSWERS,
        b"\xef\xbb\xbf" + ANSWERS.replace(b"\n", b"\r\n"),
        ANSWERS + b"\n\n",
        ANSWERS.rstrip(b"\n"),
    ],
    ids=["crlf", "cr", "bom", "bom-crlf", "trailing-blank-lines", "no-final-newline"],
)
def test_read_answers_csv_line_endings_bom_and_trailing_lines_do_not_matter(data):
    assert _codes(_read(data)) == _codes(_read(ANSWERS))


def test_read_answers_csv_custom_column_names_in_any_order():
    data = b"Label , Image,Annotator\ncat,a.jpg,ann-1\ndog,a.jpg,ann-2\n"

    raw = _read(data, item_col="Image", worker_col="Annotator", label_col="Label")

    assert _triples(raw) == [("a.jpg", "ann-1", "cat"), ("a.jpg", "ann-2", "dog")]


def test_read_answers_csv_strips_whitespace_and_merges_equal_values():
    raw = _read(b"question,worker,answer\n q1 ,w1,cat \nq1, w2 ,cat\n\tq1,w3,\tcat\n")

    assert raw.items == ("q1",)
    assert raw.workers == ("w1", "w2", "w3")
    assert raw.labels_seen == ("cat",)
    assert raw.label_idx.tolist() == [0, 0, 0]


def test_read_answers_csv_reads_a_file_path(tmp_path):
    path = tmp_path / "answers.csv"
    path.write_bytes(ANSWERS)

    assert _codes(read_answers_csv(path)) == _codes(_read(ANSWERS))


@pytest.mark.parametrize("data", [b"question,worker,answer", b"question,worker,answer\n\n"])
def test_read_answers_csv_header_only_gives_no_answers(data):
    raw = _read(data)

    assert (raw.items, raw.workers, raw.labels_seen) == ((), (), ())
    assert raw.item_idx.size == raw.worker_idx.size == raw.label_idx.size == 0


# -- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize("data", [b"", b"\n", b"  \n", b"\xef\xbb\xbf"])
def test_read_answers_csv_empty_file_says_so(data):
    with pytest.raises(AnswersFileError, match=r"<stdin>: the file is empty"):
        _read(data)


def test_read_answers_csv_missing_file_names_it(tmp_path):
    path = tmp_path / "nope.csv"

    with pytest.raises(AnswersFileError, match=r"nope\.csv: cannot read"):
        read_answers_csv(path)


def test_read_answers_csv_missing_column_names_the_column_and_the_header():
    with pytest.raises(AnswersFileError) as info:
        _read(b"item,worker,answer\nq1,w1,cat\n")

    message = str(info.value)
    assert "line 1" in message
    assert "no column 'question'" in message
    assert "['item', 'worker', 'answer']" in message
    assert "--item-col" in message


@pytest.mark.parametrize(
    ("data", "line", "found"),
    [
        (b"question,worker,answer\nq1,w1,cat\nq2,w2\nq3,w3,dog\n", 3, 2),
        (b"question,worker,answer\nq1,w1,cat\nq2,w2,dog,extra\n", 3, 4),
        (b"question,worker,answer\nq1,w1,cat\n\nq2,w2,dog\n", 3, 0),
        (b"question,worker,answer\r\nq1,w1,cat\r\nq2,w2,dog\r\nq3\r\n", 4, 1),
        (b'question,worker,answer\n"q1",w1,cat\nq2,w2\n', 3, 2),
        # A quoted field spanning lines 2-3 is fine; the short record starts on line 4.
        (b'question,worker,answer\n"q\n1",w1,cat\nq2,w2\n', 4, 2),
        # A short record that spans lines 2-3 is named by the line it starts on.
        (b'question,worker,answer\n"q\n1",w1\nq2,w2,cat\n', 2, 2),
    ],
    ids=[
        "short",
        "long",
        "blank-line",
        "crlf",
        "quoted-file",
        "after-multiline",
        "multiline-record",
    ],
)
def test_read_answers_csv_ragged_line_names_the_exact_line(data, line, found):
    with pytest.raises(
        AnswersFileError, match=rf"^<stdin>: line {line}: expected 3 fields, found {found}$"
    ):
        _read(data)


@pytest.mark.parametrize("quoted", [False, True], ids=["fast", "rows"])
@pytest.mark.parametrize(
    ("rows", "line", "column"),
    [
        (b",w1,cat\n", 2, "question"),
        (b"q1,,cat\n", 2, "worker"),
        (b"q1,w1,\n", 2, "answer"),
        (b"q1,w1,  \n", 2, "answer"),
        # The first line with a blank is named, whichever column it is in.
        (b"q1,w1,cat\nq2,w2,\n,w3,dog\n", 3, "answer"),
        (b"q1,w1,cat\nq2,,dog\nq3,w3,\n", 3, "worker"),
        # On one line, the first blank column.
        (b"q1,w1,cat\n,w2,\n", 3, "question"),
    ],
)
def test_read_answers_csv_empty_value_names_the_line_and_column(rows, line, column, quoted):
    data = b"question,worker,answer\n" + rows
    if quoted:
        data += b'"q9",w9,cat\n'

    with pytest.raises(AnswersFileError, match=rf"^<stdin>: line {line}: empty '{column}'$"):
        _read(data)


@pytest.mark.parametrize("quoted", [False, True], ids=["fast", "rows"])
def test_read_answers_csv_non_utf8_names_the_line(quoted):
    data = b"question,worker,answer\nq1,w1,cat\nq2,w2,\xff\xfe\n"
    if quoted:
        data += b'"q3",w3,cat\n'

    with pytest.raises(AnswersFileError, match=r"^<stdin>: line 3: not UTF-8"):
        _read(data)


def test_read_answers_csv_non_utf8_header_is_line_one():
    with pytest.raises(AnswersFileError, match=r"^<stdin>: line 1: not UTF-8"):
        _read(b"question,w\xe9rker,answer\nq1,w1,cat\n")


def test_read_answers_csv_latin1_file_is_refused_rather_than_misread(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("question,worker,answer\nq1,w1,caf\u00e9\n".encode("latin-1"))

    with pytest.raises(AnswersFileError, match=rf"{path.name}: line 2: not UTF-8"):
        read_answers_csv(path)


# -- worker-response folders ---------------------------------------------------------------------


def _response(worker: str, content: object) -> dict[str, object]:
    return {
        "acceptanceTime": "2024-05-03T13:58:02.114Z",
        "answerContent": content,
        "submissionTime": "2024-05-03T13:58:41.903Z",
        "timeSpentInSeconds": 39.789,
        "workerId": worker,
    }


def _write_responses(root: Path, item: str, *answers: dict[str, object], iteration: int = 1):
    folder = root / "annotations" / "worker-response" / f"iteration-{iteration}" / item
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "2024-05-03_13:58:41.json").write_text(json.dumps({"answers": list(answers)}))


def test_read_worker_responses_reads_items_from_the_folder_names(tmp_path):
    _write_responses(
        tmp_path,
        "0",
        _response("private.us-east-1.aaaa", {"crowd-image-classifier": {"label": "cat"}}),
        _response("private.us-east-1.bbbb", '{"crowd-image-classifier": {"label": "dog"}}'),
    )
    _write_responses(
        tmp_path, "1", _response("private.us-east-1.aaaa", {"animal": {"label": "dog"}})
    )

    raw = read_worker_responses(tmp_path)

    assert _triples(raw) == [
        ("0", "private.us-east-1.aaaa", "cat"),
        ("0", "private.us-east-1.bbbb", "dog"),
        ("1", "private.us-east-1.aaaa", "dog"),
    ]
    assert raw.rejected == {}


def test_read_worker_responses_sets_aside_items_with_an_unreadable_answer(tmp_path):
    _write_responses(
        tmp_path,
        "7",
        _response("w1", {"crowd-image-classifier": {"label": "cat"}}),
        _response("w2", {"note": "no label here"}),
    )

    raw = read_worker_responses(tmp_path)

    assert list(raw.rejected) == ["7"]
    assert raw.rejected["7"].startswith("worker 'w2': ")


def test_read_worker_responses_without_files_is_an_error(tmp_path):
    with pytest.raises(AnswersFileError, match="no worker-response files"):
        read_worker_responses(tmp_path)


def test_read_worker_responses_names_a_broken_file(tmp_path):
    folder = tmp_path / "iteration-1" / "3"
    folder.mkdir(parents=True)
    (folder / "broken.json").write_text('{"answers": "nope"}')

    with pytest.raises(AnswersFileError, match=r"broken\.json: not a worker-response file"):
        read_worker_responses(tmp_path)


def test_read_answers_csv_keeps_values_apart_that_differ_only_by_a_nul_byte():
    data = b"question,worker,answer\nq1,w1,a\nq1\x00,w2,a\n"

    raw = _read(data)

    assert raw.items == ("q1", "q1\x00")


def test_read_answers_csv_very_long_values_read_like_short_ones():
    long_item = "x" * 5000
    data = f"question,worker,answer\n{long_item},w1,a\nq2,w1,b\n{long_item},w2,b\n".encode()

    raw = _read(data)

    assert raw.items == (long_item, "q2")
    assert _triples(raw) == [(long_item, "w1", "a"), ("q2", "w1", "b"), (long_item, "w2", "b")]
