#!/usr/bin/env bash
# Chromium, for the browser tests (Playwright drives Debian's build: no browser download);
# `make test` runs this.
set -euo pipefail
if command -v chromium >/dev/null; then
    exit 0
fi
bash "$(dirname "$0")/apt-install.sh" chromium
