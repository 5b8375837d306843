"""Closed-loop load generation for the serving benchmarks, with h2load.

h2load (Debian ``nghttp2-client``) is written in C on an event loop and drives
both HTTP/1.1 keep-alive connections and HTTP/2 streams, so one tool loads the
REST endpoints and the gRPC endpoint alike (a gRPC call is an HTTP/2 POST with a
length-prefixed protobuf body). Each of ``concurrency`` connections keeps
exactly one request in flight: a closed loop. Latencies come from h2load's
per-request log, so p50/p99 are exact, not read off a coarse histogram.
"""

from __future__ import annotations

import dataclasses
import os
import resource
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np


@dataclasses.dataclass(frozen=True)
class LoadResult:
    """What one closed-loop run measured."""

    requests: int
    failed: int
    seconds: float
    p50_ms: float
    p99_ms: float
    generator_cpu: float = float("nan")  # share of one core h2load used: < 1 means it had slack

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def h2load_path() -> str | None:
    """Where h2load is, if installed (``benchmarks/setup_peers.sh`` installs it)."""
    return shutil.which("h2load")


def grpc_frame(message: bytes) -> bytes:
    """Frame one protobuf message as a gRPC body: uncompressed flag, big-endian length."""
    return b"\x00" + len(message).to_bytes(4, "big") + message


def run_load(url: str, body: bytes, *, concurrency: int, duration: float, warmup: float = 1.0,
             headers: dict[str, str] | None = None, http2: bool = False,
             streams: int = 1, cpu: int | None = 1) -> LoadResult:
    """Drive ``url`` with POSTs of ``body`` from ``concurrency`` connections for ``duration`` s.

    Args:
        url: ``http://127.0.0.1:PORT/path`` (loopback only).
        body: the request body sent on every request.
        concurrency: connections, each with one request in flight.
        duration: measured seconds, after ``warmup`` seconds not measured.
        headers: extra request headers.
        http2: HTTP/2 (for gRPC) instead of HTTP/1.1 keep-alive.
        streams: HTTP/2 only: requests in flight per connection; ``concurrency``
            is then spread over ``ceil(concurrency / streams)`` connections, as a
            gRPC client multiplexes calls over one channel.
        cpu: the core to pin the generator to (``None``: no pinning).

    Returns:
        Completed requests in the measured window, failures, p50 and p99 latency.
    """
    h2load = h2load_path()
    if h2load is None:
        raise RuntimeError("h2load is not installed; run benchmarks/setup_peers.sh")
    if not url.startswith(("http://127.0.0.1:", "http://localhost:")):
        raise ValueError(f"the benchmark only talks to loopback addresses, not {url}")
    with tempfile.TemporaryDirectory(prefix="augur-load-") as tmp:
        body_path = Path(tmp, "body")
        body_path.write_bytes(body)
        log_path = Path(tmp, "log.tsv")
        per = max(1, min(streams, concurrency)) if http2 else 1
        if concurrency % per:
            raise ValueError(f"concurrency {concurrency} is not a multiple of {per} streams")
        cmd = [h2load, "-t", "1", "-c", str(concurrency // per), "-m", str(per),
               "-D", str(int(duration)), "--warm-up-time", str(int(warmup)),
               "-d", str(body_path), "--log-file", str(log_path)]
        if not http2:
            cmd.append("--h1")
        for key, value in (headers or {}).items():
            cmd += ["-H", f"{key}: {value}"]
        cmd.append(url)
        if cpu is not None and hasattr(os, "sched_setaffinity"):
            cmd = ["taskset", "-c", str(cpu), *cmd]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.time()
        proc = subprocess.run(cmd, capture_output=True, text=True,
                              timeout=duration + warmup + 30, check=False)
        wall = time.time() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if proc.returncode != 0:
            raise RuntimeError(f"h2load failed ({proc.returncode}): {proc.stderr.strip()[-500:]}")
        cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) / wall
        return dataclasses.replace(_parse(log_path, started + warmup, duration),
                                   generator_cpu=cpu)


def _parse(log_path: Path, measure_from: float, duration: float) -> LoadResult:
    if not log_path.exists() or not log_path.stat().st_size:
        return LoadResult(0, 0, duration, float("nan"), float("nan"))
    rows = np.loadtxt(log_path, dtype=np.float64, ndmin=2)
    start_s, status, took_us = rows[:, 0] / 1e6, rows[:, 1], rows[:, 2]
    # Warm-up requests are logged too: keep those started in the measured window.
    first = max(measure_from, start_s.min())
    window = (start_s >= first) & (start_s < first + duration)
    ok = window & (status >= 200) & (status < 300)
    # h2load stops its clients when the time is up and logs what was in flight as -1.
    window &= ~((status < 0) & (start_s >= first + duration - 1.0))
    lat = took_us[ok] / 1000.0
    if lat.size == 0:
        return LoadResult(0, int(window.sum()), duration, float("nan"), float("nan"))
    return LoadResult(requests=int(ok.sum()), failed=int((window & ~ok).sum()),
                      seconds=duration, p50_ms=float(np.percentile(lat, 50)),
                      p99_ms=float(np.percentile(lat, 99)))


_WRK_SCRIPT = """
local f = io.open(os.getenv("AUGUR_WRK_BODY"), "rb")
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
{headers}
"""


def wrk_path() -> str | None:
    """Where wrk is, if installed (Debian ``wrk``; the set-up installs it)."""
    return shutil.which("wrk")


def run_wrk(url: str, body: bytes, *, concurrency: int, duration: float,
            headers: dict[str, str] | None = None, cpu: int | None = 1) -> LoadResult:
    """The closed loop of :func:`run_load` with wrk (1 thread): HTTP/1.1 keep-alive only.

    wrk reports its own latency percentiles (from an HdrHistogram), so p50/p99 come
    from ``--latency``; there is no warm-up window, so keep ``duration`` a few seconds.
    """
    wrk = wrk_path()
    if wrk is None:
        raise RuntimeError("wrk is not installed (apt-get install wrk)")
    if not url.startswith(("http://127.0.0.1:", "http://localhost:")):
        raise ValueError(f"the benchmark only talks to loopback addresses, not {url}")
    lines = "\n".join(f'wrk.headers["{k}"] = "{v}"' for k, v in (headers or {}).items())
    with tempfile.TemporaryDirectory(prefix="augur-wrk-") as tmp:
        body_path = Path(tmp, "body")
        body_path.write_bytes(body)
        script = Path(tmp, "post.lua")
        script.write_text(_WRK_SCRIPT.format(headers=lines))
        cmd = [wrk, "-t", "1", "-c", str(concurrency), "-d", f"{int(duration)}s", "--latency",
               "-s", str(script), url]
        if cpu is not None and hasattr(os, "sched_setaffinity"):
            cmd = ["taskset", "-c", str(cpu), *cmd]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.time()
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 30,
                              check=False, env={**os.environ, "AUGUR_WRK_BODY": str(body_path)})
        wall = time.time() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {proc.stderr.strip()[-500:]}")
    return _parse_wrk(proc.stdout, duration,
                      (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) / wall)


def _ms(text: str) -> float:
    units = {"us": 1e-3, "ms": 1.0, "s": 1000.0}
    for unit in ("us", "ms", "s"):
        if text.endswith(unit):
            return float(text[:-len(unit)]) * units[unit]
    return float(text)


def _parse_wrk(out: str, duration: float, cpu: float) -> LoadResult:
    requests, failed, p50, p99 = 0, 0, float("nan"), float("nan")
    for line in out.splitlines():
        words = line.split()
        if len(words) >= 4 and words[1] == "requests" and words[0].isdigit():
            requests = int(words[0])
            duration = _ms(words[3].rstrip(",")) / 1000.0
        elif line.strip().startswith("Non-2xx or 3xx responses:"):
            failed += int(words[-1])
        elif line.strip().startswith("Socket errors:"):
            failed += sum(int(w.rstrip(",")) for w in words if w.rstrip(",").isdigit())
        elif len(words) == 2 and words[0] == "50%":
            p50 = _ms(words[1])
        elif len(words) == 2 and words[0] == "99%":
            p99 = _ms(words[1])
    return LoadResult(requests=requests - failed, failed=failed, seconds=duration,
                      p50_ms=p50, p99_ms=p99, generator_cpu=cpu)
