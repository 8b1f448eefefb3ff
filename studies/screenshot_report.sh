#!/usr/bin/env bash
# Opens a suite's HTML report in headless Chromium (Debian: `apt-get install chromium`) and saves a
# screenshot, to check that the page renders with its tables and images in a real browser.
#   studies/screenshot_report.sh results/reports/mixtures results/figures/report_screenshot.png [WIDTH,HEIGHT]
set -euo pipefail
if [ $# -lt 2 ]; then
    echo "usage: $0 REPORT_DIR OUT.png [WIDTH,HEIGHT]" >&2
    exit 2
fi
report="$(cd "$1" && pwd)/index.html"
out="$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"
size="${3:-1400,2400}"
[ -f "$report" ] || { echo "no report at $report" >&2; exit 2; }
browser="$(command -v chromium || command -v chromium-browser || true)"
[ -n "$browser" ] || { echo "chromium not found; on Debian: apt-get install -y chromium" >&2; exit 2; }
# A throw-away profile, so the check never touches a user's browser settings.
profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
"$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$profile" \
    --window-size="$size" --screenshot="$out" "file://$report" 2>/dev/null
[ -s "$out" ] || { echo "no screenshot written" >&2; exit 1; }
echo "screenshot: $out"
