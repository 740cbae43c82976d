#!/usr/bin/env bash
# tmkpy, Python bindings of TMK (Meta's temporal-match-kernel video hash): a second
# reference for benchmarks/video.py's speed table. It builds with SWIG and hashes through
# an ffmpeg program, both from the system's packages (Debian's here); `make bench` runs
# this, `make test` does not (no test needs it).
set -euo pipefail
python="${1:?usage: scripts/install-tmk.sh PATH-TO-VENV-PYTHON}"
if "$python" -c "import tmkpy" 2>/dev/null && command -v ffmpeg >/dev/null; then
    exit 0
fi
if ! command -v swig >/dev/null || ! command -v ffmpeg >/dev/null; then
    if ! command -v apt-get >/dev/null; then
        echo "tmkpy needs swig and ffmpeg; install them, then rerun" >&2
        exit 1
    fi
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq swig ffmpeg
fi
"$python" -m pip install --quiet 'tmkpy>=0.1.1'
