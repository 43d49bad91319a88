#!/usr/bin/env bash
# Assembles the npm package `holdfast` in build/npm/holdfast from js-bindings (package.json,
# README.md, src/*.js and *.d.ts) and the built WebAssembly core (build/sdk/holdfast_core.js and
# .wasm), then packs it: build/npm/holdfast-<version>.tgz, which depends on nothing in the repo.
# Run after `scripts/build.sh wasm`. Prints the tarball's path on its last line.
set -euo pipefail
cd "$(dirname "$0")/.."
sdk=${HOLDFAST_SDK_DIR:-build/sdk}
for f in holdfast_core.js holdfast_core.wasm; do
  [ -f "$sdk/$f" ] || { echo "pack: $sdk/$f is missing (run scripts/build.sh wasm)" >&2; exit 1; }
done
out=build/npm
pkg=$out/holdfast
rm -rf "$pkg" && mkdir -p "$pkg/src"
cp js-bindings/package.json js-bindings/README.md "$pkg/"
cp js-bindings/src/*.js js-bindings/src/*.d.ts "$pkg/src/"
cp "$sdk/holdfast_core.js" "$sdk/holdfast_core.wasm" "$pkg/src/"
version=$(node -p "require('./$pkg/package.json').version")
rm -f "$out/holdfast-$version.tgz"
npm pack "./$pkg" --pack-destination "$out" --silent >/dev/null
echo "$PWD/$out/holdfast-$version.tgz"
