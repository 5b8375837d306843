"""Several processes registering versions of one model at once."""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path

import onnx
import pytest

from augur.registry import Registry
from augur.signature import Signature

pytestmark = pytest.mark.integration

WORKERS = 4
PER_WORKER = 12


def _tiny(scale: float) -> bytes:
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 1])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 1])
    s = helper.make_tensor("s", TensorProto.FLOAT, [1], [scale])
    graph = helper.make_graph([helper.make_node("Mul", ["x", "s"], ["y"])], "g", [x], [y], [s])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return bytes(model.SerializeToString())


def _register_many(home: str, url: str | None, worker: int,
                   start: mp.synchronize.Event) -> None:
    reg = Registry(home, url=url)
    start.wait()
    for i in range(PER_WORKER):
        data = _tiny(float(worker * 1000 + i))
        sig = Signature.from_onnx(onnx.load_model_from_string(data))
        reg.register("shared", data, sig, tags={"writer": f"{worker}-{i}"})
        reg.set_alias("shared", f"w{worker}", reg.resolve("shared").version)


def test_concurrent_registration_gets_distinct_consecutive_versions(
        tmp_path: Path, registry_url: str | None) -> None:
    home = str(tmp_path / "home")
    Registry(home, url=registry_url).list_models()  # create the schema once
    ctx = mp.get_context("spawn")
    start = ctx.Event()
    procs = [ctx.Process(target=_register_many, args=(home, registry_url, w, start)) for w in range(WORKERS)]
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join(timeout=120)
        assert p.exitcode == 0
    reg = Registry(home, url=registry_url)
    versions = reg.versions("shared")
    assert [v.version for v in versions] == list(range(1, WORKERS * PER_WORKER + 1))
    writers = {v.tags["writer"] for v in versions}
    assert len(writers) == WORKERS * PER_WORKER
    for v in versions:  # each version holds exactly the bytes its writer registered
        worker, i = (int(x) for x in v.tags["writer"].split("-"))
        assert reg.read_artifact(v) == _tiny(float(worker * 1000 + i))
    assert set(reg.aliases("shared")) == {f"w{w}" for w in range(WORKERS)}
    history = reg.alias_history("shared", "w0")
    assert [h["version"] for h in history] == sorted(h["version"] for h in history)
    if reg.db.dialect == "sqlite":
        conn = reg.db.connect()
        try:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        finally:
            conn.close()
