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
    bash "$(dirname "$0")/apt-install.sh" pkg-config \
        libavcodec-dev libavformat-dev libavutil-dev libswscale-dev libavdevice-dev \
        libavfilter-dev libswresample-dev
fi
"$python" -m pip install --quiet 'vpdq>=0.2.5'
