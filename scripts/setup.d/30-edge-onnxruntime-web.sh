#!/usr/bin/env bash
# onnxruntime-web for the edge page and web bundles: installed from the npm registry at
# set-up time into ./node_modules (pinned by package-lock.json), then served by augur
# itself; nothing is fetched from a CDN at run time. Idempotent and quiet when done.
set -euo pipefail
cd "$(dirname "$0")/../.."
want=$(sed -n 's/.*"onnxruntime-web": *"\([^"]*\)".*/\1/p' package.json | head -n1)
have=""
if [ -f node_modules/onnxruntime-web/package.json ]; then
  have=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' node_modules/onnxruntime-web/package.json | head -n1)
fi
if [ -n "$want" ] && [ "$have" = "$want" ] && [ -f node_modules/onnxruntime-web/dist/ort.wasm.min.mjs ]; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    # Not fatal: everything but the edge page and web bundles works without it.
    echo "setup.d/30-edge-onnxruntime-web: npm is missing; install Node.js and npm, then" \
         "run this again for the edge page and web bundles" >&2
    exit 0
  fi
  export DEBIAN_FRONTEND=noninteractive DEBCONF_NOWARNINGS=yes
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
npm ci --omit=dev --no-audit --no-fund --ignore-scripts --loglevel=error >/dev/null
echo "setup.d/30-edge-onnxruntime-web: installed onnxruntime-web ${want} into node_modules/"
