"""The metadata backends: records on both, PostgreSQL settings and its failures."""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from augur.cli.app import main
from augur.config import Settings
from augur.errors import ConfigError, ModelNotFound, ServiceUnavailable
from augur.registry import Registry, RunStore, TuningCache

UNREACHABLE = "postgresql://augur:s3cret@127.0.0.1:1/test"


def test_run_records_on_each_backend(registry: Registry) -> None:
    runs = RunStore(registry.db)
    before = time.time()
    rec = runs.create("batch", model="m", version=2, params={"chunk": 10})
    assert rec.status == "running" and rec.params == {"chunk": 10}
    # Timestamps keep sub-second precision (PostgreSQL REAL would round to minutes).
    assert abs(rec.started_at - before) < 5.0
    done = runs.update(rec.id, status="succeeded", stats={"rows": 7})
    assert done.finished_at is not None and done.stats == {"rows": 7}
    assert [r.id for r in runs.list(kind="batch")] == [rec.id]
    with pytest.raises(ModelNotFound, match="no run with id 'nope'"):
        runs.get("nope")


def test_concurrent_run_updates_lose_no_stats(registry: Registry) -> None:
    runs = RunStore(registry.db)
    rec = runs.create("batch", model="m", version=1, params={})
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: runs.update(rec.id, stats={f"part{i}": i}), range(40)))
    assert runs.get(rec.id).stats == {f"part{i}": i for i in range(40)}
    with pytest.raises(ModelNotFound, match="no run with id 'nope'"):
        runs.update("nope", status="failed")


def test_tuning_cache_on_each_backend(registry: Registry) -> None:
    cache = TuningCache(registry.db)
    assert cache.get("abc", "cpu", "1.0") is None
    cache.put("abc", "cpu", "1.0", {"threads": 2}, {"p50_ms": 1.5})
    cache.put("abc", "cpu", "1.0", {"threads": 4})
    entry = cache.get("abc", "cpu", "1.0")
    assert entry is not None and entry["options"] == {"threads": 4}
    assert cache.for_artifact("abc") == [{"hardware": "cpu", "runtime_version": "1.0",
                                          "options": {"threads": 4}}]


def test_schedules_share_the_registry_database(registry: Registry) -> None:
    from augur.batch import BatchJob, ScheduleStore

    store = ScheduleStore(registry)
    when = time.time() + 3600.25
    sched = store.add(BatchJob("m", "in.parquet", key="id"), every="4h", start_at=when)
    assert store.get(sched.id).next_run_at == pytest.approx(when, abs=1e-3)
    store.remove(sched.id)
    assert store.list() == []


def test_a_failed_write_leaves_nothing(registry: Registry) -> None:
    with pytest.raises(RuntimeError), registry.db.write() as conn:
        conn.execute("INSERT INTO models(name, description, created_at) VALUES (?, ?, ?)",
                     ("ghost", "", time.time()))
        raise RuntimeError("abort")
    assert registry.list_models() == []


def test_settings_read_the_registry_url(tmp_path: Path, postgres_schema_url: str,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings.from_env({}).registry_url is None
    monkeypatch.setenv("AUGUR_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("AUGUR_REGISTRY_URL", postgres_schema_url)
    reg = Registry()
    assert reg.db.dialect == "postgresql" and reg.home == tmp_path / "home"
    assert reg.list_models() == []
    assert not (tmp_path / "home" / "registry.db").exists()


@pytest.mark.parametrize("url", ["mysql://127.0.0.1/test", "postgresql://127.0.0.1:port/test"])
def test_malformed_url_is_a_config_error(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUGUR_REGISTRY_URL", url)
    with pytest.raises(ConfigError, match="AUGUR_REGISTRY_URL"):
        Registry()
    with pytest.raises(ConfigError, match="postgresql://user@host:5432/database"):
        Registry("/nonexistent", url=url)


def test_unreachable_postgres_names_the_url_without_its_password(tmp_path: Path) -> None:
    reg = Registry(tmp_path, url=UNREACHABLE)
    with pytest.raises(ServiceUnavailable, match=re.escape("127.0.0.1:1/test: connecting failed")) as err:
        reg.list_models()
    assert "s3cret" not in str(err.value)


def test_cli_reports_unreachable_registry_in_one_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("AUGUR_HOME", str(tmp_path))
    monkeypatch.setenv("AUGUR_REGISTRY_URL", UNREACHABLE)
    assert main(["models", "list"]) != 0
    err = capsys.readouterr().err
    assert err.startswith("augur: error: registry database postgresql://augur:***@127.0.0.1:1")
    assert "Traceback" not in err
    monkeypatch.setenv("AUGUR_REGISTRY_URL", "mysql://x/y")
    assert main(["models", "list"]) != 0
    assert "unsupported scheme 'mysql'" in capsys.readouterr().err


def test_connection_lost_midway_is_service_unavailable(postgres_schema_url: str,
                                                       postgres_url: str, tmp_path: Path) -> None:
    import psycopg

    reg = Registry(tmp_path, url=postgres_schema_url)
    with pytest.raises(ServiceUnavailable, match=r"registry database .* failed"), \
            reg.db.read() as conn:
        pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        conn.execute("SELECT 1 FROM models")
    assert reg.list_models() == []  # the broken connection left the pool: a new one answers


def test_postgres_operations_reuse_pooled_connections(postgres_schema_url: str,
                                                      tmp_path: Path) -> None:
    reg = Registry(tmp_path, url=postgres_schema_url)
    pids = set()
    for _ in range(20):
        with reg.db.read() as conn:
            pids.add(conn.execute("SELECT pg_backend_pid()").fetchone()[0])
        reg.list_models()
    assert len(pids) == 1  # one connection served every operation of this thread
    with ThreadPoolExecutor(4) as pool:  # concurrent operations each get their own
        list(pool.map(lambda _: reg.list_models(), range(40)))
    reg.close()
    assert reg.list_models() == []  # closing empties the pool; it fills again on use
