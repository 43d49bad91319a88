#!/usr/bin/env bash
# Runs every Holdfast test from a fresh Debian 12 machine: installs what is missing, builds both
# trees, then the native GoogleTest suites (also under ASan/UBSan), the WASM module in Node, and
# Playwright in Debian's Chromium. Ends with one line "tests: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1
bash scripts/build.sh all || exit 1

passed=0; failed=0; status=0
count() { passed=$((passed + ${1:-0})); failed=$((failed + ${2:-0})); }
log_dir=build/test-logs; mkdir -p "$log_dir"
# Adds a ctest log's "N tests failed out of M" to the counts; a log without that line is a failure.
count_ctest() {
  local total
  total=$(sed -n 's/.*tests passed, \([0-9]*\) tests failed out of \([0-9]*\).*/\1 \2/p' "$1" | tail -1)
  if [ -n "$total" ]; then set -- $total; count $(($2 - $1)) "$1"; else count 0 1; status=1; fi
}
# Runs `node --test` over a folder into a log and adds its "# pass" / "# fail" to the counts.
node_tests() {
  node --test "$1" 2>&1 | tee "$log_dir/$2" || status=1
  local p f
  p=$(sed -n 's/^# pass \([0-9]*\)/\1/p' "$log_dir/$2" | tail -1); f=$(sed -n 's/^# fail \([0-9]*\)/\1/p' "$log_dir/$2" | tail -1)
  if [ -n "$p" ]; then count "$p" "${f:-0}"; else count 0 1; status=1; fi
}

echo "== native tests (ctest)"
ctest --test-dir build/native --output-on-failure -j 2 2>&1 | tee "$log_dir/ctest.log" || status=1
count_ctest "$log_dir/ctest.log"

echo "== native tests under ASan/UBSan"
cmake -S . -B build/asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DHOLDFAST_SANITIZE=ON -DHOLDFAST_BUILD_BENCH=OFF >/dev/null \
  && ninja -C build/asan -j "$(nproc)" >/dev/null || { echo "asan build failed"; count 0 1; status=1; }
if [ -d build/asan ]; then
  ctest --test-dir build/asan --output-on-failure -j 2 2>&1 | tee "$log_dir/ctest-asan.log" | tail -3 || status=1
  count_ctest "$log_dir/ctest-asan.log"
fi

echo "== fuzzing (libFuzzer, ${HOLDFAST_FUZZ_SECONDS:-25} s per target)"
bash scripts/fuzz.sh "${HOLDFAST_FUZZ_SECONDS:-25}" 2>&1 | tee "$log_dir/fuzz.log" || status=1
count "$(grep -c '^fuzz: .* ok ' "$log_dir/fuzz.log")" "$(grep -c '^fuzz: .*\(FAILED\|failed\|missing\)' "$log_dir/fuzz.log")"

echo "== WASM module and JS SDK in Node"
node_tests tests/wasm/ node.log

# Issue 10's ceiling: the core (wasm + glue, gzip -9) never above 80 kB (docs/benchmarks.md, "SDK size").
echo "== SDK size (the core, wasm + glue, gzip -9: ceiling 80 kB)"
if node bench/size/sdk-size.mjs --max-core-kb 80 2>&1 | tee "$log_dir/sdk-size.log"; then count 1 0; else count 0 1; status=1; fi

echo "== benchmark report tools in Node (plot, smoke check)"
node_tests tests/bench/ bench-tools.log

# Only proves `npm run bench:peers` still works end to end (tiny counts; no figure is judged but
# Holdfast's presence and 0 lost in C/C2). Needs the shared harness beside the repo.
echo "== peer benchmark command, tiny counts"
if [ -f "${HOLDFAST_PEERS_DIR:-../shared/peers}/bench.mjs" ]; then
  smoke_json="$log_dir/peers-smoke.json"
  if HOLDFAST_SKIP_BUILD=1 A_COUNT=500 B_MAX=5000 B_MS=2000 C_GAP=500 D_SUBS=10 D_COUNT=500 \
       PEERS_LOG="$PWD/$log_dir/peers-smoke-progress.log" PEERS_SERVER_LOG="$PWD/$log_dir/peers-smoke-servers.log" \
       timeout 420 npm run --silent bench:peers -- --out "$smoke_json" > "$log_dir/peers-smoke.log" 2>&1 \
     && node bench/peers/check-smoke.mjs "$smoke_json" 2>&1 | tee -a "$log_dir/peers-smoke.log"; then
    count 1 0
  else
    echo "peer benchmark smoke run failed (see $log_dir/peers-smoke.log)"; tail -20 "$log_dir/peers-smoke.log"; count 0 1; status=1
  fi
else
  echo "peer benchmark: skipped, no harness at ${HOLDFAST_PEERS_DIR:-../shared/peers} (counted neither passed nor failed)"
fi

echo "== browser tests (Playwright, Debian Chromium)"
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npx playwright test -c e2e/playwright.config.mjs --reporter=list 2>&1 | tee "$log_dir/e2e.log" || status=1
p=$(grep -Eo '^ *[0-9]+ passed' "$log_dir/e2e.log" | tail -1 | tr -dc 0-9); f=$(grep -Eo '^ *[0-9]+ failed' "$log_dir/e2e.log" | tail -1 | tr -dc 0-9)
if [ -n "$p$f" ]; then count "${p:-0}" "${f:-0}"; else count 0 1; status=1; fi

[ "$failed" -eq 0 ] || status=1
echo "tests: $passed passed, $failed failed"
exit $status
