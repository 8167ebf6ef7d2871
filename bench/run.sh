#!/usr/bin/env bash
# The benchmark suite of synapsestream-auth: every row against its peer, measured
# back to back in this run, against reference servers on loopback. Prints the table
# and writes bench/results.md. See bench/README.md.
#
#   bash bench/run.sh [--quick] [--only rust,python,node,c] [--no-build | --build-only]
#
# --quick: fewer rounds (a smoke run, not for publishing); --only: some languages;
# --no-build: use the binaries, wheel and addon already built; --build-only: build
# and install, measure nothing.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH="$REPO/bench"
OUT="$BENCH/out"
TRIPLE=x86_64-unknown-linux-gnu
TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}"
REL="$TARGET_DIR/$TRIPLE/release"
VENV="$TARGET_DIR/py-venv"
PY="$VENV/bin/python"
COMMAND="bash bench/run.sh${*:+ $*}"

QUICK=0
ONLY="rust,python,node,c"
BUILD=1
MEASURE=1
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --only) ONLY="$2"; shift ;;
    --no-build) BUILD=0 ;;
    --build-only) MEASURE=0 ;;
    *) echo "usage: bash bench/run.sh [--quick] [--only rust,python,node,c] [--no-build | --build-only]" >&2; exit 2 ;;
  esac
  shift
done
want() { [[ ",$ONLY," == *",$1,"* ]]; }
START=$(date +%s)
step() { printf '\n== [%4ss] %s\n' "$(( $(date +%s) - START ))" "$*" >&2; }
mkdir -p "$OUT"
RESULTS="$OUT/results.jsonl"
: > "$RESULTS"
record() { grep '^@@ ' | cut -c4- | tee -a "$RESULTS" >&2 || true; }
meta() { printf '{"id":"meta_%s","value":%s}\n' "$1" "$2" >> "$RESULTS"; }
jstr() { python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$1"; }

# ---------------------------------------------------------------- the machine
meta date "$(jstr "$(date -u '+%Y-%m-%d %H:%M UTC')")"
meta loadavg_start "$(jstr "$(cut -d' ' -f1-3 /proc/loadavg)")"
meta busy_start "$(jstr "$(ps -eo pcpu=,comm= --sort=-pcpu | awk '$2 != "ps"' | head -4 | awk '{printf "%s%% %s; ", $1, $2}')")"

# ---------------------------------------------------------------- tools
step "tools"
need_apt=()
command -v openssl >/dev/null || need_apt+=(openssl)
command -v valgrind >/dev/null || need_apt+=(valgrind)
command -v taskset >/dev/null || need_apt+=(util-linux)
command -v gcc >/dev/null || need_apt+=(gcc)
if [ "${#need_apt[@]}" -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
fi
for tool in cargo python3 node npm gcc openssl valgrind taskset; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool is required" >&2; exit 1; }
done

# Two cores or more: the servers get the last core, every benchmark process the first.
if [ "$(nproc)" -ge 2 ]; then
  SERVER_CPU=$(( $(nproc) - 1 ))
  PIN=(taskset -c 0)
  PIN_SERVER=(taskset -c "$SERVER_CPU")
else
  PIN=()
  PIN_SERVER=()
fi

# ---------------------------------------------------------------- builds
# Cargo builds run one after another (one target directory); the peers' downloads
# run beside them. Features differ per cargo invocation, so the order is chosen to
# compile the shared dependencies (core, reqwest, hyper, ...) three times, not four:
# the C library alone has the Node addon's feature set (napi reuses its build); the
# Python binding adds tracing features (its own build); the bench (criterion) and the
# reference server (tokio "signal", hyper "server") are built together, last.
bg_pids=()
if [ "$BUILD" = 1 ]; then
  if want python; then
    step "Python: venv $VENV, maturin; the peers from PyPI in the background"
    [ -x "$PY" ] || python3 -m venv "$VENV"
    "$PY" -m pip install --quiet --disable-pip-version-check "maturin>=1.16,<2"
    "$PY" -m pip install --quiet --disable-pip-version-check \
      msal azure-identity google-auth PyJWT joserfc authlib cryptography requests > "$OUT/pip.log" 2>&1 &
    pip_pid=$!
  fi
  if want node; then
    (cd "$BENCH/node" && npm ci --no-audit --no-fund --silent) > "$OUT/npm.log" 2>&1 &
    bg_pids+=($!)
  fi
  step "building the C library (release, $TRIPLE)"
  (cd "$REPO" && cargo build --release --target "$TRIPLE" -p synapse-auth-c)
  if want node; then
    step "Node: the addon (napi build)"
    if [ -d "$REPO/bindings-node/node_modules/@napi-rs" ]; then
      (cd "$REPO/bindings-node" && npm run --silent build >/dev/null)
    else
      (cd "$REPO/bindings-node" && npm install --no-audit --no-fund)
    fi
  fi
  if want python; then
    step "Python: the wheel (maturin), installed into $VENV"
    mkdir -p "$TARGET_DIR/wheels"
    rm -f "$TARGET_DIR"/wheels/synapsestream_auth-*.whl
    (cd "$REPO/bindings-python" &&
      "$VENV/bin/maturin" build --quiet --release --target "$TRIPLE" --interpreter "$PY" -o "$TARGET_DIR/wheels")
    # One pip at a time in a venv: let the peers' install finish first.
    wait "$pip_pid" || { echo "run.sh: pip install of the peers failed:" >&2; cat "$OUT/pip.log" >&2; exit 1; }
    "$PY" -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps "$TARGET_DIR"/wheels/synapsestream_auth-*-abi3-*.whl
  fi
  step "building the Rust bench and the reference server (release, $TRIPLE)"
  (cd "$REPO" && cargo build --release --target "$TRIPLE" -p synapse-auth-bench -p synapse-auth-cli)
  for pid in "${bg_pids[@]}"; do
    wait "$pid" || { echo "run.sh: npm ci in bench/node failed:" >&2; cat "$OUT/npm.log" >&2; exit 1; }
  done
fi
for f in "$REL/synapse-auth" "$REL/synapse-auth-bench" "$REL/libsynapse_auth.a"; do
  [ -e "$f" ] || { echo "run.sh: $f is missing (run without --no-build)" >&2; exit 1; }
done
if want c; then
  gcc -O2 -g -Wall -Wextra -std=c11 -I"$REPO/bindings-c/include" "$BENCH/c/bench.c" -o "$OUT/bench_c" \
    "$REL/libsynapse_auth.a" -lpthread -ldl -lm
fi
BUILT=$(date +%s)
meta build_seconds "$((BUILT - START))"
if [ "$MEASURE" = 0 ]; then
  step "built in $((BUILT - START)) s"
  exit 0
fi

# ---------------------------------------------------------------- servers
# Each server's stdin is a pipe held open by this script: when it exits, they exit.
start_server() { # name alg
  local json="$OUT/server-$1.json"
  rm -f "$json"
  exec {fd}> >(exec "${PIN_SERVER[@]}" "$REL/synapse-auth" serve --json --addr 127.0.0.1:0 \
    --exit-on-stdin-close --signing-alg "$2" > "$json" 2> "$OUT/server-$1.log")
  for _ in $(seq 1 100); do
    [ -s "$json" ] && return 0
    sleep 0.1
  done
  echo "run.sh: the $2 reference server did not start:" >&2
  cat "$OUT/server-$1.log" >&2
  exit 1
}
step "reference servers (RS256 and ES256), pinned to CPU ${SERVER_CPU:-any}"
start_server rs RS256
start_server es ES256
RS="$OUT/server-rs.json"
ES="$OUT/server-es.json"
admin() { python3 "$BENCH/admin.py" "$RS" "$@"; }
field() { python3 "$BENCH/admin.py" "$1" field "$2"; }
cat "$(field "$RS" ca_pem_path)" "$(field "$ES" ca_pem_path)" > "$OUT/ca-bundle.pem"

# ---------------------------------------------------------------- Rust
if want rust; then
  BIN="$REL/synapse-auth-bench"
  reps=3; [ "$QUICK" = 1 ] && reps=1
  step "Rust: cached get_token (criterion)"
  "${PIN[@]}" "$BIN" cached --server "$RS" --out "$OUT" --reps "$reps" | record
  step "Rust: verify against openssl speed, $reps alternations each"
  for triple in rsa2048:RS256:"$RS" ecdsap256:ES256:"$ES"; do
    IFS=: read -r name alg server <<< "$triple"
    for rep in $(seq 1 "$reps"); do
      peer=$("${PIN[@]}" openssl speed -seconds 3 -mr "$name" 2>/dev/null | awk -F: '/^\+F[24]:/ {print $5}')
      [ -n "$peer" ] || { echo "run.sh: cannot parse openssl speed $name" >&2; exit 1; }
      "${PIN[@]}" "$BIN" verify --server "$server" --alg "$alg" --rep "$rep" --openssl-per-s "$peer" --out "$OUT" | record
    done
  done
  rounds=21; [ "$QUICK" = 1 ] && rounds=5
  step "Rust: authenticated request vs bare reqwest ($rounds rounds)"
  "${PIN[@]}" "$BIN" requests --server "$RS" --rounds "$rounds" | record
  step "Rust: stampedes and the refresh window"
  "${PIN[@]}" "$BIN" stampede --server "$RS" | record
  "${PIN[@]}" "$BIN" refresh-window --server "$RS" | record
fi

# ---------------------------------------------------------------- Python
if want python; then
  step "Python"
  qflag=(); [ "$QUICK" = 1 ] && qflag=(--quick)
  (cd "$BENCH/python" && "${PIN[@]}" "$PY" -W ignore bench.py --rs "$RS" --es "$ES" "${qflag[@]}") | record
fi

# ---------------------------------------------------------------- Node
if want node; then
  step "Node.js"
  qflag=(); [ "$QUICK" = 1 ] && qflag=(--quick)
  (cd "$BENCH/node" && NODE_EXTRA_CA_CERTS="$OUT/ca-bundle.pem" "${PIN[@]}" node bench.mjs --rs "$RS" --es "$ES" "${qflag[@]}") | record
fi

# ---------------------------------------------------------------- C
if want c; then
  CARGS=("$(field "$RS" base_url)" "$(field "$RS" ca_pem_path)" "$(field "$RS" client_id)" "$(field "$RS" client_secret)")
  step "C: cached get_token, memory per client"
  "${PIN[@]}" "$OUT/bench_c" "${CARGS[@]}" cached | record
  "${PIN[@]}" "$OUT/bench_c" "${CARGS[@]}" memory 10000 | record
  calls=1000000; [ "$QUICK" = 1 ] && calls=100000
  step "C: $calls get_token calls under valgrind memcheck"
  t0=$(date +%s.%N)
  set +e
  valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite,indirect \
    --errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
    --suppressions="$REPO/bindings-c/tests/valgrind.supp" --log-file="$OUT/valgrind.log" \
    "$OUT/bench_c" "${CARGS[@]}" calls "$calls" > "$OUT/valgrind.out"
  vrc=$?
  set -e
  vsecs=$(python3 -c "import sys,time; print(round(time.time()-float(sys.argv[1]),1))" "$t0")
  python3 - "$OUT/valgrind.log" "$OUT/valgrind.out" "$vrc" "$vsecs" "$calls" >> "$RESULTS" <<'EOF'
import json, re, sys
log, out, rc, secs, calls = open(sys.argv[1]).read(), open(sys.argv[2]).read(), int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
def grab(label):
    m = re.search(label + r":\s+([\d,]+) bytes in ([\d,]+) blocks", log)
    return int(m.group(1).replace(",", "")) if m else 0
errors = re.search(r"ERROR SUMMARY: (\d+) errors", log)
ran = re.search(r'"calls":(\d+)', out)
print(json.dumps({"id": "c_valgrind", "calls": int(ran.group(1)) if ran else 0, "planned": calls, "exit": rc,
                  "seconds": secs, "definitely_lost": grab("definitely lost"), "indirectly_lost": grab("indirectly lost"),
                  "possibly_lost": grab("possibly lost"), "errors": int(errors.group(1)) if errors else -1}))
EOF
  tail -n1 "$RESULTS" >&2
  step "C: stampedes"
  for phase in cold expiry; do
    admin reset
    admin latency 0
    if [ "$phase" = expiry ]; then admin ttl 3; fi
    # The program gets its first token (expiry: and lets it expire), says ready, and
    # waits for "go" while the token endpoint is slowed and the counter read.
    coproc CST { "${PIN[@]}" "$OUT/bench_c" "${CARGS[@]}" stampede 1000 "$phase"; }
    cpid=$CST_PID
    exec {c_out}<&"${CST[0]}" {c_in}>&"${CST[1]}"
    read -r ready <&"$c_out"
    [[ "$ready" == *c_stampede_ready* ]] || { echo "run.sh: C stampede did not start: $ready" >&2; exit 1; }
    admin latency 50
    before=$(admin count)
    echo go >&"$c_in"
    while read -r line <&"$c_out"; do printf '%s\n' "$line"; done | record
    exec {c_out}<&- {c_in}>&-
    wait "$cpid" 2>/dev/null || true
    after=$(admin count)
    admin latency 0
    admin ttl 3600
    echo "{\"id\":\"c_stampede_$phase\",\"token_requests\":$((after - before))}" | tee -a "$RESULTS" >&2
  done
  step "C: refresh window"
  admin reset
  admin ttl 4
  admin latency 50
  before=$(admin count)
  "${PIN[@]}" "$OUT/bench_c" "${CARGS[@]}" refresh | record
  after=$(admin count)
  admin latency 0
  admin ttl 3600
  echo "{\"id\":\"c_refresh_window\",\"token_requests\":$((after - before - 1))}" | tee -a "$RESULTS" >&2
fi

# ---------------------------------------------------------------- report
END=$(date +%s)
meta loadavg_end "$(jstr "$(cut -d' ' -f1-3 /proc/loadavg)")"
meta measure_seconds "$((END - BUILT))"
meta total_seconds "$((END - START))"
meta command "$(jstr "$COMMAND")"
meta quick "$QUICK"
step "report"
python3 "$BENCH/report.py" "$RESULTS" "$BENCH/results.md"
