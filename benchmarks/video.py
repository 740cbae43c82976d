"""How fast Reclaim fingerprints video, and how close its frames are to vpdq's.

Test videos are made here with PyAV (H.264 by libx264 at its default settings, 30 frames
a second) from the real photos of the robustness corpus: slow pans and zooms across one
photo after another, four seconds each, at 360p, 720p and 1080p. They are kept in
``~/.cache/reclaim-bench/videos``. Each is fingerprinted by Reclaim
(``reclaim.hashing.video.fingerprint_video``) and, when the ``vpdq`` package is installed
(it builds against FFmpeg's development files; ``scripts/install-vpdq.sh``, which ``make
bench`` runs, installs them), by vpdq, both at one frame a second, on every core.
Printed: seconds per minute of video, the ratio, and how far Reclaim's frame hashes lie
from vpdq's at the same timestamps.

    .venv/bin/python benchmarks/video.py [--seconds N] [--sizes 360,720,1080] [--json PATH]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any, Final

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import machine_info, print_table, write_json
from robustness import CACHE, corpus

FPS: Final = 30
SECONDS_PER_PHOTO: Final = 4
HEIGHTS: Final = {360: (640, 360), 720: (1280, 720), 1080: (1920, 1080)}


def make_video(path: Path, photos: Sequence[Path], size: tuple[int, int], seconds: int) -> None:
    """A pan and zoom across each photo in turn, H.264 in MP4."""
    import av  # noqa: PLC0415

    partial = path.with_suffix(".partial.mp4")
    frames_per_photo = FPS * SECONDS_PER_PHOTO
    with av.open(str(partial), mode="w") as output:
        stream = output.add_stream("libx264", rate=FPS)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        for n in range(FPS * seconds):
            photo = photos[(n // frames_per_photo) % len(photos)]
            image = _image(photo)
            progress = (n % frames_per_photo) / frames_per_photo
            frame = av.VideoFrame.from_ndarray(_window(image, size, progress), format="rgb24")
            frame.pts, frame.time_base = n, Fraction(1, FPS)
            for packet in stream.encode(frame):
                output.mux(packet)
        for packet in stream.encode():
            output.mux(packet)
    partial.replace(path)


_IMAGES: dict[Path, Image.Image] = {}


def _image(path: Path) -> Image.Image:
    if path not in _IMAGES:
        _IMAGES[path] = Image.open(path).convert("RGB")
    return _IMAGES[path]


def _window(image: Image.Image, size: tuple[int, int], progress: float) -> np.ndarray:
    """The part of ``image`` in view at ``progress`` (0..1), scaled to ``size``: the view
    keeps the video's shape, starts at 90% of the photo and closes in to 60% while moving
    from the left to the right."""
    aspect = size[0] / size[1]
    width, height = image.size
    view_w = min(width, height * aspect) * (0.9 - 0.3 * progress)
    view_h = view_w / aspect
    left = (width - view_w) * progress
    top = (height - view_h) / 2
    box = (left, top, left + view_w, top + view_h)
    return np.asarray(image.resize(size, Image.Resampling.BILINEAR, box=box))


#: What the decoder may leave out, from nothing to all but key frames: the levers that
#: decide video speed (``--decode`` measures decoding alone under each).
DECODE_LEVERS: Final = {
    "every frame": ({}, None),
    "no deblocking": ({"skip_loop_filter": "all"}, None),
    "no deblocking, no non-reference frames": ({"skip_loop_filter": "all"}, "NONREF"),
    "key frames only": ({}, "NONKEY"),
}


def decode_seconds(
    path: Path, options: dict[str, str], skip_frame: str | None
) -> tuple[float, int]:
    """Seconds to decode the video with these decoder options (every core), and frames."""
    import av  # noqa: PLC0415

    began = time.perf_counter()
    count = 0
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        stream.codec_context.options = options
        if skip_frame is not None:
            stream.codec_context.skip_frame = skip_frame
        for _ in container.decode(stream):
            count += 1
    return time.perf_counter() - began, count


def reclaim_frames(path: Path) -> list[tuple[float, str]]:
    from reclaim.hashing.video import fingerprint_video  # noqa: PLC0415

    video = fingerprint_video(path.read_bytes(), str(path))
    return [(frame.timestamp, frame.pdq.hex) for frame in video.frames]


def vpdq_frames(path: Path) -> list[tuple[float, str]] | None:
    try:
        import vpdq  # noqa: PLC0415
    except ImportError:
        return None
    return [(f.timestamp, f.hex) for f in vpdq.computeHash(str(path), seconds_per_hash=1)]


def _timed(function: Any, path: Path, rounds: int) -> tuple[float, Any]:
    result, best = None, float("inf")
    for _ in range(rounds):
        began = time.perf_counter()
        result = function(path)
        best = min(best, time.perf_counter() - began)
    return best, result


def _distances(ours: list[tuple[float, str]], theirs: list[tuple[float, str]]) -> list[int]:
    by_time = {round(t, 3): h for t, h in theirs}
    return [
        (int(h, 16) ^ int(by_time[round(t, 3)], 16)).bit_count()
        for t, h in ours
        if round(t, 3) in by_time
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=60, help="length of each test video")
    parser.add_argument("--sizes", default="360,720,1080", help="heights to measure")
    parser.add_argument("--rounds", type=int, default=2, help="runs per file; the best counts")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    parser.add_argument(
        "--decode", action="store_true", help="also time decoding alone under each lever"
    )
    args = parser.parse_args(argv)
    print("Machine")
    for key, value in machine_info(["numpy", "av", "vpdq"]).items():
        print(f"  {key + ':':12} {value}")
    photos = corpus()
    folder = CACHE / "videos"
    folder.mkdir(parents=True, exist_ok=True)
    rows, decoding, report = [], [], {}
    for height in (int(h) for h in args.sizes.split(",")):
        size = HEIGHTS[height]
        path = folder / f"pan-{height}p-{args.seconds}s.mp4"
        if not path.exists():
            print(f"making {path.name} ...", flush=True)
            make_video(path, photos, size, args.seconds)
        minutes = args.seconds / 60
        ours_s, ours = _timed(reclaim_frames, path, args.rounds)
        theirs_s, theirs = _timed(vpdq_frames, path, args.rounds)
        row = [f"{height}p", f"{ours_s / minutes:.2f}", str(len(ours))]
        entry: dict[str, Any] = {"reclaim_s_per_minute": ours_s / minutes, "frames": len(ours)}
        if theirs is None:
            row += ["not installed", "", ""]
        else:
            apart = _distances(ours, theirs)
            row += [
                f"{theirs_s / minutes:.2f}",
                f"{theirs_s / ours_s:.2f}x",
                f"{np.mean(apart):.1f} / {max(apart)}" if apart else "no common timestamps",
            ]
            entry |= {"vpdq_s_per_minute": theirs_s / minutes, "bits_apart": apart}
        rows.append(row)
        if args.decode:
            for lever, (options, skip_frame) in DECODE_LEVERS.items():
                seconds, count = min(
                    decode_seconds(path, options, skip_frame) for _ in range(args.rounds)
                )
                decoding.append([f"{height}p", lever, f"{seconds / minutes:.2f}", str(count)])
                entry[f"decode {lever}"] = seconds / minutes
        report[f"{height}p"] = entry
    print(f"\nSeconds per minute of video (H.264, {FPS} frames a second, best of {args.rounds}):")
    print_table(
        [
            "video",
            "Reclaim s/min",
            "frames",
            "vpdq s/min",
            "vpdq / Reclaim",
            "bits apart mean / max",
        ],
        rows,
    )
    if decoding:
        print("\nDecoding alone, seconds per minute of video, by what the decoder leaves out:")
        print_table(["video", "decoder leaves out", "s/min", "frames decoded"], decoding, right=2)
    if args.json:
        write_json(args.json, report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
