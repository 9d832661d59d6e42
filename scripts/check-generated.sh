#!/usr/bin/env bash
# Fails when the committed generated code differs from what the protos produce now.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/generate.sh

stale="$(git status --porcelain --untracked-files=all -- src/gen sdk/src/gen)"
if [[ -n "$stale" ]]; then
  echo "error: generated code is stale; run 'npm run generate' and commit the result." >&2
  echo "$stale" >&2
  git --no-pager diff --stat -- src/gen sdk/src/gen >&2
  exit 1
fi
echo "generated code is up to date"
