#!/usr/bin/env bash
# CI entry point of the Node.js binding: builds the addon (npm install runs
# `napi build --platform --release`), builds the reference server if needed,
# type-checks the TypeScript example and runs every test (node --test).
# Run from anywhere; exits non-zero on any failure.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"

for tool in node npm cargo; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "test.sh: '$tool' is required (Node 20+, npm, and a Rust toolchain with cargo)" >&2
    exit 1
  fi
done
node_major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$node_major" -lt 20 ]; then
  echo "test.sh: Node 20 or newer is required (found $(node --version))" >&2
  exit 1
fi

# The reference server the tests start (SYNAPSE_AUTH_BIN overrides it).
if [ -z "${SYNAPSE_AUTH_BIN:-}" ]; then
  (cd "$repo" && cargo build -p synapse-auth-cli)
  target_dir="$(cd "$repo" && cargo metadata --format-version 1 --no-deps |
    node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(0, "utf8")).target_directory)')"
  export SYNAPSE_AUTH_BIN="$target_dir/debug/synapse-auth"
fi
if [ ! -x "$SYNAPSE_AUTH_BIN" ]; then
  echo "test.sh: no server binary at $SYNAPSE_AUTH_BIN" >&2
  exit 1
fi

cd "$here"
npm install --no-audit --no-fund
npm test
