#!/usr/bin/env bash
# Node, to run the survivor portal's in-browser hasher (reclaim/web/static/*.js) in tests
# with the same JavaScript engine as Chromium; from the system's packages (Debian's
# here). `make test` runs this.
set -euo pipefail
if command -v node >/dev/null; then
    exit 0
fi
bash "$(dirname "$0")/apt-install.sh" nodejs
