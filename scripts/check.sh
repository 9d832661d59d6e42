#!/usr/bin/env bash
# Everything CI checks, in order; .ci/run calls this through `npm run check`.
set -euo pipefail
cd "$(dirname "$0")/.."

npm run lint
bash scripts/check-generated.sh
npm run typecheck
npm test
