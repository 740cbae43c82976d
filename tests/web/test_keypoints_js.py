"""The browser's local features (``reclaim/web/static/keypoints.js``) are Python's
registration on the same luminance, and Python's matcher finds edited copies by them as
it does by its own: run under Node, which ships the same JavaScript engine as Chromium."""

from __future__ import annotations

import base64
import functools
import json
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps
from playwright.sync_api import Browser

from reclaim.hashing import keypoints
from reclaim.hashing.files import _registered_features
from reclaim.hashing.keypoint_kernels import separable_filter_reference
from reclaim.hashing.keypoints import (
    Features,
    features_from_bytes,
    features_from_luma,
    features_to_bytes,
    hamming_matrix,
    query_views,
)
from reclaim.hashing.media import MediaLimits, decode_image
from reclaim.index.features import FeatureIndex
from tests.conftest import photo_paths

HARNESS = Path(__file__).with_name("keypoints_node.mjs")
KEYPOINTS_JS = Path(__file__).resolve().parents[2] / "reclaim" / "web" / "static" / "keypoints.js"


def _run(node: str, jobs: list[dict[str, object]], pictures: list[np.ndarray]) -> list[object]:
    """The harness's results for ``jobs``, the n-th job over the n-th picture (a
    luminance, height x width) where it has one."""
    with tempfile.TemporaryDirectory() as folder:
        for number, (job, picture) in enumerate(zip(jobs, pictures, strict=True)):
            path = Path(folder) / f"picture-{number}.bin"
            path.write_bytes(np.ascontiguousarray(picture, np.uint8).tobytes())
            job.update(file=str(path), width=picture.shape[1], height=picture.shape[0])
        done = subprocess.run(
            [node, str(HARNESS)], input=json.dumps(jobs), capture_output=True, text=True, check=True
        )
    results: list[object] = json.loads(done.stdout)
    return results


def _bytes(result: object) -> bytes | None:
    return None if result is None else base64.b64decode(str(result))


@functools.cache
def _lumas() -> tuple[np.ndarray, ...]:
    """The luminance Reclaim decodes from every sample photo, then pictures that take the
    other paths: camera-sized ones, first reduced by a whole factor (3 and 4), and an
    odd-sized cut, enlarged to the base."""
    lumas = [decode_image(p.read_bytes(), p.name, MediaLimits()).luma for p in photo_paths()]
    bicubic = Image.Resampling.BICUBIC
    lumas.append(np.asarray(Image.fromarray(lumas[0]).resize((1700, 1100), bicubic)))
    lumas.append(np.asarray(Image.fromarray(lumas[4]).resize((1030, 2100), bicubic)))
    lumas.append(lumas[3][17:114, 5:208])
    return tuple(lumas)


@functools.cache
def _browser_payloads(node: str) -> tuple[bytes | None, ...]:
    """``keypointsFromLuma`` of each of ``_lumas``, run once per test process."""
    lumas = list(_lumas())
    results = _run(node, [{"op": "keypoints"} for _ in lumas], lumas)
    return tuple(_bytes(result) for result in results)


def test_the_pattern_and_the_gaussian_kernels_are_pythons(node: str) -> None:
    [constants] = _run(node, [{"op": "constants"}], [np.zeros((0, 0), np.uint8)])
    assert isinstance(constants, dict)
    assert constants["pattern"] == keypoints.PATTERN.ravel().tolist()
    for sigma, theirs in zip((1.5, 2.0), constants["kernels"], strict=True):
        assert np.array_equal(np.array(theirs, np.float32), keypoints._gaussian_kernel(sigma))


def test_resizing_and_reducing_equal_pillows_pixel_for_pixel(node: str) -> None:
    rng = np.random.default_rng(11)
    cases: list[tuple[np.ndarray, dict[str, object], np.ndarray]] = []
    for height, width in [(200, 300), (512, 512), (872, 1000), (131, 97), (769, 1003)]:
        picture = rng.integers(0, 256, (height, width), dtype=np.uint8)
        image = Image.fromarray(picture)
        # Down by fractions (the levels), up (a small picture to the base), one axis only.
        for size in [(512, 341), (394, 303), (77, 51), (width, 49), (53, height), (1, 1)]:
            expected = np.asarray(image.resize(size, Image.Resampling.BOX))
            cases.append((picture, {"op": "resize", "to": list(size)}, expected))
        for factor in (2, 3, 4, 5, 7):
            cases.append(
                (picture, {"op": "reduce", "factor": factor}, np.asarray(image.reduce(factor)))
            )
    results = _run(node, [job for _, job, _ in cases], [picture for picture, _, _ in cases])
    for (picture, job, expected), result in zip(cases, results, strict=True):
        theirs = np.frombuffer(_bytes(result) or b"", np.uint8)
        assert np.array_equal(theirs, expected.ravel()), (picture.shape, job)


def test_the_browsers_features_equal_pythons_plain_reference_bit_for_bit(
    node: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Python's plain numpy references in place of its compiled kernels: the JavaScript
    # follows them operation by operation, so the payloads must be the same bytes.
    monkeypatch.setattr(keypoints, "separable_filter", separable_filter_reference)
    monkeypatch.setattr(
        keypoints, "harris_response", lambda grey, window, k: keypoints.harris_reference(grey)
    )
    for luma, theirs in zip(_lumas(), _browser_payloads(node), strict=True):
        ours = features_to_bytes(features_from_luma(luma))
        assert theirs == ours, luma.shape


def _keyed(features: Features) -> dict[tuple[float, float, int], tuple[float, np.ndarray]]:
    """Each feature's angle and descriptor by its position and level."""
    return {
        (float(x), float(y), int(level)): (float(angle), descriptor)
        for (x, y), level, angle, descriptor in zip(
            features.xy, features.level, features.angle, features.descriptors, strict=True
        )
    }


def test_the_browsers_features_agree_with_what_python_registers(node: str) -> None:
    present = identical = total = 0
    worst_share, most_bits = 1.0, 0
    for luma, payload in zip(_lumas(), _browser_payloads(node), strict=True):
        ours_payload = _registered_features(luma)
        assert payload is not None and ours_payload is not None, luma.shape
        assert payload[:12] == ours_payload[:12], luma.shape  # base side, extent, count
        theirs, ours = (
            _keyed(features_from_bytes(payload)),
            _keyed(features_from_bytes(ours_payload)),
        )
        found = 0
        for key, (angle, descriptor) in ours.items():
            if key not in theirs or theirs[key][0] != angle:
                continue
            found += 1
            bits = int(hamming_matrix(descriptor[None], theirs[key][1][None])[0, 0])
            identical += bits == 0
            most_bits = max(most_bits, bits)
        present += found
        total += len(ours)
        worst_share = min(worst_share, found / len(ours))
    # Measured on the 29 pictures: all 7,262 corners at the same place, level and angle,
    # and all but one descriptor identical, that one a bit apart (brick.jpg); 28 payloads
    # byte for byte. The browser follows the plain references exactly (above); Python's
    # compiled kernels fuse multiply-adds as the CPU allows, and its own builds for two
    # CPUs differ by that bit. The bars leave room for a few such near-ties on another
    # CPU, no more: 7 corners in all, 5 of one picture, 7 descriptors, 2 bits.
    assert present / total >= 0.999 and worst_share >= 0.98, (present, total, worst_share)
    assert identical / present >= 0.999 and most_bits <= 2, (identical, present, most_bits)


def test_too_plain_a_picture_registers_nothing_and_a_wrong_size_is_refused(node: str) -> None:
    plain = [
        np.full((300, 400), 128, np.uint8),  # no corners
        np.zeros((8, 8), np.uint8),  # no level large enough
        np.asarray(Image.fromarray(_lumas()[0]).resize((600, 40))),  # a strip
    ]
    for picture in plain:
        assert _registered_features(picture) is None
    results = _run(node, [{"op": "keypoints"} for _ in plain], plain)
    assert results == [None, None, None]
    # Below the floor, the features themselves still agree (none, or the strip's few).
    results = _run(node, [{"op": "features"} for _ in plain], plain)
    for picture, result in zip(plain, results, strict=True):
        assert _bytes(result) == features_to_bytes(features_from_luma(picture))
    script = (
        f"import {{ keypointsFromLuma }} from {json.dumps(str(KEYPOINTS_JS))};"
        "try { keypointsFromLuma(new Uint8Array(10), 4, 4); }"
        "catch (e) { console.log(e.name + ': ' + e.message); }"
    )
    done = subprocess.run(
        [node, "--input-type=module", "-e", script], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "RangeError: luma holds 10 values, not 4 x 4"


#: Photos whose edited copies are looked for, and photos never registered.
_SOUGHT = ["astronaut.jpg", "brick.jpg", "camera.png", "chelsea.jpg", "hubble_deep_field.jpg",
           "rocket.jpg", "wikimedia01.jpg", "wikimedia08.jpg"]  # fmt: skip
_UNREGISTERED = ["coins.png", "moon.jpg"]

_EDITS: dict[str, Callable[[Image.Image], Image.Image]] = {
    "crop": lambda im: im.crop((im.width // 10, im.height // 10, im.width, im.height)),
    "border": lambda im: ImageOps.expand(im, border=max(im.size) // 10, fill=255),
    "half": lambda im: im.resize((im.width // 2, im.height // 2), Image.Resampling.BILINEAR),
}


def test_pythons_matcher_finds_edited_copies_by_the_browsers_features(node: str) -> None:
    # The matcher's feature index, once holding what the browser registered and once
    # what Python registers, as the stored payloads are read back. Measured: the same
    # matches and inlier counts for all 30 queries, each copy first with 41 inliers or
    # more (brick.jpg cropped), the unregistered photos matching nothing.
    names = [p.name for p in photo_paths()]
    browser, python = FeatureIndex(), FeatureIndex()
    for ident, (name, luma, payload) in enumerate(
        zip(names, _lumas(), _browser_payloads(node), strict=False)
    ):
        if name in _UNREGISTERED:
            continue
        ours = _registered_features(luma)
        assert payload is not None and ours is not None, name
        browser.add([(ident, features_from_bytes(payload, name))])
        python.add([(ident, features_from_bytes(ours, name))])
    for name in _SOUGHT + _UNREGISTERED:
        image = Image.fromarray(_lumas()[names.index(name)])
        for edit, apply in _EDITS.items():
            views = query_views(np.asarray(apply(image)))
            found = browser.search(views)
            assert found == python.search(views), (name, edit)
            if name in _UNREGISTERED:
                assert found == [], (name, edit)
            else:
                assert found and found[0].ident == names.index(name), (name, edit, found)
                assert found[0].inliers >= 2 * keypoints.MIN_INLIERS, (name, edit, found)


_REGISTER_IN_PAGE = """async (pictures) => {
  const { keypointsFromLuma } = await import("/static/keypoints.js");
  return pictures.map(({ luma, width, height }) => {
    const payload = keypointsFromLuma(Uint8Array.from(luma), width, height);
    return payload === null ? null : Array.from(payload);
  });
}"""


def test_chromium_registers_the_same_bytes_as_node(
    chromium: Browser, served: str, node: str
) -> None:
    # The module as the portal's pages load it: the same payloads as under Node.
    chosen = [0, 23]  # a square photo and the widest
    pictures = [
        {"luma": _lumas()[i].ravel().tolist(), "width": _lumas()[i].shape[1],
         "height": _lumas()[i].shape[0]}
        for i in chosen
    ]  # fmt: skip
    page = chromium.new_page()
    page.goto(served + "/")
    results = page.evaluate(_REGISTER_IN_PAGE, pictures)
    page.close()
    for i, theirs in zip(chosen, results, strict=True):
        assert theirs is not None and bytes(theirs) == _browser_payloads(node)[i], i
