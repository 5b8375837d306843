#!/usr/bin/env bash
# Set up augur in ./.venv: the CPU build of PyTorch first (so nothing pulls a CUDA
# build), then augur with every extra. Safe to run again; it only adds what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
VPY=.venv/bin/python
$VPY -m pip install -q --upgrade pip
$VPY -m pip install -q torch==2.13.0
$VPY -m pip install -q -e ".[boosting,torch,text,ray,s3,dev]"
# Optional parts that bring their own set-up steps (web bundle, browser, stubs).
for step in scripts/setup.d/*.sh; do
  [ -e "$step" ] && bash "$step"
done
echo "augur is set up in .venv ($($VPY -c 'import augur; print(augur.__version__)'))"
