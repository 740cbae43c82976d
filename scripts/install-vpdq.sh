#!/usr/bin/env bash
# vpdq, the video hash of Meta's ThreatExchange: the reference Reclaim's video hashes are
# tested and benchmarked against. It builds against FFmpeg's development files, which come
# from the system's packages (Debian's here); `make test` and `make bench` run this.
set -euo pipefail
python="${1:?usage: scripts/install-vpdq.sh PATH-TO-VENV-PYTHON}"
if "$python" -c "import vpdq" 2>/dev/null; then
    exit 0
fi
libraries="libavcodec libavformat libavutil libswscale libavdevice libavfilter libswresample"
if ! pkg-config --exists $libraries 2>/dev/null; then
    if ! command -v apt-get >/dev/null; then
        echo "vpdq needs FFmpeg's development files and pkg-config; install them, then rerun" >&2
        exit 1
    fi
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq pkg-config \
        libavcodec-dev libavformat-dev libavutil-dev libswscale-dev libavdevice-dev \
        libavfilter-dev libswresample-dev
fi
"$python" -m pip install --quiet 'vpdq>=0.2.5'
