"""Headless Chromium driving the edge page, through the Python Playwright package.

Debian's ``chromium`` is used (``/usr/bin/chromium``, or ``$AUGUR_CHROMIUM``);
Playwright's own browser downloads are never needed. Every request the page
makes is recorded, so a caller can prove that nothing came from outside the
server.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from augur.errors import ConfigError, InvalidInput, ModelNotReady

CHROMIUM_ENV = "AUGUR_CHROMIUM"
DEFAULT_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-default-apps",
    "--disable-extensions", "--no-first-run", "--disable-dev-shm-usage",
)


def chromium_path(environ: Mapping[str, str] | None = None) -> Path:
    """The Chromium executable to drive.

    Raises:
        ConfigError: no Chromium there (the message says how to install it).
    """
    env = os.environ if environ is None else environ
    path = Path(env.get(CHROMIUM_ENV, DEFAULT_CHROMIUM))
    if not path.is_file():
        raise ConfigError(f"Chromium not found at {path}; run scripts/setup.sh (apt-get install "
                          f"chromium) or set {CHROMIUM_ENV}")
    return path


class EdgePage:
    """One open edge page.

    Attributes:
        requests: every URL the page requested, in order.
        console: the page's console messages and uncaught errors.
    """

    def __init__(self, page: Any, origin: str) -> None:
        self.page = page
        self.origin = origin
        self.requests: list[str] = []
        self.console: list[str] = []
        page.on("request", lambda req: self.requests.append(req.url))
        page.on("console", lambda msg: self.console.append(f"{msg.type}: {msg.text}"))
        page.on("pageerror", lambda err: self.console.append(f"pageerror: {err}"))

    def foreign_requests(self) -> list[str]:
        """Requests to anywhere but the page's own origin."""
        want = urlsplit(self.origin)
        return [u for u in self.requests
                if (urlsplit(u).scheme, urlsplit(u).netloc) != (want.scheme, want.netloc)]

    def wait_ready(self, timeout_s: float = 60.0) -> dict[str, Any]:
        """Wait until the page has loaded its model; return the load info.

        Raises:
            ModelNotReady: the page failed to load the model (the message has its error).
        """
        from playwright.sync_api import Error as PlaywrightError

        try:
            self.page.wait_for_function("() => window.augurEdge !== undefined",
                                        timeout=timeout_s * 1000)
            info: dict[str, Any] = self.page.evaluate(
                "async () => (await window.augurEdge.ready).info")
        except PlaywrightError as exc:  # carries the page's exception text
            message = str(exc.message).strip().splitlines()[0] if exc.message else str(exc)
            raise ModelNotReady(f"the edge page could not load the model: {message}; "
                                f"console: {self.console[-5:]}") from exc
        return info

    def _call(self, method: str, arg: Any) -> dict[str, Any]:
        from playwright.sync_api import Error as PlaywrightError

        script = (f"async (arg) => {{ const r = await window.augurEdge.{method}(arg);"
                  " return {outputs: r.outputs, seconds: r.seconds, runSeconds: r.runSeconds}; }")
        try:
            result: dict[str, Any] = self.page.evaluate(script, arg)
        except PlaywrightError as exc:
            # The page's own message ("EdgeInputError: column 'sex': ...") is the first line.
            message = str(exc.message).strip().splitlines()[0] if exc.message else str(exc)
            raise InvalidInput(f"the edge page refused the input: {message}") from exc
        return result

    def predict(self, records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """Predict ``records`` in the page; returns ``{outputs, seconds, runSeconds}``.

        Raises:
            InvalidInput: the page refused the records (the message says why).
        """
        return self._call("predict", list(records))

    def predict_tensors(self, arrays: Mapping[str, Any]) -> dict[str, Any]:
        """Predict input name -> nested array in the page (models without columns).

        Raises:
            InvalidInput: the page refused the arrays (the message says why).
        """
        return self._call("predictTensors", dict(arrays))

    def time_runs(self, records: Sequence[Mapping[str, Any]], repeats: int,
                  warmup_s: float = 0.0, inner: int = 1) -> list[tuple[float, float]]:
        """Time ``repeats`` in-page predictions of ``records``.

        Args:
            records: the rows of each prediction.
            repeats: how many timed predictions.
            warmup_s: predict untimed for this long first, so that the browser has
                compiled the hot WASM functions with its optimizing tier.
            inner: predictions per sample, averaged (the page's clock ticks every
                5 microseconds at best, too coarse for one small prediction).

        Returns:
            One ``(seconds, run_seconds)`` per sample: the whole ``predict`` (tensors
            built from records, model run, outputs read) and the model run alone.
        """
        # Each sample times a block of `inner` calls as a whole, for clock resolution.
        times: list[list[float]] = self.page.evaluate(
            "async ([records, repeats, warmupMs, inner]) => {"
            " const m = await window.augurEdge.ready; const t = m.tensors(records);"
            " const until = performance.now() + warmupMs;"
            " do { await m.predict(records); } while (performance.now() < until);"
            " const out = []; for (let i = 0; i < repeats; i++) {"
            " let s = performance.now();"
            " for (let j = 0; j < inner; j++) await m.predict(records);"
            " const total = (performance.now() - s) / inner; s = performance.now();"
            " for (let j = 0; j < inner; j++) await m.runTensors(t);"
            " out.push([total / 1000, (performance.now() - s) / inner / 1000]); }"
            " return out; }",
            [list(records), repeats, warmup_s * 1000, inner])
        return [(float(t), float(r)) for t, r in times]

    def time_session(self, records: Sequence[Mapping[str, Any]], repeats: int, *,
                     warmup_s: float = 0.0, inner: int = 1,
                     options: Mapping[str, Any] | None = None) -> list[float]:
        """Time onnxruntime-web's ``session.run`` alone on ready-made input tensors.

        This is the browser's counterpart of timing ONNX Runtime's ``sess.run`` in
        Python: the tensors are built once, outside the clock, and the outputs are
        left as onnxruntime-web returns them.

        Args:
            records: the rows to feed.
            repeats: how many timed samples.
            warmup_s: run untimed for this long first (lets V8 tier the WASM up).
            inner: runs per sample, averaged (for the clock's resolution).
            options: onnxruntime-web session options for a second session of the
                same model, made for this timing and released after it (e.g.
                ``{"enableMemPattern": false}``); ``None`` times the page's session.

        Returns:
            Seconds per ``session.run``, one per sample.
        """
        times: list[float] = self.page.evaluate(
            "async ([records, repeats, warmupMs, inner, options]) => {"
            " const m = await window.augurEdge.ready; let session = m.session;"
            " if (options) { const r = await fetch(m.info.modelUrl);"
            "  session = await m.ort.InferenceSession.create(new Uint8Array(await r.arrayBuffer()),"
            "   {executionProviders: ['wasm'], graphOptimizationLevel: 'all', ...options}); }"
            " const feeds = {};"
            " for (const [k, t] of Object.entries(m.tensors(records)))"
            "  feeds[k] = new m.ort.Tensor(t.type, t.data, t.dims);"
            " const until = performance.now() + warmupMs;"
            " do { await session.run(feeds); } while (performance.now() < until);"
            " const out = []; for (let i = 0; i < repeats; i++) { const s = performance.now();"
            "  for (let j = 0; j < inner; j++) await session.run(feeds);"
            "  out.push((performance.now() - s) / inner / 1000); }"
            " if (session !== m.session) await session.release();"
            " return out; }",
            [list(records), repeats, warmup_s * 1000, inner, dict(options) if options is not None else None])
        return [float(t) for t in times]

    def evaluate(self, script: str, arg: Any = None) -> Any:
        """Run a JavaScript function in the page and return its (JSON) result."""
        return self.page.evaluate(script, arg)


class EdgeBrowser:
    """A headless Chromium session.

    Args:
        executable: the Chromium binary (default: :func:`chromium_path`).

    Example:
        >>> with EdgeBrowser() as browser:               # doctest: +SKIP
        ...     page = browser.open("http://127.0.0.1:8000/edge/iris")
        ...     page.wait_ready()
    """

    def __init__(self, executable: str | Path | None = None) -> None:
        self.executable = Path(executable) if executable else None
        self._playwright: Any = None
        self._browser: Any = None
        self._context: Any = None

    def start(self) -> EdgeBrowser:
        """Launch Chromium.

        Raises:
            ConfigError: Chromium or the playwright package is missing.
        """
        executable = self.executable or chromium_path()
        try:
            from playwright.sync_api import sync_playwright
        except ImportError as exc:
            raise ConfigError("browser checks need the playwright Python package "
                              "(pip install 'augur[dev]')") from exc
        self._playwright = sync_playwright().start()
        try:
            self._browser = self._playwright.chromium.launch(
                executable_path=str(executable), headless=True, args=list(CHROMIUM_ARGS))
        except Exception:
            self._playwright.stop()
            self._playwright = None
            raise
        return self

    def open(self, url: str, timeout_s: float = 60.0) -> EdgePage:
        """Open ``url`` in a new page; its requests are recorded from the first one.

        Pages share one browser context (and its cache), as tabs of one user do.
        """
        if self._context is None:
            self._context = self._browser.new_context()
        page = self._context.new_page()
        parts = urlsplit(url)
        edge = EdgePage(page, f"{parts.scheme}://{parts.netloc}")
        page.goto(url, wait_until="load", timeout=timeout_s * 1000)
        return edge

    def stop(self) -> None:
        """Close Chromium and Playwright."""
        if self._context is not None:
            self._context.close()
            self._context = None
        if self._browser is not None:
            self._browser.close()
            self._browser = None
        if self._playwright is not None:
            self._playwright.stop()
            self._playwright = None

    def __enter__(self) -> EdgeBrowser:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
