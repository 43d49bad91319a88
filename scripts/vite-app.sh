#!/usr/bin/env bash
# Packs the npm package (scripts/pack.sh), copies the Vite app fixture e2e/vite-app to
# build/vite-app, installs its dependencies there — `holdfast` from the fresh tarball, Vite, React
# and the AI SDK from npm (the npm cache makes repeats offline) — and builds it with the relay
# address VITE_HOLDFAST_URL (default ws://127.0.0.1:18080/v1/ws). `scripts/vite-app.sh typecheck`
# runs `tsc --strict --noEmit` over the fixture's consumer file instead of building.
# Used by e2e/vite-app.spec.mjs; runs alone too.
set -euo pipefail
cd "$(dirname "$0")/.."
app=build/vite-app
tarball=$(bash scripts/pack.sh | tail -1)
mkdir -p "$app"
# Fixture sources are copied fresh; node_modules stays between runs.
find "$app" -mindepth 1 -maxdepth 1 ! -name node_modules -exec rm -rf {} +
cp -r e2e/vite-app/. "$app/"
cd "$app"
# The tarball changes with every build: no lockfile pins its old integrity, and the installed copy
# is replaced. package.json names it as file:../npm/holdfast-<version>.tgz, i.e. $tarball.
[ -f "$tarball" ] || { echo "vite-app: $tarball is missing" >&2; exit 1; }
rm -rf node_modules/holdfast
npm install --no-audit --no-fund --prefer-offline --loglevel=error >/dev/null
if [ "${1:-build}" = typecheck ]; then
  exec npx --no-install tsc -p typecheck/tsconfig.json
fi
export VITE_HOLDFAST_URL=${VITE_HOLDFAST_URL:-ws://127.0.0.1:18080/v1/ws}
npx --no-install vite build --logLevel warn
echo "vite-app: built $PWD/dist against $VITE_HOLDFAST_URL"
