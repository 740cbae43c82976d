#!/usr/bin/env bash
# Chromium, for the browser tests (Playwright drives Debian's build: no browser download),
# and a Korean font, so pages in Korean are laid out (and photographed for docs/) with
# real glyphs; `make test` runs this.
set -euo pipefail
if command -v chromium >/dev/null && fc-list 2>/dev/null | grep -qi nanum; then
    exit 0
fi
bash "$(dirname "$0")/apt-install.sh" chromium fonts-nanum
