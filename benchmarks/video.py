"""How fast Reclaim fingerprints video, and how close its frames are to vpdq's.

Test videos are made here with PyAV (H.264 by libx264 at its default settings, 30 frames
a second) from the real photos of the robustness corpus: slow pans and zooms across one
photo after another, four seconds each, at 360p, 720p and 1080p. They are kept in
``~/.cache/reclaim-bench/videos``. Each is fingerprinted by Reclaim
(``reclaim.hashing.video.fingerprint_video``) and, when the ``vpdq`` package is installed
(it builds against FFmpeg's development files; ``scripts/install-vpdq.sh``, which ``make
bench`` runs, installs them), by vpdq, both at one frame a second, on every core, and by
Reclaim at the video's key frames (``Sampling.KEYS``, how ``reclaim match`` samples a
query when the banks hold dense registrations), and as ``reclaim bank add`` registers it
(a frame every 0.25 s, with region hashes); and, when ``tmkpy`` is installed
(``scripts/install-tmk.sh``, which ``make bench`` runs: it builds with SWIG and reads
videos through an ffmpeg program), by TMK at its default 15 frames a second. Printed:
seconds per minute of video, the ratios, and how far Reclaim's frame hashes lie from
vpdq's at the same timestamps. TMK's recall is not measured: its scores compare whole
videos, not frames, and need thresholds of their own.

``--recall N`` measures instead what each finds: N registered videos (20 s, and a 3-minute
version of each, 480p at 15 frames a second, five corpus photos each) and N unrelated ones
(other photos) are edited in each class the issue names, and each copy is matched by vPDQ's
rules against the registered videos. Reclaim registers as ``reclaim bank add`` does (a
frame every ``Settings.video_register_seconds_per_hash``, with the frames' region hashes)
into a SQLite store of the run's own, and matches each copy as ``reclaim match`` does,
through the store's matcher (sampled at its key frames, looked at again a frame every
0.25 s when that came near a video without matching it); a copy counts as found when
either of the video's signals (``vpdq``, ``video_regions``) matches it. vpdq's frames,
one a second on both sides, are matched by vPDQ's rules. A copy of a registered video should
match it; a copy of an unrelated one, nothing.

``--frames`` checks the region rules frame against frame: each corpus photo at four pan
positions registered as a one-frame vPDQ list and regions list, each frame edited (crop,
corner crop, watermark, subtitles) and searched; printed, the share of edited frames
found by each signal and the pairs of frames from different photos that match.

    .venv/bin/python benchmarks/video.py [--seconds N] [--sizes 360,720,1080] [--decode]
    .venv/bin/python benchmarks/video.py --recall N
    .venv/bin/python benchmarks/video.py --frames
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from fractions import Fraction
from functools import partial
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


def reclaim_frames(path: Path, keys: bool = False) -> list[tuple[float, str]]:
    from reclaim.hashing.video import Sampling, fingerprint_video  # noqa: PLC0415

    sampling = Sampling.KEYS if keys else Sampling.EVERY
    # With its frames' regions, as a query against banks holding region hashes.
    video = fingerprint_video(path.read_bytes(), str(path), sampling=sampling, regions=True)
    return [(frame.timestamp, frame.pdq.hex) for frame in video.frames]


def reclaim_key_frames(path: Path) -> list[tuple[float, str]]:
    return reclaim_frames(path, keys=True)


def reclaim_registration(path: Path) -> int:
    """What ``reclaim bank add`` computes for a video: a frame every
    ``Settings.video_register_seconds_per_hash``, with its region hashes; the frames."""
    from reclaim.hashing.files import fingerprint_bytes, options_for  # noqa: PLC0415
    from reclaim.settings import Settings  # noqa: PLC0415

    settings = Settings()
    options = options_for(
        settings, keypoints=True, seconds_per_hash=settings.video_register_seconds_per_hash
    )
    result = fingerprint_bytes(path.read_bytes(), str(path), options)
    assert result.vpdq is not None and result.video_regions is not None, result.error
    return len(result.vpdq)


def vpdq_frames(path: Path) -> list[tuple[float, str, int]] | None:
    try:
        import vpdq  # noqa: PLC0415
    except ImportError:
        return None
    frames = vpdq.computeHash(str(path), seconds_per_hash=1)
    return [(f.timestamp, f.hex, f.quality) for f in frames]


def tmk_frames(path: Path) -> int | None:
    """TMK's hash of the video (``tmkpy``, which reads it through an ffmpeg program at
    TMK's default 15 frames a second); the frames it took, or ``None`` if not installed."""
    import os  # noqa: PLC0415
    import shutil  # noqa: PLC0415

    try:
        import tmkpy  # noqa: PLC0415
    except ImportError:
        return None
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        return None
    # The ffmpeg it runs reports progress on the inherited stderr: silenced meanwhile.
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as sink:
            os.dup2(sink.fileno(), 2)
            features = tmkpy.hashVideo(str(path), ffmpeg)
    finally:
        os.dup2(saved, 2)
        os.close(saved)
    return int(features.getFrameFeatureCount())


def _timed(function: Any, path: Path, rounds: int) -> tuple[float, Any]:
    result, best = None, float("inf")
    for _ in range(rounds):
        began = time.perf_counter()
        result = function(path)
        best = min(best, time.perf_counter() - began)
    return best, result


def _distances(ours: list[tuple[float, str]], theirs: list[tuple[float, str, int]]) -> list[int]:
    by_time = {round(t, 3): h for t, h, _ in theirs}
    return [
        (int(h, 16) ^ int(by_time[round(t, 3)], 16)).bit_count()
        for t, h in ours
        if round(t, 3) in by_time
    ]


# --------------------------------------------------------------------------------------
# Recall: edited copies of registered videos found, and copies of unrelated videos not.

RECALL_SIZE: Final = (854, 480)
RECALL_FPS: Final = 15
#: Each photo's scene lasts 4.4 s, so cuts fall between whole seconds (as in real
#: videos) and not on the frames one-a-second sampling takes.
RECALL_FRAMES_PER_PHOTO: Final = 66
RECALL_SECONDS: Final = 20
LONG_SECONDS: Final = 180


def scene_frames(
    photos: Sequence[Path], seconds: int, start: int = 0, size: tuple[int, int] = RECALL_SIZE
) -> list[np.ndarray]:
    """Frames ``start`` to ``seconds`` s of a video panning across ``photos`` in turn,
    4.4 seconds each, at ``RECALL_FPS`` (the photos repeat, turned around, when the video
    is longer)."""
    return list(iter_scene(photos, seconds, start, size))


def iter_scene(
    photos: Sequence[Path], seconds: int, start: int = 0, size: tuple[int, int] = RECALL_SIZE
) -> Iterator[np.ndarray]:
    """``scene_frames`` one at a time (a 3-minute scene at 480p takes 3 GB held whole)."""
    per_photo = RECALL_FRAMES_PER_PHOTO
    for n in range(RECALL_FPS * start, RECALL_FPS * seconds):
        turn, slot = divmod(n // per_photo, len(photos))
        progress = (n % per_photo) / per_photo
        yield _window(_image(photos[slot]), size, 1 - progress if turn % 2 else progress)


def encode_frames(
    frames: Iterable[np.ndarray], fps: float, codec: str = "libx264", options: Any = None
) -> bytes:
    """Frames encoded as a video file (MP4 for H.264, WebM for VP9)."""
    import io  # noqa: PLC0415
    import itertools  # noqa: PLC0415

    import av  # noqa: PLC0415

    buffer = io.BytesIO()
    container = "webm" if "vpx" in codec else "mp4"
    first, frames = itertools.tee(frames)
    with av.open(buffer, mode="w", format=container) as output:
        stream = output.add_stream(codec, rate=Fraction(fps).limit_denominator(1000))
        stream.height, stream.width = next(first).shape[:2]
        del first
        stream.pix_fmt = "yuv420p"
        stream.options = dict(options or {})
        for pixels in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                output.mux(packet)
        for packet in stream.encode():
            output.mux(packet)
    return buffer.getvalue()


def _fit(frame: np.ndarray, scale_w: float, scale_h: float) -> np.ndarray:
    """The frame shrunk by these factors onto black bars of the original size."""
    height, width = frame.shape[:2]
    inner = Image.fromarray(frame).resize((round(width * scale_w), round(height * scale_h)))
    canvas = Image.new("RGB", (width, height))
    canvas.paste(inner, ((width - inner.width) // 2, (height - inner.height) // 2))
    return np.asarray(canvas)


def _caption(frame: np.ndarray, n: int) -> np.ndarray:
    from PIL import ImageDraw, ImageFont  # noqa: PLC0415

    image = Image.fromarray(frame)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=image.height // 14)
    line = ["so this is what happened", "nobody was supposed to see", "look at this"][
        (n // (3 * RECALL_FPS)) % 3
    ]
    draw.text(
        (image.width // 2, image.height * 9 // 10), line, font=font, fill="white",
        anchor="mm", stroke_width=3, stroke_fill="black",
    )  # fmt: skip
    return np.asarray(image)


def _watermark(frame: np.ndarray) -> np.ndarray:
    from PIL import ImageDraw, ImageFont  # noqa: PLC0415

    image = Image.fromarray(frame).convert("RGBA")
    layer = Image.new("RGBA", image.size)
    draw = ImageDraw.Draw(layer)
    box = (image.width * 7 // 10, image.height // 20, image.width * 19 // 20, image.height // 4)
    draw.rounded_rectangle(box, radius=12, fill=(255, 255, 255, 110))
    font = ImageFont.load_default(size=image.height // 12)
    draw.text((box[0] + 10, box[1] + 8), "CLIPS24", font=font, fill=(20, 20, 20, 200))
    return np.asarray(Image.alpha_composite(image, layer).convert("RGB"))


def _retimed(frames: Sequence[np.ndarray], speed: float, fps: float) -> list[np.ndarray]:
    """The frames played ``speed`` times as fast, at ``fps`` frames a second."""
    seconds = len(frames) / RECALL_FPS / speed
    return [
        frames[min(len(frames) - 1, int(j / fps * speed * RECALL_FPS))]
        for j in range(int(seconds * fps))
    ]


def _crop(frame: np.ndarray, centred: bool = True) -> np.ndarray:
    """The frame less 10% of its width and height, blown up to its size: 5% off each
    side, or (not ``centred``) 10% off its right and bottom."""
    height, width = frame.shape[:2]
    if centred:
        box = (width // 20, height // 20, width - width // 20, height - height // 20)
    else:
        box = (0, 0, width - width // 10, height - height // 10)
    return np.asarray(Image.fromarray(frame).crop(box).resize((width, height)))


def _grey(frame: np.ndarray) -> np.ndarray:
    return np.repeat(np.asarray(Image.fromarray(frame).convert("L"))[:, :, None], 3, axis=2)


def _small(frame: np.ndarray) -> np.ndarray:
    return np.asarray(Image.fromarray(frame).resize((640, 360), Image.Resampling.BILINEAR))


#: Each edit: (frames of the registered video, a function giving 30 s of its long version
#: (from 75 s), frames of an unrelated video)
#: to the file of the copy.
EDITS: Final[dict[str, Any]] = {
    "re-encode (VP9 at low bitrate)": lambda f, clip, other: encode_frames(
        f, RECALL_FPS, "libvpx-vp9", {"crf": "50", "b": "0"}
    ),
    "scale to 360p": lambda f, clip, other: encode_frames([_small(x) for x in f], RECALL_FPS),
    "crop 10%": lambda f, clip, other: encode_frames([_crop(x) for x in f], RECALL_FPS),
    "crop 10% off one corner": lambda f, clip, other: encode_frames(
        [_crop(x, centred=False) for x in f], RECALL_FPS
    ),
    "letterbox": lambda f, clip, other: encode_frames([_fit(x, 1, 0.75) for x in f], RECALL_FPS),
    "pillarbox": lambda f, clip, other: encode_frames([_fit(x, 0.75, 1) for x in f], RECALL_FPS),
    "greyscale": lambda f, clip, other: encode_frames([_grey(x) for x in f], RECALL_FPS),
    "subtitles": lambda f, clip, other: encode_frames(
        [_caption(x, n) for n, x in enumerate(f)], RECALL_FPS
    ),
    "watermark": lambda f, clip, other: encode_frames([_watermark(x) for x in f], RECALL_FPS),
    "speed +25%": lambda f, clip, other: encode_frames(_retimed(f, 1.25, 15), 15),
    "speed -25%": lambda f, clip, other: encode_frames(_retimed(f, 0.75, 15), 15),
    "frame rate 15 to 24": lambda f, clip, other: encode_frames(_retimed(f, 1.0, 24), 24),
    "30 s clip of 3 min": lambda f, clip, other: encode_frames(clip(), RECALL_FPS),
    "5 s of another video spliced in": lambda f, clip, other: encode_frames(
        [*f[: len(f) // 2], *other[: 5 * RECALL_FPS], *f[len(f) // 2 :]], RECALL_FPS
    ),
}


def recall(
    photos: Sequence[Path], videos: int, only: Sequence[str] = ()
) -> tuple[list[list[str]], dict[str, Any]]:
    """Per edit: copies of registered videos found, and false matches, by Reclaim and by
    vpdq's frames under the same rules."""
    import tempfile  # noqa: PLC0415

    from reclaim.hashing.video import match_frames  # noqa: PLC0415

    per_video = 5
    registered = [photos[0::2][i * per_video : (i + 1) * per_video] for i in range(videos)]
    unrelated = [photos[1::2][i * per_video : (i + 1) * per_video] for i in range(videos)]
    if any(len(group) < per_video for group in registered + unrelated):
        raise SystemExit(f"the corpus has too few photos for {videos} videos a side")
    folder = Path(tempfile.mkdtemp(prefix="reclaim-video-"))
    ours = _Reclaim(folder / "bank.db")

    def theirs_of(data: bytes) -> list[Any]:
        path = folder / "video.bin"
        path.write_bytes(data)
        theirs = vpdq_frames(path)
        return _as_frames(theirs) if theirs is not None else []

    theirs_index = {}
    sources = []
    for number, group in enumerate(registered):
        short = scene_frames(group, RECALL_SECONDS)
        long = iter_scene(group, LONG_SECONDS)
        for ident, frames in ((2 * number, short), (2 * number + 1, long)):
            data = encode_frames(frames, RECALL_FPS)
            ours.register(data, ident)
            theirs_index[ident] = theirs_of(data)
        sources.append(short)
    others = [scene_frames(group, RECALL_SECONDS) for group in unrelated]
    rows, report = [], {}
    for edit, make in EDITS.items():
        if only and edit not in only:
            continue
        tally = {"reclaim found": 0, "vpdq found": 0, "reclaim false": 0, "vpdq false": 0}
        began = time.perf_counter()
        for number in range(videos):
            short, other = sources[number], others[number]
            cases = [
                (
                    make(short, partial(_clip, registered[number]), other),
                    {2 * number, 2 * number + 1},
                    "found",
                ),
                (make(other, partial(_clip, unrelated[number]), short), None, "false"),
            ]
            for data, wanted, kind in cases:
                hits = ours.hits(data)
                theirs = theirs_of(data)
                their_hits = {
                    i for i, t in theirs_index.items() if match_frames(theirs, t).passes()
                }
                if kind == "found":
                    tally["reclaim found"] += bool(hits & (wanted or set()))
                    tally["vpdq found"] += bool(their_hits & (wanted or set()))
                else:
                    tally["reclaim false"] += len(hits)
                    tally["vpdq false"] += len(their_hits)
        rows.append(
            [
                edit,
                f"{tally['reclaim found']}/{videos}",
                f"{tally['vpdq found']}/{videos}",
                str(tally["reclaim false"]),
                str(tally["vpdq false"]),
            ]
        )
        report[edit] = tally
        print(f"  {edit}: {rows[-1][1:]} ({time.perf_counter() - began:.0f} s)", flush=True)
    return rows, report


def _clip(photos: Sequence[Path]) -> list[np.ndarray]:
    """The 30 s from 75 s of the long video of ``photos``."""
    return scene_frames(photos, 105, start=75)


class _Reclaim:
    """Registration as ``reclaim bank add`` does it and matching as ``reclaim match``
    does, through a store and its matcher (in a SQLite file of the run's own)."""

    def __init__(self, database: Path) -> None:
        from reclaim.matching import Matcher  # noqa: PLC0415
        from reclaim.settings import Settings  # noqa: PLC0415
        from reclaim.store import BankRepository, Store  # noqa: PLC0415

        self.settings = Settings()
        self.store = Store.open(f"sqlite:///{database}")
        with self.store.write() as session:
            self.bank_id = BankRepository(session).bank_create("registered", "survivor").id
        self.matcher = Matcher(self.store)
        self.videos: dict[int, int] = {}  # signal id -> registered video

    def register(self, data: bytes, video: int) -> None:
        from reclaim.hashing.files import fingerprint_bytes, options_for  # noqa: PLC0415
        from reclaim.hashlists import signals_of_record  # noqa: PLC0415
        from reclaim.store import SignalRepository  # noqa: PLC0415

        options = options_for(
            self.settings,
            keypoints=True,
            seconds_per_hash=self.settings.video_register_seconds_per_hash,
        )
        record = fingerprint_bytes(data, f"registered-{video}.mp4", options).to_record()
        signals, _ = signals_of_record(record, self.settings.pdq_min_quality)
        videos = [s for s in signals if s.type in ("vpdq", "video_regions")]
        with self.store.write() as session:
            repository = SignalRepository(session)
            repository.signal_add_many(self.bank_id, videos)
            ids = repository.signal_ids(self.bank_id, videos)
        self.videos.update(dict.fromkeys(ids.values(), video))
        self.matcher.sync()

    def hits(self, data: bytes) -> set[int]:
        """The registered videos a copy matches (by either signal), as ``reclaim match``
        finds them: sampled as the matcher asks, looked at again as it asks."""
        from reclaim.hashing.files import fingerprint_bytes, options_for  # noqa: PLC0415

        every = options_for(self.settings, query_regions=True)
        options = replace(every, video_sampling=self.matcher.video_sampling)
        query = fingerprint_bytes(data, "query.bin", options).video
        if query is None:
            return set()
        closer = replace(every, seconds_per_hash=self.settings.video_register_seconds_per_hash)

        def again(dense: bool) -> Any:
            return fingerprint_bytes(data, "query.bin", closer if dense else every).video

        found = self.matcher.match([], video=query, video_again=again).matches
        return {self.videos[m.signal_id] for m in found}


def _as_frames(pairs: list[tuple[float, str]]) -> list[Any]:
    from reclaim.hashing.base import PdqHash  # noqa: PLC0415
    from reclaim.hashing.video import FrameHash  # noqa: PLC0415

    return [FrameHash(PdqHash(pdq, quality), timestamp) for timestamp, pdq, quality in pairs]


def speed_row(
    height: int, path: Path, rounds: int, minutes: float
) -> tuple[list[str], dict[str, Any]]:
    """One line of the speed table, and its entry in the JSON report."""
    ours_s, ours = _timed(reclaim_frames, path, rounds)
    keys_s, keys = _timed(reclaim_key_frames, path, rounds)
    register_s, registered = _timed(reclaim_registration, path, rounds)
    theirs_s, theirs = _timed(vpdq_frames, path, rounds)
    tmk_s, tmk = _timed(tmk_frames, path, rounds)
    row = [
        f"{height}p",
        f"{ours_s / minutes:.2f}",
        str(len(ours)),
        f"{keys_s / minutes:.2f}",
        str(len(keys)),
        f"{register_s / minutes:.2f}",
        str(registered),
    ]
    entry: dict[str, Any] = {
        "reclaim_s_per_minute": ours_s / minutes,
        "frames": len(ours),
        "reclaim_keys_s_per_minute": keys_s / minutes,
        "key_frames": len(keys),
        "registration_s_per_minute": register_s / minutes,
        "registered_frames": registered,
    }
    if theirs is None:
        row += ["not installed", "", "", ""]
    else:
        apart = _distances(ours, theirs)
        row += [
            f"{theirs_s / minutes:.2f}",
            f"{theirs_s / ours_s:.2f}x",
            f"{theirs_s / keys_s:.1f}x",
            f"{np.mean(apart):.1f} / {max(apart)}" if apart else "no common timestamps",
        ]
        entry |= {"vpdq_s_per_minute": theirs_s / minutes, "bits_apart": apart}
    if tmk is None:
        row += ["not installed", ""]
    else:
        row += [f"{tmk_s / minutes:.2f}", f"{tmk_s / keys_s:.1f}x"]
        entry |= {"tmk_s_per_minute": tmk_s / minutes, "tmk_frames": tmk}
    return row, entry


#: Each edit the frame check applies to a single frame.
FRAME_EDITS: Final[dict[str, Any]] = {
    "crop 10%": _crop,
    "crop 10% off one corner": lambda f: _crop(f, centred=False),
    "watermark": _watermark,
    "subtitles": lambda f: _caption(f, 0),
}


def frame_check(photos: Sequence[Path]) -> tuple[list[list[str]], dict[str, Any]]:
    """Frame against frame, through the video index's own rules: each corpus photo at four
    pan positions registered as a one-frame vPDQ list and a one-frame regions list; each
    frame edited and searched. Per edit: the share of edited frames found by vPDQ's whole
    hash and by the region hashes, and the pairs of frames from different photos that
    match by either."""
    from reclaim.hashing.pdq import pdq_from_luma  # noqa: PLC0415
    from reclaim.hashing.regions import VideoRegions, region_hashes  # noqa: PLC0415
    from reclaim.hashing.video import FrameHash  # noqa: PLC0415
    from reclaim.index.videos import VideoIndex  # noqa: PLC0415

    def luma_of(frame: np.ndarray) -> np.ndarray:
        return np.asarray(Image.fromarray(frame).convert("L"))

    index, originals, owner = VideoIndex(), [], []
    for number, photo in enumerate(photos):
        for progress in (0.0, 0.3, 0.6, 0.9):
            frame = _window(_image(photo), RECALL_SIZE, progress)
            luma = luma_of(frame)
            whole = pdq_from_luma(luma)
            ident = len(originals)
            index.add([(2 * ident, [FrameHash(whole, 0.0)])])
            index.add_regions(
                [(2 * ident + 1, VideoRegions.stack([(0.0, region_hashes(luma, whole))]))]
            )
            originals.append(frame)
            owner.append(number)
    rows, report = [], {}
    for edit, make in FRAME_EDITS.items():
        by_whole = by_regions = false = 0
        for ident, frame in enumerate(originals):
            luma = luma_of(make(frame))
            whole = pdq_from_luma(luma)
            regions = VideoRegions.stack([(0.0, region_hashes(luma, whole, crops=False))])
            hits = {
                m.ident
                for m in index.search([FrameHash(whole, 0.0)], regions=regions, query_threshold=0.0)
            }
            by_whole += 2 * ident in hits
            by_regions += 2 * ident + 1 in hits
            false += sum(owner[hit // 2] != owner[ident] for hit in hits)
        pairs = sum(owner[i] != owner[j] for i in range(len(owner)) for j in range(len(owner)))
        total = len(originals)
        rows.append(
            [
                edit,
                f"{100 * by_whole / total:.1f}%",
                f"{100 * by_regions / total:.1f}%",
                f"{false} of {pairs}",
            ]
        )
        report[edit] = {
            "frames": total,
            "whole": by_whole,
            "regions": by_regions,
            "false": false,
            "pairs": pairs,
        }
        print(f"  {edit}: {rows[-1][1:]}", flush=True)
    return rows, report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=60, help="length of each test video")
    parser.add_argument("--sizes", default="360,720,1080", help="heights to measure")
    parser.add_argument("--rounds", type=int, default=2, help="runs per file; the best counts")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    parser.add_argument(
        "--decode", action="store_true", help="also time decoding alone under each lever"
    )
    parser.add_argument(
        "--recall",
        type=int,
        default=0,
        metavar="N",
        help="instead, measure recall per edit class on N registered and N unrelated videos",
    )
    parser.add_argument("--only", default="", help="with --recall: comma-separated edits")
    parser.add_argument(
        "--frames",
        action="store_true",
        help="instead, match single edited frames against the corpus's frames",
    )
    args = parser.parse_args(argv)
    print("Machine")
    for key, value in machine_info(["numpy", "av", "vpdq", "tmkpy"]).items():
        print(f"  {key + ':':12} {value}")
    photos = corpus()
    if args.frames:
        print("\nEdited frames found (vPDQ's whole hash; region hashes), and false pairs:")
        rows, report = frame_check(photos)
        print_table(["edit", "whole hash", "region hashes", "false pairs"], rows)
        if args.json:
            write_json(args.json, report)
        return 0
    if args.recall:
        print(
            f"\nEdited copies of {args.recall} registered videos, and of {args.recall} unrelated:"
        )
        only = [name.strip() for name in args.only.split(",") if name.strip()]
        unknown = sorted(set(only) - set(EDITS))
        if unknown:
            parser.error(f"unknown edit {unknown[0]!r} (known: {', '.join(EDITS)})")
        rows, found = recall(photos, args.recall, only)
        print_table(["edit", "Reclaim found", "vpdq found", "Reclaim false", "vpdq false"], rows)
        if args.json:
            write_json(args.json, found)
        return 0
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
        row, entry = speed_row(height, path, args.rounds, minutes)
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
            "key frames s/min",
            "frames",
            "register s/min",
            "frames",
            "vpdq s/min",
            "vpdq / Reclaim",
            "vpdq / key frames",
            "bits apart mean / max",
            "tmk s/min",
            "tmk / key frames",
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
