#!/usr/bin/env bash
# npm run bench:peers — Holdfast beside Socket.IO and Durable Streams in the shared peer harness.
# Builds the relay and the SDK, makes the harness's npm dependencies available without writing
# into the shared folder, and runs its bench.mjs with this repo's adapter (bench/peers/holdfast.mjs).
#
# The harness is ../shared/peers beside the repo (override HOLDFAST_PEERS_DIR); it is read-only.
# If it has its own node_modules it runs in place. Otherwise it is copied to build/peers-harness
# (node_modules excluded, refreshed on every run) and `npm install` installs its lockfile there
# (`npm ci` refuses it: the lockfile lists only linux-x64's optional packages), once per lockfile
# change: Node resolves ESM imports from the importing file's folder (NODE_PATH does not
# apply to `import`), and the bundled adapters also read ../node_modules by path.
#
# Arguments are passed to bench.mjs (e.g. --scenarios A,C); default systems socketio,
# durable-streams and this adapter. The JSON lands in build/bench/peers-result.json (or --out
# FILE) and its plot beside it (peers-result.svg). Env: HOLDFAST_SKIP_BUILD=1 (use the built tree as is),
# HOLDFAST_RELAY_BIN, HOLDFAST_SDK_DIR (see holdfast.mjs), and the harness's own A_RATE, A_COUNT,
# B_MS, B_MAX, C_GAP, D_SUBS, D_RATE, D_COUNT, PEERS_LOG, PEERS_SERVER_LOG.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
peers="${HOLDFAST_PEERS_DIR:-$root/../shared/peers}"
if [ ! -f "$peers/bench.mjs" ]; then
  echo "bench:peers: no harness at $peers (expected ../shared/peers beside the repo; set HOLDFAST_PEERS_DIR)" >&2
  exit 2
fi
peers="$(cd "$peers" && pwd)"

if [ "${HOLDFAST_SKIP_BUILD:-0}" != 1 ]; then
  bash "$root/scripts/build.sh"
fi

# The SDK's download size first (issue 10 reports it on every benchmark run).
node "$root/bench/size/sdk-size.mjs"

if [ -d "$peers/node_modules" ]; then
  harness="$peers"
else
  harness="$root/build/peers-harness"
  mkdir -p "$harness"
  # Refresh the copy (everything but its node_modules) from the shared folder.
  find "$harness" -mindepth 1 -maxdepth 1 ! -name node_modules -exec rm -rf {} +
  (cd "$peers" && tar -cf - --exclude=./node_modules .) | (cd "$harness" && tar -xf -)
  chmod -R u+w "$harness"
  stamp="$harness/node_modules/.holdfast-lock"
  if [ ! -f "$stamp" ] || ! cmp -s "$stamp" "$peers/package-lock.json"; then
    echo "bench:peers: installing the harness's dependencies into $harness/node_modules" >&2
    (cd "$harness" && npm install --no-audit --no-fund)
    cp "$peers/package-lock.json" "$stamp"
  fi
fi

has_systems=0
for a in "$@"; do case "$a" in --systems|--systems=*) has_systems=1 ;; esac; done
systems=()
if [ "$has_systems" = 0 ]; then
  systems=(--systems "socketio,durable-streams,$root/bench/peers/holdfast.mjs")
fi
# The JSON goes to build/bench/peers-result.json unless --out names a file (made absolute here:
# bench.mjs runs in the harness folder); the plot (bench/peers/plot.mjs) goes next to it as .svg.
out_file="$root/build/bench/peers-result.json"
args=(); expect_out=0
for a in "$@"; do
  if [ "$expect_out" = 1 ]; then out_file="$(realpath -m "$a")"; expect_out=0; continue; fi
  case "$a" in
    --out) expect_out=1 ;;
    --out=*) out_file="$(realpath -m "${a#--out=}")" ;;
    *) args+=("$a") ;;
  esac
done
mkdir -p "$(dirname "$out_file")"
rm -f "$out_file"  # never plot a previous run's figures
echo "bench:peers: node $harness/bench.mjs ${systems[*]} --out $out_file ${args[*]}" >&2
status=0
(cd "$harness" && node bench.mjs "${systems[@]}" --out "$out_file" "${args[@]}") || status=$?
if [ -f "$out_file" ]; then
  node "$root/bench/peers/plot.mjs" "$out_file" "${out_file%.json}.svg" || status=1
fi
exit "$status"
