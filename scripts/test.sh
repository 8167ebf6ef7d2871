#!/usr/bin/env bash
# Builds everything and runs every test in every language: the README's test
# command, and exactly what CI runs (.ci/run). Installs what it needs on a clean
# machine (Debian packages, Python and npm packages) and starts its own servers.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
export CARGO_TERM_COLOR=never
export SYNAPSE_AUTH_BIN="$root/target/debug/synapse-auth"

steps=()
failed=()
step() {
  local name=$1; shift
  echo
  echo "=== $name ==="
  local start=$SECONDS
  if "$@"; then
    steps+=("$name ($((SECONDS - start))s)")
  else
    echo "!!! $name failed"
    failed+=("$name")
  fi
}

install_system_packages() {
  local missing=()
  command -v redis-server >/dev/null || missing+=(redis-server)
  command -v curl >/dev/null || missing+=(curl)
  command -v valgrind >/dev/null || missing+=(valgrind)
  command -v cmake >/dev/null || missing+=(cmake)
  [ -f /usr/include/cjson/cJSON.h ] || missing+=(libcjson-dev)
  [ -f /usr/include/x86_64-linux-gnu/curl/curl.h ] || [ -f /usr/include/curl/curl.h ] || missing+=(libcurl4-openssl-dev)
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing ${missing[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

rust_checks() {
  cargo fmt --all --check
  cargo clippy --workspace --all-targets --locked -- -D warnings
}

rust_tests() {
  cargo build --workspace --locked --bins
  cargo test --workspace --locked --exclude synapse-auth-python --exclude synapse-auth-node
}

step "system packages" install_system_packages
step "rustfmt + clippy" rust_checks
step "rust tests (core, reference server, cli, C library)" rust_tests
step "curl reproduces the guide's examples" bash tests/curl_examples.sh
step "python package" bash bindings-python/test.sh
step "node package" bash bindings-node/test.sh
step "C library and C++ wrapper" bash bindings-c/test.sh
step "fuzzing (5 s per target)" bash fuzz/run.sh 5

echo
echo "=== summary ==="
for s in "${steps[@]}"; do echo "ok     $s"; done
for s in "${failed[@]+"${failed[@]}"}"; do echo "FAILED $s"; done
echo "suites: ${#steps[@]} passed, ${#failed[@]} failed"
[ ${#failed[@]} -eq 0 ]
