#!/usr/bin/env bash
# Set up augur in ./.venv: the CPU build of PyTorch first (so nothing pulls a CUDA
# build), then augur with every extra. Safe to run again; it only adds what is missing.
#
# pip's output goes to .venv/setup.log; what reaches the terminal is its errors and
# warnings, less the "Location ... is ignored" lines a machine-wide pip config with
# find-links produces by the hundred (noise, not a problem of this set-up).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
VPY=.venv/bin/python
LOG=.venv/setup.log
: >"$LOG"
export AUGUR_SETUP_LOG="$PWD/$LOG"

pip_install() {
  local out status=0
  out=$(mktemp)
  "$VPY" -m pip install -q --disable-pip-version-check "$@" >"$out" 2>&1 || status=$?
  cat "$out" >>"$LOG"
  grep -E "^(ERROR|WARNING)|rror:" "$out" | grep -v "^WARNING: Location .* is ignored" >&2 || true
  rm -f "$out"
  if [ "$status" -ne 0 ]; then
    echo "setup: 'pip install $*' failed (exit $status); its whole output is in $LOG" >&2
    return "$status"
  fi
}

pip_install --upgrade pip
pip_install torch==2.13.0
pip_install -e ".[boosting,torch,text,ray,s3,dev]"
# Optional parts that bring their own set-up steps (web bundle, browser, stubs). Under
# AUGUR_REQUIRE_SERVICES=1 (CI) a step that cannot install what tests need fails.
for step in scripts/setup.d/*.sh; do
  [ -e "$step" ] && bash "$step"
done
echo "augur is set up in .venv ($($VPY -c 'import augur; print(augur.__version__)')):" \
     "run .venv/bin/augur, or 'source .venv/bin/activate' first to type augur"
