#!/usr/bin/env bash
# Runs every fuzz target for a few seconds (CI) or as long as asked:
#   fuzz/run.sh 5        # 5 s per target
#   fuzz/run.sh 3600     # an hour per target
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-5}"
command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
toolchain=()
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then toolchain=(+nightly); else export RUSTC_BOOTSTRAP=1; fi
for target in token_response error_body jwt_verify; do
  mkdir -p "corpus/$target"
  echo "fuzzing $target for ${seconds}s"
  cargo "${toolchain[@]}" fuzz run --target-dir ../target/fuzz "$target" "corpus/$target" -- -max_total_time="$seconds" -rss_limit_mb=2048 2>&1 | tail -n 3
done
echo "fuzz: 3 targets ran for ${seconds}s each without a crash"
