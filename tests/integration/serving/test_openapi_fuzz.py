"""schemathesis fuzzes a real ``augur serve`` from the OpenAPI document it serves.

Every operation of ``GET /v2/openapi.json`` gets a bounded number of generated
requests, valid and invalid, with the admin token configured and sent, through
schemathesis' phases (the document's examples, coverage of each schema's edges,
random fuzzing) and all its response checks, plus augur's own
(``openapi_fuzz_checks.py``): no 5xx, every error ``{"error": "..."}``, statuses,
content types and bodies as documented, tokens enforced, 405 with ``Allow`` for an
undocumented method.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from augur.registry import Registry
from augur.serving.openapi import openapi_document
from server_process import ServerProcess

pytestmark = [pytest.mark.integration, pytest.mark.slow]

HOOKS = Path(__file__).with_name("openapi_fuzz_checks.py")
MAX_EXAMPLES = 12  # per operation and phase: about a minute on two busy cores
SEED = 20261202  # a fixed seed: a failure here reproduces with the same command

# Inference answers 400 to a well-formed request its model's signature refuses; the
# document cannot say which tensors each model takes.
CONFIG = """
hooks = "{hooks}"

[[operations]]
include-path-regex = "(/infer|:predict)$"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "404", "422", "429"]
"""


@pytest.fixture(scope="module")
def server(examples_registry: Registry,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    home = tmp_path_factory.mktemp("fuzz") / "home"
    shutil.copytree(examples_registry.home, home)  # alias moves and loads happen here
    with ServerProcess(home, tmp_path_factory.mktemp("serve"), inference_token="inf",
                       admin_token="adm", preload=["iris"]) as proc:
        yield proc


def test_fuzzing_from_the_served_document_finds_nothing(server: ServerProcess,
                                                        tmp_path: Path) -> None:
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG.format(hooks=HOOKS))
    report = tmp_path / "report.json"
    command = [sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "run",
               f"{server.url}/v2/openapi.json", "--header", "Authorization: Bearer adm",
               "--phases", "examples,coverage,fuzzing", "--checks", "all",
               "--max-examples", str(MAX_EXAMPLES), "--seed", str(SEED), "--workers", "1",
               "--request-timeout", "30", "--no-color", "--report", "json",
               "--report-json-path", str(report)]
    run = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=280)
    output = run.stdout[-12000:] + run.stderr[-3000:]
    assert report.exists(), output
    result = json.loads(report.read_text())
    operations = sum(len(methods) for methods in openapi_document()["paths"].values())
    # every operation but GET /v2/openapi.json, which schemathesis leaves out as its source
    assert result["operations"]["tested"] == result["operations"]["total"] == operations - 1, \
        output
    assert result["failures"] == [] and result["errors"] == [], output
    assert run.returncode == 0, output
    assert server.alive()
    assert "Traceback" not in server.log.read_text()
