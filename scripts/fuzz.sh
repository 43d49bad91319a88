#!/usr/bin/env bash
# Builds the libFuzzer targets in build/fuzz (clang-14, -fsanitize=fuzzer,address,undefined) and
# runs each for a budget, starting from the committed seeds (msgpack attack shapes and the golden
# frames). Usage: scripts/fuzz.sh [seconds per target] (default 25). The corpus grows in
# build/fuzz/corpus, never in the repository; a crash leaves its input in build/fuzz/artifacts
# and fails the script. Prints one line per target: "fuzz: <target> ok <runs> runs".
set -uo pipefail
cd "$(dirname "$0")/.."
budget=${1:-25}
command -v clang++-14 >/dev/null || { echo "fuzz: clang++-14 missing (apt-get install clang-14 libclang-rt-14-dev)"; exit 1; }
CC=clang-14 CXX=clang++-14 cmake -S . -B build/fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DHOLDFAST_BUILD_FUZZ=ON -DHOLDFAST_BUILD_TESTS=OFF -DHOLDFAST_BUILD_BENCH=OFF -DHOLDFAST_BUILD_RELAY=OFF >/dev/null \
  || { echo "fuzz: configure failed"; exit 1; }
ninja -C build/fuzz -j "${HOLDFAST_JOBS:-2}" frame_decoder_fuzz history_record_fuzz >/dev/null || { echo "fuzz: build failed"; exit 1; }
status=0
for pair in frame_decoder_fuzz:frames history_record_fuzz:history; do
  target=${pair%%:*}; seeds=${pair#*:}
  corpus=build/fuzz/corpus/$seeds; artifacts=build/fuzz/artifacts/$target/
  mkdir -p "$corpus" "$artifacts"
  log=build/fuzz/$target.log
  # -rss_limit_mb: an input that makes the decoder allocate past this is a finding too.
  if build/fuzz/tests/fuzz/$target "$corpus" "tests/fuzz/seeds/$seeds" -max_total_time="$budget" \
       -rss_limit_mb=512 -max_len=65536 -artifact_prefix="$artifacts" -print_final_stats=1 >"$log" 2>&1; then
    echo "fuzz: $target ok $(sed -n 's/^stat::number_of_executed_units: *//p' "$log") runs"
  else
    echo "fuzz: $target FAILED (log: $log)"; tail -30 "$log"; status=1
  fi
done
exit $status
