"""Test videos made here with PyAV from the sample photos: a slow pan and zoom across a
photo, so neighbouring frames differ a little and distant ones a lot, as in real footage."""

from __future__ import annotations

import io
from collections.abc import Collection
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from av.video.frame import PictureType
from numpy.typing import NDArray
from PIL import Image


def pan_frames(
    photo: Path, count: int, size: tuple[int, int] = (320, 240)
) -> list[NDArray[np.uint8]]:
    """``count`` RGB frames of ``size`` moving across ``photo`` and closing in on it."""
    image = Image.open(photo).convert("RGB")
    width, height = image.size
    frames = []
    for n in range(count):
        progress = n / max(1, count - 1)
        zoom = 1.0 - 0.35 * progress  # the window shrinks to 65% of the photo
        window_w, window_h = width * zoom, height * zoom
        left = (width - window_w) * progress
        top = (height - window_h) * progress / 2
        box = (left, top, left + window_w, top + window_h)
        frames.append(np.asarray(image.resize(size, Image.Resampling.BILINEAR, box=box)))
    return frames


def encode_video(
    frames: list[NDArray[np.uint8]],
    *,
    fps: int = 10,
    codec: str = "libx264",
    container: str = "mp4",
    audio: bool = False,
    options: dict[str, str] | None = None,
    key_frames: Collection[int] | None = None,
) -> bytes:
    """The frames encoded as a video file (with a second of silence when ``audio``;
    ``options`` for the encoder, such as ``{"g": "20"}`` for a key frame every 20;
    ``key_frames``: the frames that are key frames, and no others, with libx264)."""
    if key_frames is not None:
        options = {**(options or {}), "g": "100000", "sc_threshold": "0", "forced-idr": "1"}
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format=container) as output:
        height, width = frames[0].shape[:2]
        stream = output.add_stream(codec, rate=fps)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        # Tests compare separate encodes of the same frames, so the encoder must give the
        # same bytes each time: one thread (x264's threads can split the work differently
        # from run to run) and, for x264, no macroblock tree, whose SIMD path changed
        # frames from 30 on in about one encode in three.
        fixed = {"threads": "1"}
        if codec == "libx264":
            fixed["x264-params"] = "no-mbtree=1"
        stream.options = {**fixed, **(options or {})}
        sound = output.add_stream("aac", rate=8000) if audio else None
        for number, pixels in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(yuv420(pixels), format="yuv420p")
            if key_frames is not None:
                forced = number in key_frames
                frame.pict_type = PictureType.I if forced else PictureType.NONE
            for packet in stream.encode(frame):
                output.mux(packet)
        for packet in stream.encode():
            output.mux(packet)
        if sound is not None:
            _add_silence(output, sound)
    return buffer.getvalue()


def yuv420(pixels: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """RGB frame as planar YUV 4:2:0 (BT.601, studio range), as encoders take it.

    Done here rather than by FFmpeg's scaler, whose result can change with where the
    frame happens to lie in memory: tests compare separate encodes of the same frames."""
    height, width = pixels.shape[:2]
    rgb = pixels[: height - height % 2, : width - width % 2].astype(np.int32)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    y = ((66 * r + 129 * g + 25 * b + 128) >> 8) + 16
    u = ((-38 * r - 74 * g + 112 * b + 128) >> 8) + 128
    v = ((112 * r - 94 * g - 18 * b + 128) >> 8) + 128

    def half(plane: NDArray[np.int32]) -> NDArray[np.int32]:
        return (
            plane[0::2, 0::2] + plane[1::2, 0::2] + plane[0::2, 1::2] + plane[1::2, 1::2] + 2
        ) // 4

    rows = y.shape[0]
    chroma = np.concatenate([half(u), half(v)], axis=0).reshape(rows // 2, -1)
    return np.concatenate([y, chroma.reshape(rows // 2, y.shape[1])]).astype(np.uint8)


def encode_audio_only() -> bytes:
    """A file with one audio stream and no video."""
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as output:
        _add_silence(output, output.add_stream("aac", rate=8000))
    return buffer.getvalue()


def _add_silence(output: av.container.OutputContainer, stream: av.audio.AudioStream) -> None:
    samples = np.zeros((1, 1024), np.float32)
    for n in range(8):
        frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
        frame.sample_rate = 8000
        frame.pts = n * 1024
        frame.time_base = Fraction(1, 8000)
        for packet in stream.encode(frame):
            output.mux(packet)
    for packet in stream.encode():
        output.mux(packet)


def spliced_copy(frames: list[NDArray[np.uint8]], insert: list[NDArray[np.uint8]]) -> bytes:
    """``frames`` (6 s at 10 a second) with ``insert`` (0.5 s) in place of those from 3 s
    on, key frames only at the start and at the insert: sampled at its key frames, half
    its time looks foreign; sampled one frame a second, one frame in six."""
    assert len(frames) == 60 and len(insert) == 5
    return encode_video([*frames[:30], *insert, *frames[35:]], key_frames={0, 30})


def zoomed(frames: list[NDArray[np.uint8]]) -> list[NDArray[np.uint8]]:
    """Each frame less 5% a side, blown up to its size (a copy cropped by 10%)."""
    height, width = frames[0].shape[:2]
    box = (width // 20, height // 20, width - width // 20, height - height // 20)
    return [np.asarray(Image.fromarray(f).crop(box).resize((width, height))) for f in frames]


def marked(frames: list[NDArray[np.uint8]]) -> list[NDArray[np.uint8]]:
    """Each frame with a white box over its top-right corner, as a channel's logo."""
    height, width = frames[0].shape[:2]
    copies = []
    for frame in frames:
        copy = frame.copy()
        box = copy[height // 20 : height // 4, width * 7 // 10 : width * 19 // 20]
        box[:] = 235
        copies.append(copy)
    return copies
