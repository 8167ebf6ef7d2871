#!/usr/bin/env bash
# Builds the Python wheel, installs it into a virtualenv and runs the pytest suite
# against the reference server. Run from the repository root (works from anywhere).
# Idempotent: reuses target/py-venv and the shared cargo target directory.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HERE="$REPO/bindings-python"
TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}"
VENV="$TARGET_DIR/py-venv"
WHEELS="$TARGET_DIR/wheels"
TRIPLE="x86_64-unknown-linux-gnu"
PYTHON="${PYTHON:-python3}"

log() { printf '\n== %s\n' "$*" >&2; }

command -v cargo >/dev/null || { echo "cargo not found: install a Rust toolchain" >&2; exit 1; }
command -v "$PYTHON" >/dev/null || { echo "$PYTHON not found" >&2; exit 1; }

if [ ! -x "$VENV/bin/python" ]; then
    log "creating $VENV"
    "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"
log "installing build and test tools"
"$PY" -m pip install --quiet --disable-pip-version-check --upgrade pip
"$PY" -m pip install --quiet --disable-pip-version-check \
    "maturin>=1.16,<2" pytest pytest-timeout requests httpx mypy types-requests

log "building the abi3 wheel (release, $TRIPLE)"
mkdir -p "$WHEELS"
rm -f "$WHEELS"/synapsestream_auth-*.whl
(cd "$HERE" && "$VENV/bin/maturin" build --release --target "$TRIPLE" --interpreter "$PY" -o "$WHEELS")
shopt -s nullglob
wheels=("$WHEELS"/synapsestream_auth-*-abi3-*.whl)
shopt -u nullglob
[ "${#wheels[@]}" -eq 1 ] || { echo "expected exactly one abi3 wheel in $WHEELS, found ${#wheels[@]}" >&2; exit 1; }

log "installing ${wheels[0]##*/}"
"$PY" -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps "${wheels[0]}"
# The tests must import the installed wheel, not the source tree.
(cd "$TARGET_DIR" && "$PY" -c "import synapsestream_auth, sys; assert 'site-packages' in synapsestream_auth.__file__, synapsestream_auth.__file__")

export SYNAPSE_AUTH_BIN="${SYNAPSE_AUTH_BIN:-$TARGET_DIR/debug/synapse-auth}"
if [ ! -x "$SYNAPSE_AUTH_BIN" ]; then
    log "building the reference server"
    (cd "$REPO" && cargo build -p synapse-auth-cli)
fi

log "running pytest"
cd "$HERE"
# -p no:cacheprovider: leave no .pytest_cache in the source tree.
# --timeout: a hung test (e.g. a deadlock) fails the run instead of stalling CI.
"$PY" -m pytest -p no:cacheprovider --timeout=300 "$@" tests
