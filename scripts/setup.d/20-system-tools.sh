#!/usr/bin/env bash
# Debian packages that tests and commands run as real programs: buildah and mmdebstrap
# (augur build: an OCI image from a local Debian base, no registry), prometheus with
# promtool (the shipped alert rules are scraped and unit-tested), wrk and h2load
# (benchmarks). Idempotent and quiet once they are there.
set -euo pipefail
want=(buildah mmdebstrap prometheus wrk nghttp2-client)
missing=()
for pkg in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  # Not fatal on a laptop: only the image build, Prometheus and load-generator tests
  # need them. Fatal under CI, where those tests must run.
  echo "setup.d/20-system-tools: missing ${missing[*]}; run as root or" \
       "'sudo apt-get install ${missing[*]}'" >&2
  [ "${AUGUR_REQUIRE_SERVICES:-}" = 1 ] && exit 1
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive DEBCONF_NOWARNINGS=yes
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup.d/20-system-tools: installed ${missing[*]}"
