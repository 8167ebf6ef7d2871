#!/usr/bin/env bash
# CI for the C library (bindings-c). Run from anywhere; idempotent.
#
#  1. installs what it needs (Debian packages, cbindgen 0.29)
#  2. checks that include/synapse_auth.h matches the code (cbindgen drift check),
#     rustfmt, clippy and the crate's unit tests
#  3. builds the reference server (debug) and the library (release, through CMake/cargo)
#  4. runs the ctest suite natively, then again under valgrind memcheck
#  5. installs into a temporary prefix and builds and runs both examples through
#     find_package(SynapseAuth), plus a pkg-config build, against the reference server
#  6. checks that the README shows the example files as they are
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HERE="$ROOT/bindings-c"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"
RUST_TARGET=x86_64-unknown-linux-gnu
JOBS="$(nproc)"
step() { printf '\n==> %s\n' "$*"; }

# ---- 1. prerequisites ---------------------------------------------------------
step "system packages"
missing=()
for pkg in gcc g++ make cmake pkg-config valgrind python3 libcjson-dev libcurl4-openssl-dev; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

step "cbindgen 0.29"
if ! cbindgen --version 2>/dev/null | grep -q '^cbindgen 0\.29\.'; then
  cargo install --locked cbindgen --version '^0.29'
fi
cbindgen --version

WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# ---- 2. header drift, lint, unit tests -----------------------------------------
step "header drift check (cbindgen)"
cbindgen --quiet --config "$HERE/cbindgen.toml" --crate synapse-auth-c --output "$WORK/synapse_auth.h" "$HERE"
if ! diff -u "$HERE/include/synapse_auth.h" "$WORK/synapse_auth.h"; then
  echo "bindings-c/include/synapse_auth.h is out of date; regenerate it with:" >&2
  echo "  cbindgen --config bindings-c/cbindgen.toml --crate synapse-auth-c --output bindings-c/include/synapse_auth.h bindings-c" >&2
  exit 1
fi
echo "header up to date"

step "rustfmt, clippy, unit tests"
cargo fmt -p synapse-auth-c --check
cargo clippy -p synapse-auth-c --all-targets -- -D warnings
cargo test -p synapse-auth-c

# ---- 3. server and library ---------------------------------------------------------
step "reference server"
if [ -z "${SYNAPSE_AUTH_BIN:-}" ]; then
  cargo build -p synapse-auth-cli
  export SYNAPSE_AUTH_BIN="$ROOT/target/debug/synapse-auth"
fi
test -x "$SYNAPSE_AUTH_BIN"

BUILD="$ROOT/target/cmake/bindings-c"
step "library (cargo build --release --target $RUST_TARGET, via CMake) and tests"
cmake -S "$HERE" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DSYNAPSE_CARGO_TARGET="$RUST_TARGET" \
  -DSYNAPSE_BUILD_TESTS=ON -DSYNAPSE_TEST_VALGRIND=OFF >/dev/null
cmake --build "$BUILD" -j "$JOBS"

# ---- 4. tests -------------------------------------------------------------------------
step "ctest"
ctest --test-dir "$BUILD" --output-on-failure

step "ctest under valgrind (0 errors, no definite or indirect leaks)"
cmake -S "$HERE" -B "$BUILD-valgrind" -DCMAKE_BUILD_TYPE=Release -DSYNAPSE_CARGO_TARGET="$RUST_TARGET" \
  -DSYNAPSE_BUILD_TESTS=ON -DSYNAPSE_TEST_VALGRIND=ON >/dev/null
cmake --build "$BUILD-valgrind" -j "$JOBS"
ctest --test-dir "$BUILD-valgrind" --output-on-failure

# ---- 5. install, examples, pkg-config ---------------------------------------------------
PREFIX="$WORK/prefix"
step "cmake --install into $PREFIX"
cmake --install "$BUILD" --prefix "$PREFIX" >/dev/null
PC_DIR="$(dirname "$(find "$PREFIX" -name synapse_auth.pc | head -n1)")"
LIB_DIR="$(dirname "$PC_DIR")"
for f in include/synapse_auth.h include/synapse_auth.hpp; do test -f "$PREFIX/$f" || { echo "missing $f" >&2; exit 1; }; done
for f in libsynapse_auth.so libsynapse_auth.a pkgconfig/synapse_auth.pc pkgconfig/synapse_auth_static.pc \
  cmake/SynapseAuth/SynapseAuthConfig.cmake cmake/SynapseAuth/SynapseAuthConfigVersion.cmake; do
  test -e "$LIB_DIR/$f" || { echo "missing $LIB_DIR/$f" >&2; exit 1; }
done
SONAME="$(readelf -d "$LIB_DIR/libsynapse_auth.so" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')"
test -e "$LIB_DIR/$SONAME" || { echo "no file for the SONAME $SONAME" >&2; exit 1; }
ls -l "$LIB_DIR"

step "reference server for the examples"
mkfifo "$WORK/server.in" "$WORK/server.out"
"$SYNAPSE_AUTH_BIN" serve --json --addr 127.0.0.1:0 --exit-on-stdin-close <"$WORK/server.in" >"$WORK/server.out" &
SERVER_PID=$!
exec {SERVER_IN}>"$WORK/server.in"   # the server runs until this is closed
exec {SERVER_OUT}<"$WORK/server.out"
read -r SERVER_JSON <&"$SERVER_OUT"
eval "$(python3 - "$SERVER_JSON" <<'PY'
import json, shlex, sys
info = json.loads(sys.argv[1])
client = next(c for c in info["clients"] if c["client_id"] == "synapse-dev-client")
for k, v in {"SYNAPSE_BASE_URL": info["base_url"], "SYNAPSE_CA_FILE": info["ca_pem_path"],
             "SYNAPSE_CLIENT_ID": client["client_id"], "SYNAPSE_CLIENT_SECRET": client["client_secret"]}.items():
    print(f"export {k}={shlex.quote(v)}")
PY
)"

step "C example (find_package, shared and static)"
cmake -S "$HERE/examples/c" -B "$WORK/example-c" -DCMAKE_PREFIX_PATH="$PREFIX" >/dev/null
cmake --build "$WORK/example-c" -j "$JOBS"
"$WORK/example-c/example_c"
"$WORK/example-c/example_c_static"
if ldd "$WORK/example-c/example_c_static" | grep -q synapse_auth; then
  echo "example_c_static is linked against the shared library" >&2; exit 1
fi

step "C++ example (find_package)"
cmake -S "$HERE/examples/cpp" -B "$WORK/example-cpp" -DCMAKE_PREFIX_PATH="$PREFIX" >/dev/null
cmake --build "$WORK/example-cpp" -j "$JOBS"
"$WORK/example-cpp/example_cpp"

step "pkg-config builds (shared and static)"
export PKG_CONFIG_PATH="$PC_DIR"
# shellcheck disable=SC2046
cc -std=c11 -Wall -Werror -o "$WORK/pc_shared" "$HERE/examples/c/main.c" \
  $(pkg-config --cflags --libs synapse_auth) -Wl,-rpath,"$LIB_DIR"
# shellcheck disable=SC2046
cc -std=c11 -Wall -Werror -o "$WORK/pc_static" "$HERE/examples/c/main.c" $(pkg-config --cflags --libs synapse_auth_static)
"$WORK/pc_shared" >/dev/null
"$WORK/pc_static" >/dev/null
echo "pkg-config builds ran"

exec {SERVER_IN}>&- {SERVER_OUT}<&-
wait "$SERVER_PID" || true
SERVER_PID=""

# ---- 6. README --------------------------------------------------------------------------
step "README shows the examples as they are"
python3 - "$HERE" <<'PY'
import pathlib, sys
here = pathlib.Path(sys.argv[1])
readme = (here / "README.md").read_text()
for example in ["examples/c/main.c", "examples/c/CMakeLists.txt", "examples/cpp/main.cpp", "examples/cpp/CMakeLists.txt"]:
    if (here / example).read_text().strip() not in readme:
        sys.exit(f"README.md does not show {example} as it is")
print("README examples match the files")
PY

step "bindings-c: all checks passed"
