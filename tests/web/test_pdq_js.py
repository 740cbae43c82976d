"""The browser's PDQ (``reclaim/web/static/pdq.js``) equals Python's on the same
luminance: run under Node, which ships the same JavaScript engine as Chromium."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
from PIL import Image

from reclaim.hashing.keypoints import hamming_matrix
from reclaim.hashing.media import MediaLimits, decode_image
from reclaim.hashing.pdq import pdq_from_luma

HARNESS = Path(__file__).with_name("pdq_node.mjs")
PDQ_JS = Path(__file__).resolve().parents[2] / "reclaim" / "web" / "static" / "pdq.js"


def _browser_pdq(node: str, pixels: list[np.ndarray], folder: Path) -> list[dict[str, object]]:
    """Each picture's PDQ by the browser's code: luminance (height x width), or RGBA
    (height x width x 4, as a canvas gives it)."""
    jobs = []
    for number, picture in enumerate(pixels):
        path = folder / f"picture-{number}.bin"
        path.write_bytes(np.ascontiguousarray(picture, np.uint8).tobytes())
        height, width = picture.shape[:2]
        jobs.append({"file": str(path), "width": width, "height": height,
                     "rgba": picture.ndim == 3})  # fmt: skip
    done = subprocess.run(
        [node, str(HARNESS)], input=json.dumps(jobs), capture_output=True, text=True, check=True
    )
    results: list[dict[str, object]] = json.loads(done.stdout)
    return results


def _bits_apart(a: str, b: str) -> int:
    codes = [np.frombuffer(bytes.fromhex(h), np.uint8)[None, :] for h in (a, b)]
    return int(hamming_matrix(codes[0], codes[1])[0, 0])


def test_the_browsers_pdq_equals_pythons_on_the_sample_photos(
    node: str, photos: list[Path], tmp_path: Path
) -> None:
    lumas = [decode_image(p.read_bytes(), p.name, MediaLimits()).luma for p in photos]
    lumas += [lumas[0][:97, :203], lumas[1][::3, ::2]]  # odd sizes, other windows
    browser = _browser_pdq(node, lumas, tmp_path)
    apart = []
    for luma, theirs in zip(lumas, browser, strict=True):
        ours = pdq_from_luma(luma)
        assert theirs["quality"] == ours.quality
        apart.append(_bits_apart(str(theirs["hex"]), ours.hex))
    # The bar is 10 bits at most and 2 on average; the same samples leave only
    # the DCT's rounding near the median (here: none at all).
    assert max(apart) <= 2 and apart.count(0) >= len(apart) - 2, apart


def test_the_browsers_luminance_from_canvas_pixels_is_the_decoders(
    node: str, photos: list[Path], tmp_path: Path
) -> None:
    # What a canvas gives for a PNG: its RGBA pixels.
    pngs = [p for p in photos if p.suffix == ".png"]
    assert pngs, "the sample photos hold no PNG"
    rgba = []
    for photo in pngs:
        with Image.open(photo) as image:
            rgba.append(np.asarray(image.convert("RGBA")))
    browser = _browser_pdq(node, rgba, tmp_path)
    for pixels, theirs in zip(rgba, browser, strict=True):
        ours = pdq_from_luma(np.asarray(Image.fromarray(pixels).convert("L")))
        assert (theirs["hex"], theirs["quality"]) == (ours.hex, ours.quality)


def test_tiny_pictures_hash_to_zero_and_a_wrong_size_is_refused(node: str, tmp_path: Path) -> None:
    [tiny] = _browser_pdq(node, [np.full((4, 40), 128, np.uint8)], tmp_path)
    assert tiny == {"hex": "0" * 64, "quality": 0}
    script = (
        f"import {{ pdqFromLuma }} from {json.dumps(str(PDQ_JS))};"
        "try { pdqFromLuma(new Uint8Array(10), 4, 4); }"
        "catch (e) { console.log(e.name + ': ' + e.message); }"
    )
    done = subprocess.run(
        [node, "--input-type=module", "-e", script], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "RangeError: luma holds 10 values, not 4 x 4"
