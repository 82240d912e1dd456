"""Progress bars of the command line and the demo: redrawn on a terminal, sparse in a log.

On a terminal, :class:`ProgressLine` redraws one line in place on every change. Anywhere
else (a CI log, ``make demo > log``), every write is a line of its own, so it writes a line
only when there is news worth a line:

* the first state;
* the share done entering a new tenth (0%, 10%, ... 100%), when the caller gives it;
* a changed text ``every`` seconds (10) after the last line written;
* on :meth:`~ProgressLine.close`, the last state, when it was not written yet.

A bar over 180 answers thus writes about a dozen lines to a log, not 180.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from types import TracebackType
from typing import IO

__all__ = ["ProgressLine", "bar"]


def bar(fraction: float | None, width: int = 30) -> str:
    """``[####......]`` filled to ``fraction`` (0 to 1); ``[   ...   ]`` when it is unknown.

    >>> bar(0.25, width=8)
    '[##......]'
    >>> bar(None, width=9)
    '[   ...   ]'
    """
    if fraction is None:
        return f"[{'...'.center(width)}]"
    filled = math.floor(min(1.0, max(0.0, fraction)) * width)
    return f"[{'#' * filled}{'.' * (width - filled)}]"


def _tenth(fraction: float) -> int:
    return math.floor(min(1.0, max(0.0, fraction)) * 10)


class ProgressLine:
    """One progress line on ``stream`` (module docstring).

    Args:
        stream: where to write (standard error, usually).
        every: off a terminal, the seconds after which a changed text is written again.
        clock: seconds, for :attr:`every` (``time.monotonic``).
    """

    def __init__(
        self,
        stream: IO[str],
        *,
        every: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream = stream
        self._tty = stream.isatty()
        self._every = every
        self._clock = clock
        self._last = ""  # the latest text
        self._written = ""  # the latest text written (off a terminal)
        self._written_at = 0.0
        self._written_tenth: int | None = None

    def update(self, text: str, fraction: float | None = None) -> None:
        """Show ``text``; ``fraction`` is the share done (0 to 1), when known."""
        if self._tty:
            if text != self._last:
                padding = " " * max(0, len(self._last) - len(text))
                self._write(f"\r{text}{padding}")
            self._last = text
            return
        self._last = text
        if text == self._written:
            return
        now = self._clock()
        news = (
            not self._written
            or (fraction is not None and _tenth(fraction) != self._written_tenth)
            or now - self._written_at >= self._every
        )
        if news:
            self._write_line(text, now, fraction)

    def close(self) -> None:
        """End the line; off a terminal, write the last state if it was not written yet."""
        if self._tty:
            if self._last:
                self._write("\n")
        elif self._last and self._last != self._written:
            self._write_line(self._last, self._clock(), None)
        self._last = self._written = ""
        self._written_tenth = None

    def __enter__(self) -> ProgressLine:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _write_line(self, text: str, now: float, fraction: float | None) -> None:
        self._write(text + "\n")
        self._written = text
        self._written_at = now
        if fraction is not None:
            self._written_tenth = _tenth(fraction)

    def _write(self, text: str) -> None:
        self._stream.write(text)
        self._stream.flush()
