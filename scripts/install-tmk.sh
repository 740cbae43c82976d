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
    bash "$(dirname "$0")/apt-install.sh" swig ffmpeg
fi
"$python" -m pip install --quiet 'tmkpy>=0.1.1'
