"""Structured access log: one JSON object per request, written in batches.

Python's logging costs more per record than a small model's prediction, so
lines are serialized with orjson into a buffer and written when it fills or on
a timer; nothing is written from the request path itself beyond the append.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import IO, Any

import orjson

FLUSH_LINES = 512
FLUSH_SECONDS = 0.5


class AccessLog:
    """Buffered JSON-lines access log.

    Args:
        target: ``stderr``, ``off`` or a file path to append to.
    """

    def __init__(self, target: str = "stderr") -> None:
        self.target = target
        self.enabled = target != "off"
        self._stream: IO[str] | None = None
        self._owns_stream = False
        self._buffer: list[bytes] = []
        self._timer: asyncio.TimerHandle | None = None

    def open(self) -> None:
        """Open the target (a file is opened for appending)."""
        if not self.enabled:
            return
        if self.target == "stderr":
            self._stream = sys.stderr
        else:
            self._stream = open(self.target, "a", encoding="utf-8")  # noqa: SIM115
            self._owns_stream = True

    def write(self, method: str, path: str, status: int, seconds: float, client: Any,
              model: str | None = None, version: str | None = None,
              error: str | None = None) -> None:
        """Record one request."""
        record: dict[str, Any] = {"ts": round(time.time(), 6), "method": method, "path": path,
                                  "status": status, "ms": round(seconds * 1000, 3)}
        if client:
            record["client"] = f"{client[0]}:{client[1]}"
        if model is not None:
            record["model"] = model
            record["version"] = version
        if error is not None:
            record["error"] = error
        self._buffer.append(orjson.dumps(record))
        if len(self._buffer) >= FLUSH_LINES:
            self.flush()
        elif self._timer is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                self.flush()
                return
            self._timer = loop.call_later(FLUSH_SECONDS, self.flush)

    def flush(self) -> None:
        """Write the buffered lines."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._buffer or self._stream is None:
            self._buffer.clear()
            return
        text = b"\n".join(self._buffer).decode() + "\n"
        self._buffer.clear()
        try:
            self._stream.write(text)
            self._stream.flush()
        except (OSError, ValueError):  # a closed or full target must not stop serving
            pass

    def close(self) -> None:
        """Flush and close a file target."""
        self.flush()
        if self._owns_stream and self._stream is not None:
            self._stream.close()
        self._stream = None
