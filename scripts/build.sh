#!/usr/bin/env bash
# Builds both trees: build/native (g++: core, relay, tests, benchmarks) and build/wasm
# (Emscripten: core + bindings, assembled with the JS glue into build/sdk). Incremental.
# Usage: scripts/build.sh [native|wasm|all] (default all). HOLDFAST_BUILD_TYPE=Debug|Release (native),
# HOLDFAST_WASM_BUILD_TYPE (default MinSizeRel: the SDK's download size is a product figure).
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
type=${HOLDFAST_BUILD_TYPE:-Release}
jobs=${HOLDFAST_JOBS:-$(nproc)}

if [ "$what" = all ] || [ "$what" = native ]; then
  cmake -S . -B build/native -G Ninja -DCMAKE_BUILD_TYPE="$type" >/dev/null
  ninja -C build/native -j "$jobs"
fi
if [ "$what" = all ] || [ "$what" = wasm ]; then
  # Debian's Emscripten 3.1.6 runs its JS optimizer with Debian's acorn from here.
  export NODE_PATH=/usr/share/nodejs${NODE_PATH:+:$NODE_PATH}
  # Debian freezes Emscripten's system-library cache; ours lives in build/ and is filled on the
  # first build (about two minutes), so it must not be frozen.
  export EM_CACHE=${EM_CACHE:-$PWD/build/emcache}
  export EM_FROZEN_CACHE=
  emcmake cmake -S . -B build/wasm -G Ninja -DCMAKE_BUILD_TYPE="${HOLDFAST_WASM_BUILD_TYPE:-MinSizeRel}" >/dev/null
  ninja -C build/wasm -j "$jobs"
fi
