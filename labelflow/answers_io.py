"""Reading worker answers from disk for offline consolidation.

Two sources:

* a CSV file in long format, one row per worker answer (default columns
  ``question,worker,answer``); :func:`read_answers_csv`;
* a folder of Ground Truth worker-response files, laid out as Ground Truth writes them
  (``.../worker-response/iteration-<n>/<datasetObjectId>/<timestamp>.json``);
  :func:`read_worker_responses`.

Both return :class:`RawAnswers`: answers factorised into integer codes, ready for
:meth:`consolidation.ClassAnswers.from_codes`, plus any items that had to be set aside with a
reason. Errors name the file, the line and the column.

The CSV reader has a fast path for files without quoted fields: numpy finds every field's
boundaries, checks each line's field count, and factorises each column by packing its fields
into fixed-width integer keys, so a million answers are read in under a second with no Python
object per field. Files with quotes (or ragged lines) go through :mod:`csv` row by row, which
gives the exact line of any problem.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from consolidation import ClassAnswers
from consolidation.answers import DuplicatePolicy

__all__ = ["AnswersFileError", "RawAnswers", "read_answers_csv", "read_worker_responses"]

IntArray = npt.NDArray[np.intp]


class AnswersFileError(ValueError):
    """An answers file that cannot be read; the message names the file, line and column."""


@dataclass(frozen=True)
class RawAnswers:
    """Answers factorised into codes; see :meth:`consolidation.ClassAnswers.from_codes`."""

    items: tuple[str, ...]
    workers: tuple[str, ...]
    labels_seen: tuple[str, ...]
    item_idx: IntArray
    worker_idx: IntArray
    label_idx: IntArray
    rejected: dict[str, str] = field(default_factory=dict)

    def encode(
        self,
        *,
        labels: Sequence[str] | None = None,
        on_duplicate: DuplicatePolicy = "no_consensus",
    ) -> ClassAnswers:
        """The answers as :class:`consolidation.ClassAnswers`, applying its input policies."""
        return ClassAnswers.from_codes(
            items=self.items,
            workers=self.workers,
            labels_seen=self.labels_seen,
            item_idx=self.item_idx,
            worker_idx=self.worker_idx,
            label_idx=self.label_idx,
            labels=labels,
            on_duplicate=on_duplicate,
            rejected=self.rejected,
        )


def _strip_vocabulary(raw: Sequence[str], codes: IntArray) -> tuple[tuple[str, ...], IntArray]:
    """Strip surrounding whitespace from a vocabulary, merging values that become equal."""
    canonical: dict[str, int] = {}
    remap = np.fromiter(
        (canonical.setdefault(value.strip(), len(canonical)) for value in raw),
        dtype=np.intp,
        count=len(raw),
    )
    if len(canonical) != len(raw):
        codes = remap[codes]
    return tuple(canonical), codes


def _factorise(values: Sequence[str]) -> tuple[tuple[str, ...], IntArray]:
    """Codes in order of first appearance, and the vocabulary (whitespace-stripped)."""
    index = {value: k for k, value in enumerate(dict.fromkeys(values))}
    codes = np.fromiter(map(index.__getitem__, values), dtype=np.intp, count=len(values))
    return _strip_vocabulary(list(index), codes)


def _first_blank(vocab: tuple[str, ...], codes: IntArray) -> int | None:
    """Row number (0-based) of the first empty value, if any."""
    if "" not in vocab:
        return None
    return int(np.flatnonzero(codes == vocab.index(""))[0])


def _column_positions(header: list[str], wanted: Sequence[str], source: str) -> list[int]:
    names = [h.strip() for h in header]
    positions = []
    for column in wanted:
        if column not in names:
            raise AnswersFileError(
                f"{source}: line 1: no column {column!r} in the header {names}; "
                "name the columns with --item-col, --worker-col and --label-col"
            )
        positions.append(names.index(column))
    return positions


def read_answers_csv(
    path: Path | None,
    *,
    item_col: str = "question",
    worker_col: str = "worker",
    label_col: str = "answer",
    data: bytes | None = None,
) -> RawAnswers:
    """Read a long-format answers CSV.

    Args:
        path: the file; ``None`` with ``data`` given reads those bytes (standard input).
        item_col, worker_col, label_col: the header names of the three columns used; other
            columns are ignored.
        data: the file's bytes, when already read.

    Raises:
        AnswersFileError: unreadable file, missing column, a line with the wrong number of
            fields, or an empty item/worker/label, naming the line.
    """
    source = str(path) if path is not None else "<stdin>"
    if data is None:
        if path is None:
            raise AnswersFileError("no answers file given")
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise AnswersFileError(f"{source}: cannot read: {exc.strerror}") from None
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    newline = data.find(b"\n")
    header_bytes = data if newline < 0 else data[:newline]
    if not header_bytes.strip():
        raise AnswersFileError(f"{source}: the file is empty (expected a header line)")
    try:
        header = next(csv.reader([header_bytes.decode("utf-8")]))
    except UnicodeDecodeError as exc:
        raise AnswersFileError(f"{source}: line 1: not UTF-8 ({exc.reason})") from None
    positions = _column_positions(header, (item_col, worker_col, label_col), source)
    body = b"" if newline < 0 else data[newline + 1 :].rstrip(b"\n")
    n_cols = len(header)
    if not body:
        return RawAnswers((), (), (), *(np.empty(0, dtype=np.intp),) * 3)
    if b'"' not in body and b"\x00" not in body:
        raw = _read_fast(body, n_cols, positions, (item_col, worker_col, label_col), source)
        if raw is not None:
            return raw
    return _read_rows(body, n_cols, positions, (item_col, worker_col, label_col), source)


# Fields up to this many bytes are packed into integer keys; a column with a longer value is
# factorised value by value, so one very long field cannot blow up memory (rows x width).
_MAX_PACKED_WIDTH = 64


def _factorise_fields(
    buf: npt.NDArray[np.uint8], starts: IntArray, ends: IntArray
) -> tuple[tuple[str, ...], IntArray]:
    """Factorise the byte fields ``buf[starts[i]:ends[i]]`` without a Python object per field.

    Each field is packed, zero-padded, into fixed-width 64-bit words; ``np.unique`` on those
    keys gives the distinct values, renumbered in order of first appearance.
    """
    widths = ends - starts
    width = int(widths.max()) if widths.size else 0
    if width > _MAX_PACKED_WIDTH:
        return _factorise(
            [bytes(buf[s:e]).decode("utf-8") for s, e in zip(starts, ends, strict=True)]
        )
    words = max(1, -(-width // 8))
    packed = np.zeros((starts.size, words * 8), dtype=np.uint8)
    last = max(buf.size - 1, 0)
    for j in range(width):
        byte = buf[np.minimum(starts + j, last)]
        byte[widths <= j] = 0
        packed[:, j] = byte
    keys = packed.view(np.uint64)
    if words == 1:
        _, first, inverse = np.unique(keys[:, 0], return_index=True, return_inverse=True)
    else:
        rows = np.ascontiguousarray(keys).view(np.dtype((np.void, words * 8)))[:, 0]
        _, first, inverse = np.unique(rows, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    codes = rank[inverse.reshape(-1)].astype(np.intp)
    raw = [bytes(buf[starts[i] : ends[i]]).decode("utf-8") for i in first[order]]
    return _strip_vocabulary(raw, codes)


def _read_fast(
    body: bytes, n_cols: int, positions: list[int], names: Sequence[str], source: str
) -> RawAnswers | None:
    """Vectorised read; ``None`` when a line is ragged (the row reader then names it)."""
    buf = np.frombuffer(body, dtype=np.uint8)
    is_newline = buf == ord("\n")
    delimiters = np.flatnonzero(is_newline | (buf == ord(",")))
    line_ends = np.append(np.flatnonzero(is_newline), buf.size)
    del is_newline
    # Delimiters before each line's end, per line; all but the first line also count the
    # newline that ends the line before them.
    commas_per_line = np.diff(np.searchsorted(delimiters, line_ends), prepend=0)
    commas_per_line[1:] -= 1
    if (commas_per_line != n_cols - 1).any():
        return None
    starts = np.empty(delimiters.size + 1, dtype=np.intp)
    starts[0] = 0
    starts[1:] = delimiters + 1
    ends = np.append(delimiters, buf.size)
    del delimiters
    try:
        vocabs_codes = [
            _factorise_fields(buf, starts[p::n_cols], ends[p::n_cols]) for p in positions
        ]
    except UnicodeDecodeError:
        return None  # the row reader names the line
    blanks = [
        (row, name)
        for (vocab, codes), name in zip(vocabs_codes, names, strict=True)
        if (row := _first_blank(vocab, codes)) is not None
    ]
    if blanks:
        # The first line with a blank (then the first column), as the row reader reports.
        row, name = min(blanks, key=lambda blank: blank[0])
        raise AnswersFileError(f"{source}: line {row + 2}: empty {name!r}")
    (items, ii), (workers, ww), (labels, ll) = vocabs_codes
    return RawAnswers(items, workers, labels, ii, ww, ll)


def _read_rows(
    body: bytes,
    n_cols: int,
    positions: list[int],
    names: Sequence[str],
    source: str,
) -> RawAnswers:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = body.count(b"\n", 0, exc.start) + 2
        raise AnswersFileError(f"{source}: line {line}: not UTF-8 ({exc.reason})") from None
    columns: list[list[str]] = [[], [], []]
    reader = csv.reader(io.StringIO(text))
    line = 2  # the file line where the next record starts (the body follows the header)
    for row in reader:
        if len(row) != n_cols:
            raise AnswersFileError(
                f"{source}: line {line}: expected {n_cols} fields, found {len(row)}"
            )
        for out, pos, name in zip(columns, positions, names, strict=True):
            if not row[pos].strip():
                raise AnswersFileError(f"{source}: line {line}: empty {name!r}")
            out.append(row[pos])
        line = reader.line_num + 2
    (items, ii), (workers, ww), (labels, ll) = (_factorise(c) for c in columns)
    return RawAnswers(items, workers, labels, ii, ww, ll)


def read_worker_responses(folder: Path) -> RawAnswers:
    """Read a folder of Ground Truth worker-response files (classification answers).

    Every ``*.json`` file below ``folder`` is one data object's worker-response file; the item
    id is its parent folder's name (Ground Truth's ``datasetObjectId``). An answer that is not
    a classification answer sets its item aside with the reason, so no item is lost.

    Raises:
        AnswersFileError: no response files, or a file that is not a worker-response document.
    """
    from gt_contracts.answers import AnswerError, class_label_from_content
    from gt_contracts.worker_response import parse_worker_response_file

    files = sorted(p for p in folder.rglob("*.json") if p.is_file())
    if not files:
        raise AnswersFileError(f"{folder}: no worker-response files (*.json) found")
    items: list[str] = []
    workers: list[str] = []
    labels: list[str] = []
    rejected: dict[str, str] = {}
    for file in files:
        item = file.parent.name
        try:
            document = json.loads(file.read_text(encoding="utf-8"))
            responses = parse_worker_response_file(document)
        except (OSError, ValueError) as exc:
            raise AnswersFileError(f"{file}: not a worker-response file: {exc}") from None
        for response in responses:
            try:
                label = class_label_from_content(response.answer_content)
            except AnswerError as exc:
                rejected.setdefault(item, f"worker {response.worker_id!r}: {exc}")
                continue
            items.append(item)
            workers.append(response.worker_id)
            labels.append(label)
    return _raw_from_lists(items, workers, labels, rejected)


def _raw_from_lists(
    items: Iterable[str], workers: Iterable[str], labels: Iterable[str], rejected: dict[str, str]
) -> RawAnswers:
    (iv, ii), (wv, ww), (lv, ll) = (_factorise(list(c)) for c in (items, workers, labels))
    return RawAnswers(iv, wv, lv, ii, ww, ll, rejected)
