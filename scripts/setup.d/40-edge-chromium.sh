#!/usr/bin/env bash
# Headless Chromium for the browser (edge) tests and `augur edge parity --target web`.
# Debian's package, driven by the Python playwright package; never `playwright install`.
# Idempotent and quiet when Chromium is already there.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  # Not fatal on a laptop: everything but the browser checks works without it.
  echo "setup.d/40-edge-chromium: /usr/bin/chromium is missing; run as root or" \
       "'sudo apt-get install chromium' for the browser tests and 'augur edge parity'" >&2
  [ "${AUGUR_REQUIRE_SERVICES:-}" = 1 ] && exit 1  # CI must run the browser tests
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive DEBCONF_NOWARNINGS=yes
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium fonts-liberation >/dev/null
echo "setup.d/40-edge-chromium: installed $(/usr/bin/chromium --version 2>/dev/null || echo chromium)"
