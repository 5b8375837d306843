"""Support for the edge end-to-end tests: Chromium's presence, a static host, a tensor model."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from augur.edge.browser import chromium_path
from augur.errors import ConfigError
from augur.registry import ModelVersion, Registry
from augur.signature import Signature


def require_chromium() -> None:
    """Skip without Chromium, or fail under ``AUGUR_REQUIRE_SERVICES=1`` (CI)."""
    try:
        chromium_path()
    except ConfigError as exc:
        if os.environ.get("AUGUR_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{exc} and AUGUR_REQUIRE_SERVICES=1")
        pytest.skip(str(exc))


def static_host(root: Path) -> tuple[str, Any, threading.Thread]:
    """Serve ``root`` as plain static files (no isolation headers): (origin, server, thread).

    Stop it with ``server.should_exit = True`` and ``thread.join()``.
    """
    import socket

    import uvicorn
    from starlette.applications import Starlette
    from starlette.routing import Mount
    from starlette.staticfiles import StaticFiles

    app = Starlette(routes=[Mount("/", StaticFiles(directory=root, html=True))])
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        threading.Event().wait(0.02)
    return f"http://127.0.0.1:{sock.getsockname()[1]}", server, thread


def register_tensor_model(registry: Registry, name: str = "dense") -> ModelVersion:
    """``y = relu(x @ W + b)`` with x FP32 ``[-1, 3]``, and ``k`` INT64 ``[-1, 1]`` added."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.normal(size=(3, 4)).astype(np.float32), "W")
    b = numpy_helper.from_array(rng.normal(size=(4,)).astype(np.float32), "b")
    nodes = [
        helper.make_node("MatMul", ["x", "W"], ["xw"]),
        helper.make_node("Add", ["xw", "b"], ["z"]),
        helper.make_node("Relu", ["z"], ["r"]),
        helper.make_node("Cast", ["k"], ["kf"], to=TensorProto.FLOAT),
        helper.make_node("Add", ["r", "kf"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes, "dense",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 3]),
         helper.make_tensor_value_info("k", TensorProto.INT64, ["n", 1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 4])],
        initializer=[w, b])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    sig = Signature.from_onnx(model)
    return registry.register(name, model.SerializeToString(), sig)
