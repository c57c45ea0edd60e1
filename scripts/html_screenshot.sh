#!/usr/bin/env bash
# Screenshots an HTML report (`modelspec scan --format html`) with headless Chromium, to look
# at what a reviewer sees. Usage: scripts/html_screenshot.sh REPORT.html OUT.png [WIDTH,HEIGHT]
# Needs the Debian package `chromium` (apt-get install chromium). The page loads nothing from
# the network; --no-sandbox is for running as root in containers.
set -euo pipefail
if [ "$#" -lt 2 ] || [ "$#" -gt 3 ]; then
  echo "usage: $0 REPORT.html OUT.png [WIDTH,HEIGHT]" >&2
  exit 2
fi
report=$(realpath -- "$1")
out=$(realpath -m -- "$2")
size=${3:-1280,4000}
browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
  echo "error: chromium is not installed (apt-get install chromium)" >&2
  exit 1
fi
# A profile of its own, so a running browser or a previous run does not interfere.
profile=$(mktemp -d)
trap 'rm -rf -- "$profile"' EXIT
"$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars \
  --user-data-dir="$profile" --window-size="$size" \
  --screenshot="$out" "file://$report" 2>/dev/null
test -s "$out"
echo "$out"
