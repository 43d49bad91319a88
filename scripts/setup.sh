#!/usr/bin/env bash
# Installs everything Holdfast needs on a fresh Debian 12 machine, idempotently: Debian packages
# (compilers, Boost 1.81, SQLite, GoogleTest, Google Benchmark, Emscripten, Chromium), the
# header-only msgpack-cxx unpacked into build/deps (its Debian package would pull Boost 1.74),
# and the npm packages (Playwright without a browser download). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

need_pkgs=(build-essential cmake ninja-build pkg-config libboost1.81-dev libsqlite3-dev
           libgtest-dev libgmock-dev libbenchmark-dev emscripten chromium gzip curl node-terser
           libssl-dev clang-14 libclang-rt-14-dev  # libcrypto: token HMAC; clang: libFuzzer
           redis-server libhiredis-dev)            # several relay nodes on Redis
missing=()
for p in "${need_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node may come from elsewhere with its own npm (Debian's npm would conflict): install only if absent.
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# msgpack-cxx: header-only; unpacked rather than installed so Boost 1.74 is not dragged in.
deps="$root/build/deps"
if [ ! -f "$deps/msgpack/usr/include/msgpack.hpp" ]; then
  mkdir -p "$deps/download"
  ( cd "$deps/download" && rm -f libmsgpack-cxx-dev_*.deb && apt-get download libmsgpack-cxx-dev >/dev/null \
      || { $SUDO apt-get update -qq && apt-get download libmsgpack-cxx-dev >/dev/null; } )
  rm -rf "$deps/msgpack" && dpkg -x "$deps"/download/libmsgpack-cxx-dev_*.deb "$deps/msgpack"
fi

# Emscripten's sysroot hides /usr/include: hand it Boost through a folder holding only a link.
mkdir -p "$deps/boost-only"
ln -sfn /usr/include/boost "$deps/boost-only/boost"

# npm packages (Playwright drives Debian's /usr/bin/chromium; never download a browser).
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
if [ ! -d node_modules/@playwright/test ] || [ package.json -nt node_modules/.package-lock.json ]; then
  if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
fi
echo "setup: ok"
