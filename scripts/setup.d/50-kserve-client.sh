#!/usr/bin/env bash
# The KServe Python SDK in a venv of its own (.venv-kserve): it pins pandas<3 and
# psutil<6, which augur's own environment must not be downgraded to. The conformance
# and KServe tests run it as a separate client program against a real augur server,
# which is how a KServe user meets augur anyway. Idempotent and quiet once done.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-python3}
if .venv-kserve/bin/python -c "import kserve" >/dev/null 2>&1; then
  exit 0
fi
[ -x .venv-kserve/bin/python ] || "$PY" -m venv .venv-kserve
.venv-kserve/bin/python -m pip install -q --disable-pip-version-check "kserve>=0.14" \
  2> >(grep -v "^WARNING: Location" >&2)
echo "setup.d/50-kserve-client: installed the KServe SDK into .venv-kserve"
