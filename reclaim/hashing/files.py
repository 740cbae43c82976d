"""Fingerprint files and folders: every signal of each file, or the reason it has none.

This is what ``reclaim hash`` runs. A file's bytes are read once and the image decoded
once; the exact hashes, the PDQ hash and, when asked for, the local features (to register,
or the two views a query compares) all come from that. A video (known by its container's
leading bytes) yields its exact hashes and its vPDQ frames instead. Failures never escape
as exceptions: each file yields one ``FileFingerprint``, with ``error`` set when it could
not be hashed.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reclaim.errors import EmptyFile, FileTooLarge, FileUnreadable, MediaError, ReclaimError
from reclaim.hashing.base import Luma
from reclaim.hashing.exact import exact_hashes
from reclaim.hashing.keypoints import (
    MIN_INLIERS,
    Features,
    features_from_luma,
    features_to_bytes,
    query_views,
)
from reclaim.hashing.media import MediaLimits, decode_image, is_image_name, read_media_file
from reclaim.hashing.pdq import dihedral_from_luma, pdq_from_luma
from reclaim.hashing.regions import distinct_rows, regions_payload
from reclaim.hashing.video import (
    SECONDS_PER_HASH,
    FrameHash,
    Sampling,
    VideoLimits,
    VideoQuery,
    fingerprint_video,
    is_video_name,
    sniff_video,
)
from reclaim.settings import Settings


@dataclass(frozen=True, slots=True)
class FingerprintOptions:
    """What to compute for each file, and the limits on what is decoded."""

    limits: MediaLimits = field(default_factory=MediaLimits)
    min_quality: int = 50
    dihedral: bool = False
    #: The signals that find edited copies, to register: an image's local features (a
    #: ``keypoints`` signal), a video's region hashes (``video_regions``); base64 in the
    #: record.
    keypoints: bool = False
    #: Local features to match with (``query_views``; kept out of the record).
    query_features: bool = False
    #: A video's region hashes to match with (its frames' quadrants and top bands; kept
    #: out of the record).
    query_regions: bool = False
    #: A video's frames are hashed this many seconds apart (vPDQ's sampling).
    seconds_per_hash: float = SECONDS_PER_HASH
    #: Which of a video's frames are hashed (``Sampling.KEYS`` for a quick query).
    video_sampling: Sampling = Sampling.EVERY
    video_limits: VideoLimits = field(default_factory=VideoLimits)


@dataclass(frozen=True, slots=True)
class FileFingerprint:
    """The signals of one file, or the error that stopped it (``error`` is ``None`` if none)."""

    path: str
    kind: str | None = None
    pdq: str | None = None
    quality: int | None = None
    low_quality: bool | None = None
    md5: str | None = None
    sha256: str | None = None
    width: int | None = None
    height: int | None = None
    dihedral: tuple[str, ...] | None = None
    keypoints: bytes | None = None
    views: tuple[Features, Features] | None = field(default=None, compare=False, repr=False)
    #: A video's sampled frames (the record writes them in vPDQ's text form), and facts
    #: about its stream.
    vpdq: tuple[FrameHash, ...] | None = None
    #: The frames' region hashes to register (``regions.regions_payload``).
    video_regions: bytes | None = None
    #: A video's frames as a query matches them (pictures inside black bars, and how much
    #: of the video each frame stands for); not part of the record.
    video: VideoQuery | None = field(default=None, compare=False, repr=False)
    duration: float | None = None
    frame_count: int | None = None
    codec: str | None = None
    error: dict[str, str] | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def query_signals(self, min_quality: int) -> list[tuple[str, str]]:
        """The (type, value) pairs to match: the exact hashes, and the PDQ hash with its
        dihedral variants where computed, unless its quality is below ``min_quality``."""
        pairs = [(kind, value) for kind, value in (("md5", self.md5), ("sha256", self.sha256))
                 if value is not None]  # fmt: skip
        if self.pdq is not None and (self.quality or 0) >= min_quality:
            variants = dict.fromkeys((self.pdq, *(self.dihedral or ())))
            pairs += [("pdq", value) for value in variants]
        return pairs

    def to_record(self) -> dict[str, object]:
        """The JSON-line form printed by ``reclaim hash``."""
        record: dict[str, object] = {
            "path": self.path,
            "kind": self.kind,
            "pdq": self.pdq,
            "quality": self.quality,
            "low_quality": self.low_quality,
            "md5": self.md5,
            "sha256": self.sha256,
            "width": self.width,
            "height": self.height,
            "error": self.error,
        }
        if self.dihedral is not None:
            record["pdq_dihedral"] = list(self.dihedral)
        if self.keypoints is not None:
            record["keypoints"] = base64.b64encode(self.keypoints).decode("ascii")
        if self.vpdq is not None:
            record["vpdq"] = [frame.to_text() for frame in self.vpdq]
            if self.video_regions is not None:
                record["video_regions"] = base64.b64encode(self.video_regions).decode("ascii")
            record["duration"] = self.duration
            record["frame_count"] = self.frame_count
            record["codec"] = self.codec
        return record


def options_for(settings: Settings, **choices: Any) -> FingerprintOptions:
    """The options ``settings`` give (limits, minimum quality), with ``choices`` (the
    fields of ``FingerprintOptions`` a command or request picks) on top."""
    return FingerprintOptions(
        limits=MediaLimits(
            max_file_bytes=settings.max_file_bytes,
            max_image_pixels=settings.max_image_pixels,
            max_image_side=settings.max_image_side,
        ),
        video_limits=VideoLimits(
            max_seconds=settings.max_video_seconds,
            max_frame_pixels=settings.max_video_frame_pixels,
            max_decode_seconds=settings.max_video_decode_seconds,
        ),
        min_quality=settings.pdq_min_quality,
        **choices,
    )


def fingerprint_file(path: str | Path, options: FingerprintOptions) -> FileFingerprint:
    """Every signal of one file. Never raises for bad input: the error is in the result."""
    source = str(path)
    try:
        data = read_media_file(Path(path), options.limits)
    except ReclaimError as exc:
        return FileFingerprint(path=source, error=exc.to_dict())
    return fingerprint_bytes(data, source, options)


def fingerprint_bytes(data: bytes, source: str, options: FingerprintOptions) -> FileFingerprint:
    """Every signal of a file's bytes; never raises for bad input (see ``fingerprint_data``)."""
    try:
        return fingerprint_data(data, source, options)
    except ReclaimError as exc:
        if not data or len(data) > options.limits.max_file_bytes:
            return FileFingerprint(path=source, error=exc.to_dict())
        exact = exact_hashes(data)
        return FileFingerprint(path=source, md5=exact.md5, sha256=exact.sha256, error=exc.to_dict())


def check_size(data: bytes, source: str, limits: MediaLimits) -> None:
    """Refuse bytes that are empty or more than the largest file accepted."""
    if not data:
        raise EmptyFile(source, "file is empty (0 bytes)")
    if len(data) > limits.max_file_bytes:
        raise FileTooLarge(source, f"file has more bytes than the limit of {limits.max_file_bytes}")


def fingerprint_data(data: bytes, source: str, options: FingerprintOptions) -> FileFingerprint:
    """Every signal of a file's bytes (an upload); raises a ``MediaError`` naming ``source``."""
    check_size(data, source, options.limits)
    if sniff_video(data) is not None:
        return _video_fingerprint(data, source, options)
    exact = exact_hashes(data)
    image = decode_image(data, source, options.limits)
    if options.dihedral:
        variants = dihedral_from_luma(image.luma)
        pdq, dihedral = variants.original, tuple(h.hex for h in variants.as_tuple())
    else:
        pdq, dihedral = pdq_from_luma(image.luma), None
    return FileFingerprint(
        path=source,
        kind="image",
        pdq=pdq.hex,
        quality=pdq.quality,
        low_quality=pdq.quality < options.min_quality,
        md5=exact.md5,
        sha256=exact.sha256,
        width=image.width,
        height=image.height,
        dihedral=dihedral,
        keypoints=_registered_features(image.luma) if options.keypoints else None,
        views=query_views(image.luma) if options.query_features else None,
    )


def _video_fingerprint(data: bytes, source: str, options: FingerprintOptions) -> FileFingerprint:
    video = fingerprint_video(
        data,
        source,
        seconds_per_hash=options.seconds_per_hash,
        sampling=options.video_sampling,
        regions=options.query_regions,
        register=options.keypoints,
        limits=options.video_limits,
    )
    return FileFingerprint(
        path=source,
        kind="video",
        md5=video.md5,
        sha256=video.sha256,
        width=video.width,
        height=video.height,
        vpdq=video.frames,
        # Left out when no frame could ever match by them (as a flat image's features).
        video_regions=regions_payload(video.regions)
        if options.keypoints and video.regions is not None and len(distinct_rows(video.regions))
        else None,
        video=video.query,
        duration=round(video.duration, 3),
        frame_count=video.frame_count,
        codec=video.codec,
    )


def _registered_features(luma: Luma) -> bytes | None:
    """The features to register, or none for an image too plain to match by them."""
    features = features_from_luma(luma)
    return features_to_bytes(features) if len(features) >= MIN_INLIERS else None


def iter_media_paths(paths: Iterable[Path]) -> Iterator[Path | MediaError]:
    """Files to fingerprint: each path given, and the image and video files under each
    folder given.

    Files named explicitly are always tried. Folders are walked recursively, following
    symbolic links, taking files with an image or video extension; a folder that cannot be
    read or that a symbolic link leads back to yields an error instead of looping.
    """
    for path in paths:
        if path.is_dir():
            yield from _walk(path)
        else:
            yield path


def _walk(root: Path) -> Iterator[Path | MediaError]:
    failures: list[OSError] = []
    visited: dict[tuple[int, int], str] = {}
    for folder, subfolders, files in os.walk(root, followlinks=True, onerror=failures.append):
        yield from (_unreadable(failure) for failure in failures)
        failures.clear()
        try:
            info = os.stat(folder)
        except OSError as exc:
            subfolders[:] = []
            yield _unreadable(exc)
            continue
        key = (info.st_dev, info.st_ino)
        if key in visited:
            subfolders[:] = []
            yield FileUnreadable(
                folder, f"symbolic link loop: this folder was already walked as {visited[key]}"
            )
            continue
        visited[key] = folder
        subfolders.sort()
        for name in sorted(files):
            if is_image_name(name) or is_video_name(name):
                yield Path(folder) / name
    yield from (_unreadable(failure) for failure in failures)


def _unreadable(exc: OSError) -> FileUnreadable:
    return FileUnreadable(str(exc.filename), exc.strerror or str(exc))
