"""Video fingerprints: vPDQ, frame-wise PDQ with each frame's quality and timestamp.

The signal follows vPDQ (the video hash of Meta's ThreatExchange) so that hash lists pass
between Reclaim and partners both ways:

- frames are sampled every ``seconds_per_hash`` seconds of the stream's frame rate:
  frame ``n`` is hashed when ``n % max(1, int(seconds_per_hash * frame_rate)) == 0``,
  and its timestamp is ``n / frame_rate``;
- each sampled frame's PDQ hash and quality come from its luminance;
- the text form of a frame is ``"pdqhex,quality,timestamp"`` (timestamp to three
  significant digits, as python-threatexchange writes it), and of a video a JSON list of
  those strings.

Matching (``match_frames``) follows vPDQ's rules too: frames below a quality threshold
are dropped, each side's frame hashes are made unique, a frame matches when some frame of
the other side lies within the distance threshold, and a match reports the percentage of
the query's frames matched and of the target's.

Decoding goes through PyAV, whose wheels bundle FFmpeg. Everything about a video is
bounded before or while it is decoded (``VideoLimits``): a corrupt, empty, audio-only,
endless or huge video is refused with a ``MediaError`` naming the file and the reason.
"""

from __future__ import annotations

import io
import json
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import partial
from typing import TYPE_CHECKING, Any, Final

import numpy as np
from numpy.typing import NDArray

from reclaim.errors import (
    CorruptMedia,
    DecodeTimeout,
    EmptyFile,
    HashFormatError,
    ImageTooLarge,
    UnsupportedFormat,
    VideoTooLong,
)
from reclaim.hashing.base import PdqHash
from reclaim.hashing.exact import exact_hashes
from reclaim.hashing.keypoints import hamming_matrix
from reclaim.hashing.pdq import pdq_from_luma

if TYPE_CHECKING:
    from reclaim.hashing.regions import VideoRegions

SECONDS_PER_HASH: Final = 1.0
#: ``Sampling.KEYS`` takes key frames alone where the next one is at most this many
#: seconds on.
MAX_KEY_GAP: Final = 5.0
#: A key-frame query matching at least this share of a registered video's time, but
#: less than the query threshold, is looked at again, sampled as densely as
#: registrations: key frames are few, and a copy with a few seconds spliced in can fall
#: just short through them.
NEAR_QUERY_PERCENT: Final = 50.0
#: A second look, sampled as densely as registrations, that finds at least this share of
#: a registered video's frames in a query matching it at least ``NEAR_QUERY_PERCENT``
#: is a match too: the query holds the video, with other material spliced in (vPDQ's
#: query share alone sits on its threshold when a fifth of the copy is foreign).
CONTAINED_PERCENT: Final = 80.0
#: ... and at least this many of its distinct frames (2 s of a registration every 0.25 s):
#: a registered video of a frame or two is not held by a query that shows one of them.
CONTAINED_FRAMES: Final = 8
#: Registrations sampled at most this many seconds apart (on average) let a query be
#: sampled at its key frames: a registered frame then lies near each of them.
DENSE_GAP: Final = 0.75
#: vPDQ's matching defaults.
QUALITY_THRESHOLD: Final = 50
DISTANCE_THRESHOLD: Final = 31
QUERY_MATCH_PERCENT: Final = 80.0
TARGET_MATCH_PERCENT: Final = 0.0
#: Significant digits of a frame's timestamp in the text form (python-threatexchange's).
TIMESTAMP_DIGITS: Final = 3
#: Frames in a hash list's entry, at most: a video of the longest accepted by default (6
#: hours) at 16 frames a second, the most a registration every 0.125 s or more
#: (``Settings.video_register_seconds_per_hash``) samples at any frame rate once vPDQ's
#: rule rounds the frames between samples down.
MAX_LIST_FRAMES: Final = 345_600
#: The most bytes a vPDQ list may take: under 96 a frame (its 64 hex digits, quality,
#: timestamp, quotes and separator).
MAX_PAYLOAD_BYTES: Final = MAX_LIST_FRAMES * 96


#: File name extensions taken as video when a folder is walked.
VIDEO_EXTENSIONS: Final = frozenset(
    {
        ".mp4", ".m4v", ".mov", ".qt", ".3gp", ".3g2", ".webm", ".mkv", ".avi", ".wmv",
        ".asf", ".flv", ".mts", ".m2ts", ".mpg", ".mpeg", ".vob", ".ogv",
    }
)  # fmt: skip
#: ISO base media brands of still images (HEIF, AVIF): any other ``ftyp`` is a movie.
_IMAGE_BRANDS: Final = frozenset(
    {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1",
     b"msf1", b"avif", b"avis", b"avci", b"jpeg", b"avcs"}
)  # fmt: skip
_TS_PACKET: Final = 188


def is_video_name(name: str) -> bool:
    """Whether a file name has a video extension (used when walking folders)."""
    return any(name.lower().endswith(suffix) for suffix in VIDEO_EXTENSIONS)


def sniff_video(data: bytes) -> str | None:
    """The container a file's leading bytes announce, if a video one."""
    return next((name for name, announces in _CONTAINERS if announces(data)), None)


_CONTAINERS: Final[tuple[tuple[str, Callable[[bytes], bool]], ...]] = (
    ("MP4", lambda d: d[4:8] == b"ftyp" and d[8:12] not in _IMAGE_BRANDS),
    ("QuickTime", lambda d: d[4:8] in (b"moov", b"mdat", b"wide", b"free")),
    ("Matroska", lambda d: d.startswith(b"\x1a\x45\xdf\xa3")),
    ("AVI", lambda d: d[:4] == b"RIFF" and d[8:12] == b"AVI "),
    ("FLV", lambda d: d.startswith(b"FLV\x01")),
    ("ASF", lambda d: d.startswith(b"\x30\x26\xb2\x75\x8e\x66\xcf\x11")),
    ("Ogg", lambda d: d.startswith(b"OggS") and b"theora" in d[:128]),
    ("MPEG-PS", lambda d: d.startswith(b"\x00\x00\x01\xba")),
    # Four sync bytes a packet apart, and not a GIF (which also starts with 0x47).
    (
        "MPEG-TS",
        lambda d: (
            len(d) > 3 * _TS_PACKET
            and set(d[: 4 * _TS_PACKET : _TS_PACKET]) == {0x47}
            and not d.startswith(b"GIF8")
        ),
    ),
)


class Sampling(StrEnum):
    """Which frames of a video are hashed."""

    #: vPDQ's: one frame every ``seconds_per_hash`` (every frame is decoded).
    EVERY = "every"
    #: Key frames (decoded alone), with vPDQ's sampling through long gaps between them.
    KEYS = "keys"


@dataclass(frozen=True, slots=True)
class VideoLimits:
    """Bounds on what Reclaim agrees to decode as video."""

    #: Longest duration, in seconds, by the container's word or by the frames decoded.
    max_seconds: float = 6 * 3600.0
    #: Largest frame, in pixels (8K UHD is 33.2 million).
    max_frame_pixels: int = 8192 * 8192
    #: Wall-clock seconds one video may take to decode before it is given up.
    max_decode_seconds: float = 900.0


@dataclass(frozen=True, slots=True)
class FrameHash:
    """One sampled frame: its PDQ hash (with quality) and where it lies in the video."""

    pdq: PdqHash
    timestamp: float

    def to_text(self) -> str:
        """vPDQ's text form, ``"pdqhex,quality,timestamp"``."""
        return f"{self.pdq.hex},{self.pdq.quality},{self.timestamp:.{TIMESTAMP_DIGITS}}"

    @classmethod
    def from_text(cls, text: str, source: str = "vpdq") -> FrameHash:
        """A frame from its text form; ``HashFormatError`` names ``source`` and the fault."""
        parts = text.strip().split(",")
        if len(parts) != 3:
            raise HashFormatError(
                f"{source}: a vPDQ frame is 'pdqhex,quality,timestamp', got {text[:80]!r}"
            )
        pdq_hex, quality_text, timestamp_text = parts
        try:
            quality, timestamp = int(quality_text), float(timestamp_text)
        except ValueError:
            raise HashFormatError(
                f"{source}: quality and timestamp of a vPDQ frame must be numbers, "
                f"got {text[:80]!r}"
            ) from None
        if not math.isfinite(timestamp) or timestamp < 0:
            raise HashFormatError(
                f"{source}: a frame's timestamp must be 0 or more, got {text[:80]!r}"
            )
        try:
            pdq = PdqHash.parse(pdq_hex, quality)
        except HashFormatError as exc:
            raise HashFormatError(f"{source}: {exc}") from None
        return cls(pdq, timestamp)


def frames_to_json(frames: Iterable[FrameHash]) -> str:
    """A video's frames as vPDQ's JSON list of frame strings."""
    return json.dumps([frame.to_text() for frame in frames])


def frames_from_json(text: str, source: str = "vpdq") -> list[FrameHash]:
    """Frames from vPDQ's JSON list (refused with ``HashFormatError`` if malformed)."""
    try:
        items = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise HashFormatError(f"{source}: not a JSON list of vPDQ frames ({exc})") from None
    return frames_from_list(items, source)


def frames_from_list(items: object, source: str = "vpdq") -> list[FrameHash]:
    """Frames from a list of frame strings, as a hash record's ``vpdq`` field holds them."""
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise HashFormatError(f"{source}: a vPDQ hash is a JSON list of frame strings")
    if not items:
        raise HashFormatError(f"{source}: a vPDQ hash needs at least one frame")
    if len(items) > MAX_LIST_FRAMES:
        raise HashFormatError(
            f"{source}: {len(items)} frames, more than the limit of {MAX_LIST_FRAMES}"
        )
    return [FrameHash.from_text(item, f"{source} frame {n}") for n, item in enumerate(items)]


def frames_payload(frames: Sequence[FrameHash]) -> bytes:
    """The payload a ``vpdq`` signal stores (its value is the SHA-256 of it): the frames'
    JSON list, UTF-8, in one canonical form, so one video's frames give one signal."""
    return frames_to_json(frames).encode()


def frames_from_payload(payload: bytes, source: str = "vpdq") -> list[FrameHash]:
    """The frames of a ``vpdq`` payload (``HashFormatError`` if it is not one)."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise HashFormatError(
            f"{source}: {len(payload)} bytes, more than a vPDQ list may take ({MAX_PAYLOAD_BYTES})"
        )
    try:
        text = payload.decode()
    except UnicodeDecodeError:
        raise HashFormatError(f"{source}: a vPDQ list is UTF-8 text") from None
    return frames_from_json(text, source)


@dataclass(frozen=True, slots=True)
class VideoQuery:
    """A video's sampled frames as a query matches them: ``trimmed[k]``, where given, is
    frame ``k``'s picture inside black bars (the frame matches by either hash), and
    ``spans[k]`` the seconds of video frame ``k`` stands for, where sampling was uneven
    (the query's matched share is then a share of its time); ``regions``, where given,
    the frames' region hashes (``hashing.regions``: registered regions match by them)."""

    frames: tuple[FrameHash, ...]
    trimmed: tuple[FrameHash | None, ...] = ()
    spans: tuple[float, ...] = ()
    regions: VideoRegions | None = None


@dataclass(frozen=True, slots=True)
class VideoFingerprint:
    """What a video file yields: its sampled frames and the facts about the stream.
    ``trimmed`` holds, beside each frame, the hash of its picture inside black bars (a
    letterboxed or pillarboxed copy), or ``None`` where the frame has none: a query also
    matches by these; they are never part of the vPDQ signal."""

    frames: tuple[FrameHash, ...]
    trimmed: tuple[FrameHash | None, ...]
    #: Under ``Sampling.KEYS``, the seconds of video each frame stands for (until the
    #: next sampled frame), so a query's matched share is a share of its time; empty
    #: under vPDQ's even sampling, where each frame counts once.
    spans: tuple[float, ...]
    #: Each frame's region hashes (``hashing.regions``), for a ``video_regions`` signal
    #: and for a query to match registered regions by; ``None`` where not asked for.
    regions: VideoRegions | None
    duration: float
    frame_count: int
    frame_rate: float
    codec: str
    width: int
    height: int
    md5: str
    sha256: str

    @property
    def query(self) -> VideoQuery:
        """The frames as a query matches them."""
        return VideoQuery(self.frames, self.trimmed, self.spans, self.regions)


def fingerprint_video(
    data: bytes,
    source: str,
    *,
    seconds_per_hash: float = SECONDS_PER_HASH,
    sampling: Sampling = Sampling.EVERY,
    max_key_gap: float = MAX_KEY_GAP,
    regions: bool = False,
    register: bool = False,
    limits: VideoLimits | None = None,
) -> VideoFingerprint:
    """The sampled frames of a video file's first video stream, with its exact hashes.

    ``Sampling.EVERY`` is vPDQ's: every frame is decoded and one every ``seconds_per_hash``
    hashed. ``Sampling.KEYS`` decodes and hashes key frames alone wherever the next key
    frame is at most ``max_key_gap`` seconds on, and samples like vPDQ (the key frame
    too) through longer stretches; it is for queries, several times faster where key
    frames come often, and best matched against registrations sampled more densely.
    ``regions``: hash each frame's regions too (``regions.region_hashes``: what a query
    needs against registered regions); ``register``: the frames are to be registered, so
    their regions include the centres'."""
    import av  # noqa: PLC0415 - FFmpeg is loaded only when a video is decoded

    # Here, not at the top: that module builds on this one.
    from reclaim.hashing.regions import VideoRegions, region_hashes  # noqa: PLC0415

    limits = limits or VideoLimits()
    if not data:
        raise EmptyFile(source, "file is empty (0 bytes)")
    if not seconds_per_hash > 0 or not math.isfinite(seconds_per_hash):
        raise ValueError(f"seconds_per_hash must be a positive number, got {seconds_per_hash}")
    began = time.monotonic()
    try:
        container = av.open(io.BytesIO(data), mode="r")
    except av.FFmpegError as exc:
        raise CorruptMedia(source, f"not a readable video container ({_reason(exc)})") from None
    with container:
        stream, rate = _video_stream(container, source, limits)
        width, height = stream.codec_context.width, stream.codec_context.height
        every = max(1, int(seconds_per_hash * rate))
        most_frames = math.ceil(limits.max_seconds * rate) + 1
        kept = _Kept(partial(region_hashes, crops=register) if regions or register else None)

        def keep(frame: Any, number: int) -> None:
            _check_frame(source, frame.width, frame.height, limits)
            kept.add(np.asarray(frame.to_ndarray(format="gray"), np.uint8), number / rate)

        def bound(count: int) -> None:
            if count > most_frames:
                raise VideoTooLong(
                    source,
                    f"holds more than {most_frames} frames, longer than the limit of "
                    f"{limits.max_seconds:.0f} s",
                )
            if time.monotonic() - began > limits.max_decode_seconds:
                raise DecodeTimeout(
                    source,
                    f"decoding took longer than the limit of {limits.max_decode_seconds:.0f} s",
                )

        try:
            if sampling is Sampling.KEYS:
                plan = _key_plan(
                    container,
                    stream,
                    max_key_gap=max_key_gap,
                    seconds_per_hash=seconds_per_hash,
                    bound=bound,
                )
                count = _decode_planned(
                    stream, plan, rate=rate, every=every, keep=keep, bound=bound
                )
            else:
                count = 0
                for frame in container.decode(stream):
                    if count % every == 0:
                        keep(frame, count)
                    count += 1
                    bound(count)
        except av.FFmpegError as exc:
            raise CorruptMedia(source, f"video stream cannot be decoded ({_reason(exc)})") from None
        if not kept.frames:
            raise CorruptMedia(source, "the video stream holds no decodable frame")
        codec = stream.codec_context.name
    exact = exact_hashes(data)
    return VideoFingerprint(
        frames=tuple(kept.frames),
        trimmed=tuple(kept.trimmed),
        spans=_spans(kept.frames, count / rate) if sampling is Sampling.KEYS else (),
        regions=VideoRegions.stack(kept.parts) if kept.region_hasher else None,
        duration=count / rate,
        frame_count=count,
        frame_rate=rate,
        codec=codec,
        width=width,
        height=height,
        md5=exact.md5,
        sha256=exact.sha256,
    )


@dataclass
class _Kept:
    """The sampled frames' hashes so far: whole, inside black bars, and (with a
    ``region_hasher``, ``regions.region_hashes`` or a partial of it) regions."""

    region_hasher: Callable[[NDArray[np.uint8], PdqHash], tuple[PdqHash, ...]] | None
    frames: list[FrameHash] = field(default_factory=list)
    trimmed: list[FrameHash | None] = field(default_factory=list)
    parts: list[tuple[float, tuple[PdqHash, ...]]] = field(default_factory=list)

    def add(self, luma: NDArray[np.uint8], timestamp: float) -> None:
        whole = pdq_from_luma(luma)
        self.frames.append(FrameHash(whole, timestamp))
        if self.region_hasher is not None:
            self.parts.append((timestamp, self.region_hasher(luma, whole)))
        inside = inside_bars(luma)
        self.trimmed.append(None if inside is None else FrameHash(pdq_from_luma(inside), timestamp))


@dataclass(frozen=True, slots=True)
class _KeyPlan:
    """The packets to decode for ``Sampling.KEYS``: key frames alone where the next key
    frame is near, every packet through longer stretches."""

    feed: list[Any]
    #: Presentation times of key frames fed alone, and of the key frames that open a
    #: stretch decoded in full (each hashed, beside vPDQ's samples of the stretch).
    alone: frozenset[int]
    openers: frozenset[int]
    first_pts: int | None
    packets: int


def _key_plan(
    container: Any,
    stream: Any,
    *,
    max_key_gap: float,
    seconds_per_hash: float,
    bound: Callable[[int], None],
) -> _KeyPlan:
    """Read the stream's packets (cheap beside decoding them) and plan what to decode:
    key frames closer together than ``seconds_per_hash`` (an intra-only stream is all
    key frames) are taken one a ``seconds_per_hash``."""
    packets = []
    for packet in container.demux(stream):
        if packet.size:  # not the demuxer's closing empty packet
            packets.append(packet)
            bound(len(packets))
    base = stream.time_base
    if not packets or base is None or any(packet.pts is None for packet in packets):
        return _KeyPlan(packets, frozenset(), frozenset(), None, len(packets))
    keys = [n for n, packet in enumerate(packets) if packet.is_keyframe]
    if not keys:
        return _KeyPlan(packets, frozenset(), frozenset(), None, len(packets))
    end = max(packet.pts + (packet.duration or 0) for packet in packets)
    feed, alone, openers = [], set(), set()
    taken: float | None = None  # the time of the last key frame taken alone
    for start, stop in zip(keys, [*keys[1:], len(packets)], strict=True):
        opener = packets[start].pts
        following = packets[stop].pts if stop < len(packets) else end
        if float((following - opener) * base) <= max_key_gap:
            at = float(opener * base)
            if taken is None or at - taken >= seconds_per_hash * _SAME_TIME:
                feed.append(packets[start])
                alone.add(opener)
                taken = at
        else:
            feed.extend(packets[start:stop])
            openers.add(opener)
    # Packets before the first key frame cannot be decoded on their own: left out.
    first = min(packet.pts for packet in packets)
    return _KeyPlan(feed, frozenset(alone), frozenset(openers), first, len(packets))


#: Key frames this close to a whole ``seconds_per_hash`` apart count as that far apart.
_SAME_TIME: Final = 0.999


def _decode_planned(
    stream: Any,
    plan: _KeyPlan,
    *,
    rate: float,
    every: int,
    keep: Callable[[Any, int], None],
    bound: Callable[[int], None],
) -> int:
    """Decode the plan's packets and keep the frames it samples; the stream's frames."""
    context, base = stream.codec_context, stream.time_base
    decoded = 0
    for packet in [*plan.feed, None]:  # None drains the decoder
        for frame in context.decode(packet):
            if plan.first_pts is None or frame.pts is None:
                number, alone, opener = decoded, False, False
            else:
                number = round(float((frame.pts - plan.first_pts) * base) * rate)
                alone, opener = frame.pts in plan.alone, frame.pts in plan.openers
            if alone or opener or number % every == 0:
                keep(frame, number)
            decoded += 1
            bound(0)  # the time alone: the frames were counted as their packets were read
    return plan.packets


def _spans(frames: Sequence[FrameHash], duration: float) -> tuple[float, ...]:
    """The seconds from each frame to the next (the last: to the end of the video)."""
    times = [frame.timestamp for frame in frames]
    ends = [*times[1:], max(duration, times[-1])]
    return tuple(max(0.0, end - start) for start, end in zip(times, ends, strict=True))


#: Rows and columns no brighter than this at an edge are bars (black, as encoders leave
#: them a little above 0), when they take at least ``BAR_SHARE`` of the height or width.
BAR_LEVEL: Final = 24
BAR_SHARE: Final = 0.03
#: A picture smaller than this share of either side is not what the bars frame.
MIN_PICTURE_SHARE: Final = 0.4


def inside_bars(luma: NDArray[np.uint8]) -> NDArray[np.uint8] | None:
    """The picture inside black bars at the frame's edges (a letterboxed or pillarboxed
    copy), or ``None`` when the frame has none worth trimming."""
    lit_rows = np.flatnonzero(luma.max(axis=1) > BAR_LEVEL)
    lit_columns = np.flatnonzero(luma.max(axis=0) > BAR_LEVEL)
    if not len(lit_rows) or not len(lit_columns):
        return None
    top, bottom = int(lit_rows[0]), int(lit_rows[-1]) + 1
    left, right = int(lit_columns[0]), int(lit_columns[-1]) + 1
    height, width = luma.shape
    bars = max((height - (bottom - top)) / height, (width - (right - left)) / width)
    picture = min((bottom - top) / height, (right - left) / width)
    if bars < BAR_SHARE or picture < MIN_PICTURE_SHARE:
        return None
    return luma[top:bottom, left:right]


def _video_stream(container: Any, source: str, limits: VideoLimits) -> tuple[Any, float]:
    """The first video stream, set up to decode on every core, and its frame rate; or the
    reason the video is refused before any frame is decoded."""
    if not container.streams.video:
        kinds = ", ".join(sorted({str(stream.type) for stream in container.streams}))
        raise UnsupportedFormat(source, f"has no video stream ({kinds or 'no'} streams only)")
    stream = container.streams.video[0]
    if stream.codec_context is None:  # FFmpeg knows no decoder for this codec
        raise UnsupportedFormat(source, "no decoder for its video codec")
    # Before anything reads the codec context: frame threads are set up when it opens.
    stream.thread_type = "AUTO"
    _check_frame(source, stream.codec_context.width, stream.codec_context.height, limits)
    rate = _frame_rate(stream)
    if rate is None:
        raise CorruptMedia(source, "the video stream states no frame rate")
    declared = _declared_seconds(container, stream)
    if declared is not None and declared > limits.max_seconds:
        raise VideoTooLong(
            source, f"lasts {declared:.0f} s, longer than the limit of {limits.max_seconds:.0f} s"
        )
    return stream, rate


def _frame_rate(stream: object) -> float | None:
    # vPDQ's rate: the average frame rate, or the stream's base rate when that is unknown.
    for rate in (getattr(stream, "average_rate", None), getattr(stream, "base_rate", None)):
        if rate is not None and rate > 0:
            return float(rate)
    return None


def _declared_seconds(container: object, stream: object) -> float | None:
    duration, base = getattr(stream, "duration", None), getattr(stream, "time_base", None)
    if duration is not None and base is not None:
        return float(duration * base)
    whole = getattr(container, "duration", None)  # in microseconds (AV_TIME_BASE)
    return float(whole) / 1_000_000 if whole is not None else None


def _check_frame(source: str, width: int, height: int, limits: VideoLimits) -> None:
    if width <= 0 or height <= 0:
        raise CorruptMedia(source, f"video frames are {width} x {height} pixels")
    if width * height > limits.max_frame_pixels:
        raise ImageTooLarge(
            source,
            f"video frames are {width} x {height} pixels, more than the limit of "
            f"{limits.max_frame_pixels}",
        )


def _reason(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return str(text).strip() or type(exc).__name__


# --------------------------------------------------------------------------------------
# Matching, by vPDQ's rules


@dataclass(frozen=True, slots=True)
class FrameMatch:
    """How much of two videos matched: the share of each one's frames (unique hashes of
    good enough quality) within the distance threshold of some frame of the other."""

    query_percent: float
    target_percent: float

    def passes(
        self,
        query_threshold: float = QUERY_MATCH_PERCENT,
        target_threshold: float = TARGET_MATCH_PERCENT,
    ) -> bool:
        """vPDQ's verdict: each percentage at or above its threshold."""
        return self.query_percent >= query_threshold and self.target_percent >= target_threshold


def match_frames(
    query: Sequence[FrameHash],
    target: Sequence[FrameHash],
    *,
    distance: int = DISTANCE_THRESHOLD,
    quality: int = QUALITY_THRESHOLD,
) -> FrameMatch:
    """The share of the query's and of the target's frames that match the other side."""
    query_codes, target_codes = unique_codes(query, quality), unique_codes(target, quality)
    if not len(query_codes) or not len(target_codes):
        return FrameMatch(0.0, 0.0)
    query_hit = np.zeros(len(query_codes), bool)
    target_hit = np.zeros(len(target_codes), bool)
    # A block of query frames at a time: two hour-long videos compare 3,600 x 3,600 pairs.
    for start in range(0, len(query_codes), _BLOCK):
        near = hamming_matrix(query_codes[start : start + _BLOCK], target_codes) <= distance
        query_hit[start : start + _BLOCK] = near.any(axis=1)
        target_hit |= near.any(axis=0)
    return FrameMatch(
        100.0 * int(query_hit.sum()) / len(query_codes),
        100.0 * int(target_hit.sum()) / len(target_codes),
    )


_BLOCK: Final = 256


def unique_codes(
    frames: Sequence[FrameHash], quality: int = QUALITY_THRESHOLD
) -> NDArray[np.uint8]:
    """The distinct frame hashes of at least ``quality``, as (n, 32) codes (vPDQ counts
    each hash once and drops poor frames)."""
    kept = sorted({frame.pdq.hex for frame in frames if frame.pdq.quality >= quality})
    if not kept:
        return np.zeros((0, 32), np.uint8)
    return np.frombuffer(bytes.fromhex("".join(kept)), np.uint8).reshape(-1, 32).copy()
