#!/usr/bin/env bash
# Smoke test of the built bundle alone: no source tree, no virtual environment.
#   bash packaging/smoke.sh [BUNDLE_DIR]      (default: dist/inpaint-studio)
# Copies the bundle and the sample photo to a temporary folder and, with a bare
# environment, runs --version, an offline edit, and the editor starting offscreen and
# quitting cleanly.
set -euo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
BUNDLE=${1:-$HERE/dist/inpaint-studio}
[ -x "$BUNDLE/inpaint-studio" ] || { echo "smoke: no bundle at $BUNDLE (run python packaging/build.py)" >&2; exit 1; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cp -a "$BUNDLE" "$WORK/app"
cp "$HERE/resources/sample/coffee.png" "$HERE/resources/sample/coffee-mask.png" "$WORK/"
cd "$WORK"
run() { env -i HOME="$WORK/home" PATH=/usr/bin:/bin LANG=C.UTF-8 INPAINT_STUDIO_CONFIG_DIR="$WORK/config" "$@"; }

version=$(run ./app/inpaint-studio --version)
echo "smoke: $version"
[[ "$version" == inpaint-studio\ * ]]

run ./app/inpaint-studio edit coffee.png --mask coffee-mask.png --provider local --seed 1 --out out --json > edit.json
grep -q '"provider": "local"' edit.json
[ -s out/coffee-edit-1.png ] && [ -s out/coffee-edit-1.json ]
echo "smoke: offline edit wrote out/coffee-edit-1.png"

run QT_QPA_PLATFORM=offscreen timeout 60 ./app/inpaint-studio-gui --smoke-quit coffee.png
echo "smoke: the editor started offscreen and quit cleanly"
echo "smoke: ok ($(du -sh "$WORK/app" | cut -f1) unpacked)"
