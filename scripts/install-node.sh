#!/usr/bin/env bash
# Node, to run the survivor portal's in-browser hasher (reclaim/web/static/*.js) in tests
# with the same JavaScript engine as Chromium; from the system's packages (Debian's
# here). `make test` runs this.
set -euo pipefail
if command -v node >/dev/null; then
    exit 0
fi
if ! command -v apt-get >/dev/null; then
    echo "the tests need Node (node); install it, then rerun" >&2
    exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq nodejs
