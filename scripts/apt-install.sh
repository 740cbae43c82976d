#!/usr/bin/env bash
# Install Debian packages for the scripts beside this one (with sudo when not root), or
# say which are needed where apt-get is missing.
set -euo pipefail
if ! command -v apt-get >/dev/null; then
    echo "needs the system packages $*; install them, then rerun" >&2
    exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@"
