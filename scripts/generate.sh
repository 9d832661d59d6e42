#!/usr/bin/env bash
# Regenerates all code from proto/ and third_party/: server stubs (src/gen), SDK stubs (sdk/src/gen)
# and the descriptor set that gRPC server reflection serves. Output is deterministic and unformatted.
set -euo pipefail
cd "$(dirname "$0")/.."

buf=node_modules/.bin/buf

rm -rf src/gen sdk/src/gen
"$buf" generate --template buf.gen.yaml
"$buf" generate --template buf.gen.sdk.yaml
# Reflection serves the public API only: progressdb/v1 and its imports.
"$buf" build --as-file-descriptor-set --path proto/progressdb/v1 -o src/gen/descriptor-set.binpb
