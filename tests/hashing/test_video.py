"""Video fingerprints: vPDQ's sampling, text form and matching rules, and refusals."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

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
from reclaim.hashing.pdq import pdq_from_luma
from reclaim.hashing.video import (
    FrameHash,
    Sampling,
    VideoLimits,
    fingerprint_video,
    frames_from_json,
    frames_to_json,
    inside_bars,
    match_frames,
)
from tests.hashing.videos import encode_audio_only, encode_video, pan_frames


@pytest.fixture(scope="module")
def pan(photos: list[Path]) -> tuple[list[np.ndarray], bytes]:
    frames = pan_frames(next(p for p in photos if p.name == "astronaut.jpg"), 60)
    return frames, encode_video(frames, fps=10)


@pytest.fixture(scope="module")
def other(photos: list[Path]) -> bytes:
    return encode_video(pan_frames(next(p for p in photos if p.name == "coffee.jpg"), 60))


def test_frames_are_sampled_as_vpdq_samples_them(pan: tuple[list[np.ndarray], bytes]) -> None:
    _, data = pan
    video = fingerprint_video(data, "pan.mp4")
    assert (video.frame_count, video.frame_rate, video.duration) == (60, 10.0, 6.0)
    assert (video.codec, video.width, video.height) == ("h264", 320, 240)
    assert [f.timestamp for f in video.frames] == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    assert video.md5 == hashlib.md5(data).hexdigest()
    assert video.sha256 == hashlib.sha256(data).hexdigest()
    # Every 2.5 s at 10 frames a second: frames 0, 25 and 50.
    sparse = fingerprint_video(data, "pan.mp4", seconds_per_hash=2.5)
    assert [f.timestamp for f in sparse.frames] == [0.0, 2.5, 5.0]


def test_each_frame_hash_is_the_pdq_of_that_frame(pan: tuple[list[np.ndarray], bytes]) -> None:
    frames, data = pan
    video = fingerprint_video(data, "pan.mp4")
    for sampled in video.frames:
        original = frames[round(sampled.timestamp * 10)]
        luma = np.rint(original @ np.array([0.299, 0.587, 0.114])).astype(np.uint8)
        # The encoder's loss moves a few bits; another frame of the pan is far off.
        assert sampled.pdq.distance(pdq_from_luma(luma)) <= 20
    assert video.frames[0].pdq.distance(video.frames[-1].pdq) > 60


def test_a_video_matches_itself_and_its_reencoding_but_not_another(
    pan: tuple[list[np.ndarray], bytes], other: bytes
) -> None:
    frames, data = pan
    original = fingerprint_video(data, "pan.mp4").frames
    reencoded = fingerprint_video(encode_video(frames, codec="libvpx-vp9", container="webm"), "a")
    unrelated = fingerprint_video(other, "other.mp4").frames
    assert match_frames(original, original).passes()
    again = match_frames(reencoded.frames, original)
    assert again.query_percent == 100.0 and again.passes()
    elsewhere = match_frames(unrelated, original)
    assert elsewhere.query_percent == 0.0 and not elsewhere.passes()


def test_matching_drops_poor_frames_counts_unique_hashes_and_keeps_the_distance() -> None:
    def frame(hex_digit: str, quality: int = 100, timestamp: float = 0.0) -> FrameHash:
        return FrameHash(PdqHash(hex_digit * 64, quality), timestamp)

    near = PdqHash("0" * 56 + "7fffffff", 100)  # 31 bits from all zeros
    far = PdqHash("0" * 56 + "ffffffff", 100)  # 32 bits
    zeros = [frame("0"), frame("0", timestamp=1.0)]  # one unique hash, twice
    assert match_frames([FrameHash(near, 0.0)], zeros).query_percent == 100.0
    assert match_frames([FrameHash(far, 0.0)], zeros).query_percent == 0.0
    # Half the query's unique frames match; the target's only frame is matched.
    result = match_frames([*zeros, frame("f")], zeros)
    assert (result.query_percent, result.target_percent) == (50.0, 100.0)
    assert not result.passes() and result.passes(query_threshold=50.0)
    # A frame below quality 50 neither matches nor counts.
    assert match_frames([frame("0", quality=49)], zeros).query_percent == 0.0
    assert match_frames([frame("0"), frame("f", quality=10)], zeros).query_percent == 100.0


def test_the_text_form_is_vpdqs() -> None:
    pdq = PdqHash("ab" * 32, 87)
    # As python-threatexchange writes it: three significant digits of the timestamp.
    assert FrameHash(pdq, 12.345).to_text() == f"{'ab' * 32},87,12.3"
    assert FrameHash(pdq, 0.0).to_text() == f"{'ab' * 32},87,0.0"
    assert FrameHash(pdq, 125.0).to_text() == f"{'ab' * 32},87,1.25e+02"
    frames = [FrameHash(pdq, 0.0), FrameHash(PdqHash("0" * 64, 100), 1.0)]
    text = frames_to_json(frames)
    assert json.loads(text) == [f"{'ab' * 32},87,0.0", f"{'0' * 64},100,1.0"]
    assert frames_from_json(text) == frames
    upper = frames_from_json(json.dumps([f"{'AB' * 32},87,2.5"]))
    assert upper == [FrameHash(pdq, 2.5)]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "not a JSON list"),
        ("{}", "JSON list of frame strings"),
        ("[1, 2]", "JSON list of frame strings"),
        ("[]", "at least one frame"),
        ('["abc"]', "frame 0: a vPDQ frame is"),
        (f'["{"0" * 64},100,0.0", "{"0" * 63},100,1.0"]', "frame 1: .*not a PDQ hash"),
        (f'["{"0" * 64},high,0.0"]', "must be numbers"),
        (f'["{"0" * 64},101,0.0"]', "quality must be 0-100"),
        (f'["{"0" * 64},100,-1"]', "timestamp must be 0 or more"),
        (f'["{"0" * 64},100,nan"]', "timestamp must be 0 or more"),
        ("[" * 100_000, "not a JSON list"),
    ],
)
def test_malformed_vpdq_lists_are_refused(text: str, reason: str) -> None:
    with pytest.raises(HashFormatError, match=f"upload.json.*{reason}"):
        frames_from_json(text, "upload.json")


def test_bad_videos_are_refused_with_the_reason(pan: tuple[list[np.ndarray], bytes]) -> None:
    frames, data = pan
    with pytest.raises(EmptyFile, match="clip: file is empty"):
        fingerprint_video(b"", "clip")
    with pytest.raises(CorruptMedia, match="clip: not a readable video container"):
        fingerprint_video(b"\x00\x01 not a video " * 100, "clip")
    with pytest.raises(CorruptMedia, match="clip"):
        fingerprint_video(data[: len(data) // 3], "clip")  # cut short: no index
    unknown = encode_video(frames[:10], container="matroska")
    unknown = unknown.replace(b"V_MPEG4/ISO/AVC", b"V_XXXXX/ISO/AVC")  # a codec FFmpeg lacks
    with pytest.raises(UnsupportedFormat, match="clip: no decoder for its video codec"):
        fingerprint_video(unknown, "clip")
    with pytest.raises(UnsupportedFormat, match=r"song: has no video stream \(audio"):
        fingerprint_video(encode_audio_only(), "song")
    with pytest.raises(ImageTooLarge, match="320 x 240 pixels, more than the limit of 1000"):
        fingerprint_video(data, "clip", limits=VideoLimits(max_frame_pixels=1000))
    with pytest.raises(VideoTooLong, match="lasts 6 s, longer than the limit of 5 s"):
        fingerprint_video(data, "clip", limits=VideoLimits(max_seconds=5.0))
    with pytest.raises(DecodeTimeout, match="decoding took longer than the limit of 0 s"):
        fingerprint_video(data, "clip", limits=VideoLimits(max_decode_seconds=0.0))
    with pytest.raises(ValueError, match="seconds_per_hash must be a positive number"):
        fingerprint_video(data, "clip", seconds_per_hash=0.0)


def test_a_video_with_sound_is_fingerprinted_by_its_pictures(
    pan: tuple[list[np.ndarray], bytes],
) -> None:
    frames, data = pan
    with_sound = fingerprint_video(encode_video(frames, audio=True), "talk.mp4")
    silent = fingerprint_video(data, "pan.mp4")
    assert [f.pdq for f in with_sound.frames] == [f.pdq for f in silent.frames]


@pytest.fixture(scope="module")
def reference_vpdq() -> ModuleType:
    """The vpdq package (``scripts/install-vpdq.sh``; ``make test`` runs it). Skipped
    where it is not installed, except in CI, where its absence fails the run."""
    try:
        import vpdq  # noqa: PLC0415
    except ImportError:
        if os.environ.get("CI") == "true":
            pytest.fail("vpdq is required in CI: scripts/install-vpdq.sh did not install it")
        pytest.skip("vpdq is not installed (scripts/install-vpdq.sh)")
    return vpdq


def test_frames_equal_the_reference_vpdqs(
    reference_vpdq: ModuleType, tmp_path: Path, photos: list[Path]
) -> None:
    for photo, fps in ((photos[0], 10), (photos[3], 25)):
        path = tmp_path / f"{photo.stem}.mp4"
        path.write_bytes(encode_video(pan_frames(photo, 4 * fps, (480, 270)), fps=fps))
        ours = fingerprint_video(path.read_bytes(), path.name).frames
        theirs = reference_vpdq.computeHash(str(path), seconds_per_hash=1)
        assert [f.timestamp for f in ours] == pytest.approx([f.timestamp for f in theirs])
        for mine, reference in zip(ours, theirs, strict=True):
            # The same frames; the grey conversion differs (FFmpeg's against vpdq's RGB mix).
            assert mine.pdq.distance(PdqHash(reference.hex, reference.quality)) <= 10
            assert abs(mine.pdq.quality - reference.quality) <= 10


def test_threatexchange_reads_our_lists_and_we_read_its(
    reference_vpdq: ModuleType, tmp_path: Path, photos: list[Path]
) -> None:
    from threatexchange.extensions.vpdq.vpdq import VPDQSignal  # noqa: PLC0415

    path = tmp_path / "pan.mp4"
    path.write_bytes(encode_video(pan_frames(photos[0], 40), fps=10))
    ours = frames_to_json(fingerprint_video(path.read_bytes(), path.name).frames)
    theirs = VPDQSignal.hash_from_file(path)
    assert VPDQSignal.validate_signal_str(ours) == ours
    assert VPDQSignal.compare_hash(ours, theirs).match
    assert VPDQSignal.compare_hash(theirs, ours).match
    read = frames_from_json(theirs)
    assert match_frames(read, frames_from_json(ours)).passes()


def test_the_picture_inside_black_bars_is_found_and_plain_frames_have_none(
    pan: tuple[list[np.ndarray], bytes],
) -> None:
    frames, _ = pan
    luma = np.rint(frames[0] @ np.array([0.299, 0.587, 0.114])).astype(np.uint8)
    assert inside_bars(luma) is None
    boxed = np.zeros((300, 320), np.uint8)
    boxed[30:270] = luma  # letterboxed: 30 black rows above and below
    inside = inside_bars(boxed)
    assert inside is not None and inside.shape == luma.shape
    assert pdq_from_luma(inside) == pdq_from_luma(luma)
    sliver = np.zeros((300, 320), np.uint8)
    sliver[140:160] = 200  # a thin bright band is not a picture framed by bars
    assert inside_bars(sliver) is None
    assert inside_bars(np.zeros((300, 320), np.uint8)) is None  # all black


def test_a_letterboxed_copy_gives_frames_of_its_picture_beside_the_plain_ones(
    pan: tuple[list[np.ndarray], bytes],
) -> None:
    frames, data = pan
    boxed = []
    for frame in frames:
        canvas = np.zeros((300, 320, 3), np.uint8)
        canvas[30:270] = frame
        boxed.append(canvas)
    original = fingerprint_video(data, "pan.mp4")
    copy = fingerprint_video(encode_video(boxed), "boxed.mp4")
    assert all(t is None for t in original.trimmed)
    assert len(copy.trimmed) == len(copy.frames) and all(t is not None for t in copy.trimmed)
    for plain, inside, source in zip(copy.frames, copy.trimmed, original.frames, strict=True):
        assert inside is not None and inside.timestamp == plain.timestamp
        assert inside.pdq.distance(source.pdq) <= 20 < plain.pdq.distance(source.pdq)


def test_key_sampling_takes_key_frames_alone_where_they_come_often(
    pan: tuple[list[np.ndarray], bytes],
) -> None:
    frames, _ = pan
    for codec, container in (("libx264", "mp4"), ("libvpx-vp9", "webm")):
        # A key frame every 2 s (20 frames at 10 a second): each is decoded on its own.
        data = encode_video(frames, codec=codec, container=container, options={"g": "20"})
        every = fingerprint_video(data, "pan")
        keys = fingerprint_video(data, "pan", sampling=Sampling.KEYS)
        assert [f.timestamp for f in keys.frames] == [0.0, 2.0, 4.0], codec
        assert keys.spans == (2.0, 2.0, 2.0)
        assert (keys.frame_count, keys.duration) == (every.frame_count, every.duration)
        # A key frame decoded alone is the same picture as in the whole stream.
        by_time = {f.timestamp: f for f in every.frames}
        assert all(f == by_time[f.timestamp] for f in keys.frames)
        assert every.spans == ()  # vPDQ's even sampling: each frame counts once
        # Key frames further apart than the gap allowed: sampled as vPDQ samples.
        dense = fingerprint_video(data, "pan", sampling=Sampling.KEYS, max_key_gap=1.5)
        assert dense.frames == every.frames and dense.spans == (1.0,) * 6
    # Every frame a key frame (an intra-only stream): one a second is taken.
    intra = encode_video(frames, options={"g": "1"})
    keys = fingerprint_video(intra, "pan", sampling=Sampling.KEYS)
    assert keys.frames == fingerprint_video(intra, "pan").frames
    assert keys.spans == (1.0,) * 6


def test_key_sampling_samples_long_stretches_as_vpdq_and_keeps_the_bounds(
    pan: tuple[list[np.ndarray], bytes],
) -> None:
    _, data = pan  # one key frame, 6 s before the end: more than the default gap
    keys = fingerprint_video(data, "pan.mp4", sampling=Sampling.KEYS)
    assert keys.frames == fingerprint_video(data, "pan.mp4").frames
    assert keys.spans == (1.0,) * 6
    for limits, refusal in (
        (VideoLimits(max_seconds=2.0), VideoTooLong),
        (VideoLimits(max_decode_seconds=0.0), DecodeTimeout),
    ):
        with pytest.raises(refusal, match=r"pan\.mp4: .* the limit of"):
            fingerprint_video(data, "pan.mp4", sampling=Sampling.KEYS, limits=limits)
