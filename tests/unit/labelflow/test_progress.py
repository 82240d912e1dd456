"""Progress lines: redrawn in place on a terminal, a line per tenth or per 10 s in a log."""

from __future__ import annotations

import io

import pytest

from labelflow.progress import ProgressLine, bar


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


class _Clock:
    """Seconds that pass only when a test says so."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("fraction", "expected"),
    [
        (0.0, "[..........]"),
        (0.25, "[##........]"),
        (0.999, "[#########.]"),
        (1.0, "[##########]"),
        (1.7, "[##########]"),
        (-0.2, "[..........]"),
        (None, "[   ...    ]"),
    ],
)
def test_bar(fraction: float | None, expected: str) -> None:
    assert bar(fraction, width=10) == expected


def test_on_a_terminal_the_line_is_redrawn_in_place() -> None:
    stream = _Tty()
    line = ProgressLine(stream)
    line.update("long text", 0.1)
    line.update("long text", 0.1)
    line.update("short", 0.2)
    line.close()
    assert stream.getvalue() == "\rlong text\rshort    \n"


def test_on_a_terminal_every_change_is_drawn() -> None:
    stream = _Tty()
    with ProgressLine(stream) as line:
        for given in range(1, 181):
            line.update(f"{given}/180 answers", given / 180)
    assert stream.getvalue().count("\r") == 180


def _answers(stream: io.StringIO, clock: _Clock, *, seconds_each: float) -> list[str]:
    """180 answers, as the demo's simulated annotators give them, through a progress line."""
    with ProgressLine(stream, clock=clock) as line:
        for given in range(1, 181):
            clock.now += seconds_each
            line.update(f"{bar(given / 180)}  {given}/180 answers", given / 180)
    return stream.getvalue().splitlines()


def test_in_a_log_a_line_is_written_per_tenth_not_per_answer() -> None:
    lines = _answers(io.StringIO(), _Clock(), seconds_each=0.05)

    counts = [int(line.split()[1].split("/")[0]) for line in lines]
    # The first answer, then the first answer of each next tenth; 100% is the last.
    assert counts == [1, 18, 36, 54, 72, 90, 108, 126, 144, 162, 180]


def test_in_a_log_slow_progress_also_writes_a_line_every_10_seconds() -> None:
    # One answer every 2 s: a tenth (18 answers) takes 36 s, so 10 s pass first.
    lines = _answers(io.StringIO(), _Clock(), seconds_each=2.0)

    counts = [int(line.split()[1].split("/")[0]) for line in lines]
    assert counts[:6] == [1, 6, 11, 16, 18, 23]
    assert counts[-1] == 180
    # At most a line per 10 s of the 360 s, and one per tenth.
    assert len(lines) == len(set(lines)) <= 360 / 10 + 11


def test_in_a_log_a_text_without_a_share_is_written_every_10_seconds() -> None:
    stream, clock = io.StringIO(), _Clock()
    with ProgressLine(stream, clock=clock) as line:
        for second in range(35):
            clock.now = second
            line.update(f"waiting {second} s")
    assert stream.getvalue().splitlines() == [
        "waiting 0 s",
        "waiting 10 s",
        "waiting 20 s",
        "waiting 30 s",
        "waiting 34 s",
    ]


def test_in_a_log_the_last_state_is_written_on_close() -> None:
    stream, clock = io.StringIO(), _Clock()
    line = ProgressLine(stream, clock=clock)
    line.update("3/3 labeled  RUNNING  Label chunks", 1.0)
    line.update("3/3 labeled  RUNNING  Publish results", 1.0)
    line.update("3/3 labeled  SUCCEEDED  Publish results", 1.0)
    line.close()
    assert stream.getvalue().splitlines() == [
        "3/3 labeled  RUNNING  Label chunks",
        "3/3 labeled  SUCCEEDED  Publish results",
    ]


def test_in_a_log_an_unchanged_text_is_written_once() -> None:
    stream = io.StringIO()
    line = ProgressLine(stream, clock=_Clock())
    for text in ("a", "a", "b"):
        line.update(text)
    line.close()
    line.close()
    assert stream.getvalue() == "a\nb\n"


def test_a_line_closed_without_updates_writes_nothing() -> None:
    for stream in (io.StringIO(), _Tty()):
        ProgressLine(stream).close()
        assert stream.getvalue() == ""
