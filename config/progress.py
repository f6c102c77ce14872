"""Numbered start-up steps with counts or a bar, for `make run`.

On a terminal a step's line is redrawn in place; in a log (no TTY) a changed count is printed at
most every `log_every` seconds, so a first start that takes minutes never looks hung either way.
Other output (the supervisor's restart notices) goes through `say()`, which keeps the bar intact.
"""

from __future__ import annotations

import sys
import threading
import time

BAR_WIDTH = 24


def duration(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60}m {seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


class Steps:
    def __init__(self, total: int, stream=None, log_every: float = 10.0):
        self.total, self.number = total, 0
        self.stream = stream or sys.stdout
        self.tty = self.stream.isatty()
        self.log_every = log_every
        self._lock = threading.Lock()
        self._live = ""  # the line being redrawn on a terminal
        self._title = ""
        self._started = 0.0
        self._last_log = 0.0
        self._last_text = ""

    def start(self, title: str, note: str = "") -> None:
        """Begin the next step: `title` says what happens, `note` how long it may take."""
        self.number += 1
        self._title, self._started, self._last_log, self._last_text = title, time.monotonic(), 0.0, ""
        self._write_line(f"[{self.number}/{self.total}] {title}" + (f" ({note})" if note else ""))

    def update(self, text: str = "", *, done: int | None = None, total: int | None = None) -> None:
        """Show progress within the step: a bar when `done` of `total` is known, else `text`."""
        if done is not None and total:
            filled = round(BAR_WIDTH * min(done, total) / total)
            text = f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {done}/{total} {text}".rstrip()
        elapsed = duration(time.monotonic() - self._started)
        with self._lock:
            if self.tty:
                self._live = f"      {text}  {elapsed}"
                self.stream.write("\r\033[K" + self._live)
                self.stream.flush()
            elif text != self._last_text and time.monotonic() - self._last_log >= self.log_every:
                self._last_log, self._last_text = time.monotonic(), text
                self.stream.write(f"      {text}  ({elapsed})\n")
                self.stream.flush()

    def done(self, result: str = "done") -> None:
        """Close the step with what it did and how long it took."""
        self._clear_live()
        self._write_line(f"      {result} ({duration(time.monotonic() - self._started)})")

    def say(self, line: str) -> None:
        """Print a message between steps' lines without breaking a bar."""
        with self._lock:
            if self._live:
                self.stream.write("\r\033[K")
            self.stream.write(line + "\n")
            if self._live:
                self.stream.write(self._live)
            self.stream.flush()

    def _clear_live(self) -> None:
        with self._lock:
            if self._live:
                self.stream.write("\r\033[K")
                self._live = ""

    def _write_line(self, line: str) -> None:
        self._clear_live()
        with self._lock:
            self.stream.write(line + "\n")
            self.stream.flush()
