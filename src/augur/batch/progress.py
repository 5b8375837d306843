"""Progress of a batch run: a tqdm bar on a terminal, plain lines otherwise.

The rate shown is rows read, predicted and stored per second since the rows began to
flow; the run's summary repeats it next to the end-to-end rate, which also counts
start-up (opening the source and the store, loading the model).
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO


class ProgressReporter:
    """Reports rows done, rows/s and the time left.

    Args:
        total: rows expected (``None`` when the source cannot tell).
        label: what to call the run in each line.
        stream: where to write (default stderr).
        tty: force the bar (``True``) or plain lines (``False``); default: ask the stream.
        interval: seconds between plain lines.
        initial: rows already done (a resumed run).
    """

    def __init__(self, total: int | None, label: str, *, stream: TextIO | None = None,
                 tty: bool | None = None, interval: float = 5.0, initial: int = 0) -> None:
        self.stream = stream or sys.stderr
        self.total = total
        self.label = label
        self.interval = interval
        self.done = initial
        self._initial = initial
        self._start = time.perf_counter()
        self._last = self._start
        use_bar = self.stream.isatty() if tty is None else tty
        self._bar: Any = None
        if use_bar:
            from tqdm import tqdm

            self._bar = tqdm(total=total, initial=initial, unit=" rows", unit_scale=True,
                             desc=label, file=self.stream, dynamic_ncols=True)

    def update(self, rows: int) -> None:
        """Count ``rows`` more rows as done."""
        self.done += rows
        if self._bar is not None:
            self._bar.update(rows)
            return
        now = time.perf_counter()
        if now - self._last >= self.interval:
            self._last = now
            self._line()

    def rate(self) -> float:
        """Rows per second in this process so far."""
        elapsed = time.perf_counter() - self._start
        return (self.done - self._initial) / elapsed if elapsed > 0 else 0.0

    def _line(self, rate: float | None = None) -> None:
        rate = self.rate() if rate is None else rate
        text = f"{self.label}: {self.done:,} rows"
        if self.total:
            text += f" of {self.total:,} ({100.0 * self.done / self.total:.0f}%)"
        text += f", {rate:,.0f} rows/s predict + store"
        if self.total and rate > 0:
            text += f", ETA {max(0.0, (self.total - self.done) / rate):.0f}s"
        print(text, file=self.stream, flush=True)

    def close(self, final_line: bool = True, rate: float | None = None) -> None:
        """Finish the bar, or print the final line (not when the run failed).

        Args:
            final_line: print the last line (plain lines only).
            rate: the rate to show in it (the run's own figure, so the two agree).
        """
        if self._bar is not None:
            self._bar.close()
        elif final_line:
            self._line(rate)
