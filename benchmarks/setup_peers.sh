#!/usr/bin/env bash
# Set up what the serving benchmarks compare augur against. Only the benchmarks need
# this; the test suite does not, so scripts/setup.sh does not run it.
#
#   - h2load (Debian nghttp2-client): the load generator, HTTP/1.1 and HTTP/2 (gRPC),
#     written in C so that it is not the bottleneck; wrk as a cross-check.
#   - .venv-mlserver: MLServer with its scikit-learn runtime in a venv of its own,
#     since MLServer pins older FastAPI/Starlette than augur. uvloop is pinned to
#     0.21.0 because MLServer 1.7.1 crashes at start with uvloop 0.23 (MLServer #2286).
#
# Safe to run again: it only adds what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v h2load >/dev/null || ! command -v wrk >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nghttp2-client wrk >/dev/null
  else
    echo "install h2load and wrk as root: apt-get install nghttp2-client wrk" >&2
  fi
fi

PY=${PYTHON:-python3}
if [ ! -x .venv-mlserver/bin/mlserver ]; then
  "$PY" -m venv .venv-mlserver
  .venv-mlserver/bin/python -m pip install -q --upgrade pip
  .venv-mlserver/bin/python -m pip install -q "mlserver==1.7.1" "mlserver-sklearn==1.7.1" \
    "uvloop==0.21.0" "scikit-learn==$(.venv/bin/python -c 'import sklearn; print(sklearn.__version__)')"
fi
echo "benchmark peers ready: $(command -v h2load) $(command -v wrk) .venv-mlserver"
