"""The servers augur is measured against, as ASGI apps run by uvicorn.

- ``ceiling``: a raw ASGI app that reads the body and returns a fixed JSON body;
  nothing is faster in Python HTTP serving on this machine.
- ``textbook_sklearn``: the FastAPI endpoint of every tutorial, a pydantic model
  of the four iris columns and ``model.predict`` on the scikit-learn forest.
- ``textbook_onnx``: the same endpoint calling ONNX Runtime on augur's export.

Run one with ``python -m uvicorn --app-dir benchmarks serving_peers:<factory> --factory``;
the model paths come from ``PEER_SKLEARN_MODEL`` and ``PEER_ONNX_MODEL`` (files the
benchmark itself wrote into a temporary folder).
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import numpy as np
from pydantic import BaseModel

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

FIXED_BODY = b'{"model_name":"iris","model_version":"1","outputs":[{"name":"label",' \
             b'"datatype":"INT64","shape":[1],"data":[0]}]}'


def ceiling() -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    """A raw ASGI app answering every request with the same JSON body."""
    headers = [(b"content-type", b"application/json"),
               (b"content-length", str(len(FIXED_BODY)).encode())]

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":  # nothing to set up or tear down
            while True:
                kind = (await receive())["type"]
                await send({"type": kind + ".complete"})
                if kind == "lifespan.shutdown":
                    return
        more = True
        while more:
            more = (await receive()).get("more_body", False)
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": FIXED_BODY})

    return app


class Iris(BaseModel):
    """The request body of the textbook endpoint: one flower."""

    sepal_length: float
    sepal_width: float
    petal_length: float
    petal_width: float


def _textbook(predict: Callable[[list[list[float]]], int]) -> Any:
    from fastapi import FastAPI

    app = FastAPI()

    @app.post("/predict")
    def predict_endpoint(x: Iris) -> dict[str, int]:
        row = [[x.sepal_length, x.sepal_width, x.petal_length, x.petal_width]]
        return {"prediction": predict(row)}

    return app


def textbook_sklearn() -> Any:
    """FastAPI + the scikit-learn model, as the tutorials write it."""
    import warnings

    import joblib

    warnings.filterwarnings("ignore", message="X does not have valid feature names")
    # The benchmark wrote this file itself a moment ago; it is no user input.
    model = joblib.load(os.environ["PEER_SKLEARN_MODEL"])
    return _textbook(lambda row: int(model.predict(np.array(row))[0]))


def textbook_onnx() -> Any:
    """FastAPI + an ONNX Runtime session on augur's export of the same model."""
    import onnxruntime as ort

    session = ort.InferenceSession(os.environ["PEER_ONNX_MODEL"],
                                   providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    label = session.get_outputs()[0].name
    return _textbook(lambda row: int(session.run([label],
                                                 {name: np.array(row, np.float32)})[0][0]))
