#!/usr/bin/env bash
# Set up, then run every check: ruff, mypy (strict on src/), the import-layering
# contracts, and the whole pytest suite (unit, integration, e2e).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
echo "== ruff";          ruff check src tests benchmarks
echo "== mypy";          mypy
echo "== import-linter"; lint-imports
echo "== pytest";        python -m pytest -q -p no:cacheprovider "$@"
