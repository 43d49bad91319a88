#!/usr/bin/env bash
# Starts the Holdfast demo on a fresh Debian 12 machine: installs and builds what is missing, then
# runs the relay (SQLite store in build/demo.db) and the demo agent. Open http://localhost:8080/
# Ctrl-C stops both. HOLDFAST_PORT changes the port.
set -euo pipefail
cd "$(dirname "$0")/.."
port=${HOLDFAST_PORT:-8080}
bash scripts/setup.sh
bash scripts/build.sh all

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

bin/holdfast-relay --listen "localhost:$port" --store "sqlite:build/demo.db" \
  --static-dir demo/web --sdk-dir build/sdk &
pids+=($!)
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
node demo/agent/agent.mjs --url "ws://127.0.0.1:$port/v1/ws" &
pids+=($!)
echo
echo "Holdfast demo: open http://localhost:$port/  (Ctrl-C stops the relay and the agent)"
wait -n "${pids[@]}"
