"""How many edited copies of registered photos Reclaim finds, and how many false matches.

The corpus is real photos that ship inside packages: the sample photos in
``samples/photos`` (from scikit-image and Perception) and the photos among the sample
images of OpenCV's source distribution (fetched once from PyPI, the package registry, and
kept in ``~/.cache/reclaim-bench``). Sorted by name, every other photo is registered; the
rest are distractors. Every photo is edited with AugLy's transforms (the library Meta
used for the Image Similarity Challenge) in each transform class and in every pair of two
classes; the edited copies of registered photos should be found, those of distractors
never. Methods side by side: plain PDQ, PDQ with dihedral variants, and Reclaim's robust
matching.

    .venv/bin/python benchmarks/robustness.py [--draws N] [--pairs-draws N] [--json PATH]
"""

from __future__ import annotations

import argparse
import io
import itertools
import json
import sys
import tarfile
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final

import numpy as np
from PIL import Image, ImageFont

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import machine_info, print_table

ROOT: Final = Path(__file__).resolve().parents[1]
SAMPLES: Final = ROOT / "samples" / "photos"
CACHE: Final = Path.home() / ".cache" / "reclaim-bench"
OPENCV_SDIST: Final = (
    "https://files.pythonhosted.org/packages/6b/51/"
    "33b8c7255f3bdd920d6238aa478faf1e2136d5a51f17d826c13902ca7195/"
    "opencv_python_headless-5.1.0.95.tar.gz"
)
#: The photographs among OpenCV's sample images (not drawings, charts or calibration
#: boards), one of each stereo or sequence pair.
OPENCV_PHOTOS: Final = (
    "HappyFish.jpg", "aero1.jpg", "aloeL.jpg", "apple.jpg", "baboon.jpg",
    "basketball1.png", "board.jpg", "building.jpg", "butterfly.jpg", "castle.jpg",
    "chicky_512.png", "ela_original.jpg", "fruits.jpg", "gauge-1.jpg", "graf1.png",
    "home.jpg", "lena.jpg", "leuvenA.jpg", "messi5.jpg", "orange.jpg", "rgbd-color.jpg",
    "rubberwhale1.png", "smarties.png", "squirrel_cls.jpg", "stuff.jpg",
)  # fmt: skip
#: One of each pair of photos of one scene in samples/photos.
SAMPLE_EXCLUDED: Final = ("motorcycle_right.jpg",)
SEED: Final = 5
COMBINED: Final = "Reclaim robust"


def opencv_photos() -> list[Path]:
    folder = CACHE / "opencv-samples"
    wanted = [folder / name for name in OPENCV_PHOTOS]
    if all(path.exists() for path in wanted):
        return wanted
    folder.mkdir(parents=True, exist_ok=True)
    archive = CACHE / "opencv-sdist.tar.gz"
    if not archive.exists():
        print(f"fetching OpenCV's source distribution from PyPI into {archive}", file=sys.stderr)
        partial = archive.with_suffix(".partial")
        urllib.request.urlretrieve(OPENCV_SDIST, partial)
        partial.replace(archive)
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            name = member.name.rsplit("/", 1)[-1]
            if "/samples/data/" in member.name and name in OPENCV_PHOTOS:
                extracted = tar.extractfile(member)
                assert extracted is not None
                (folder / name).write_bytes(extracted.read())
    missing = [path.name for path in wanted if not path.exists()]
    if missing:
        raise SystemExit(f"not in OpenCV's source distribution: {missing}")
    return wanted


def corpus() -> list[Path]:
    samples = sorted(
        p for p in SAMPLES.iterdir()
        if p.suffix.lower() in {".jpg", ".png"} and p.name not in SAMPLE_EXCLUDED
    )  # fmt: skip
    return sorted([*samples, *opencv_photos()], key=lambda p: p.name.lower())


# --------------------------------------------------------------------------------------
# Transforms (AugLy, with its two functions that break on current Pillow patched here)


def _patch_augly() -> None:
    """AugLy 1.0 calls ``FreeTypeFont.getsize_multiline`` (removed in Pillow 10) in
    ``meme_format``, and ``np.float`` (removed in NumPy 1.24) in its perspective helpers."""
    if not hasattr(ImageFont.FreeTypeFont, "getsize_multiline"):

        def getsize_multiline(font: ImageFont.FreeTypeFont, text: str, **_: Any) -> tuple[int, int]:
            probe = Image.new("L", (1, 1))
            from PIL import ImageDraw  # noqa: PLC0415

            left, top, right, bottom = ImageDraw.Draw(probe).multiline_textbbox((0, 0), text, font)
            return int(right - left), int(bottom - top)

        ImageFont.FreeTypeFont.getsize_multiline = getsize_multiline  # type: ignore[attr-defined]
    if not hasattr(np, "float"):
        np.float = float  # type: ignore[attr-defined]


Transform = Callable[[Image.Image, np.random.Generator], Image.Image]


def _transforms() -> dict[str, Transform]:
    _patch_augly()
    import augly.image as aug  # noqa: PLC0415
    from augly.utils import EMOJI_DIR, SCREENSHOT_TEMPLATES_DIR  # noqa: PLC0415

    emojis = sorted(Path(EMOJI_DIR).rglob("*.png"))
    templates = [Path(SCREENSHOT_TEMPLATES_DIR) / name for name in ("web.png", "mobile.png")]

    def crop(side: float) -> Transform:
        def apply(image: Image.Image, rng: np.random.Generator) -> Image.Image:
            x, y = rng.uniform(0, 1 - side, 2)
            return aug.crop(image, x1=x, y1=y, x2=x + side, y2=y + side)

        return apply

    def rotate(degrees: float) -> Transform:
        return lambda image, rng: aug.rotate(image, degrees=float(degrees * rng.choice([-1, 1])))

    def border(image: Image.Image, rng: np.random.Generator) -> Image.Image:
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        return aug.pad(image, w_factor=0.15, h_factor=0.15, color=colour)

    def quarter(image: Image.Image, rng: np.random.Generator) -> Image.Image:
        turn = [Image.Transpose.ROTATE_90, Image.Transpose.ROTATE_180, Image.Transpose.ROTATE_270]
        return image.transpose(turn[int(rng.integers(0, 3))])

    def emoji(image: Image.Image, rng: np.random.Generator) -> Image.Image:
        x, y = rng.uniform(0, 0.7, 2)
        path = str(emojis[int(rng.integers(0, len(emojis)))])
        return aug.overlay_emoji(image, emoji_path=path, emoji_size=0.3, x_pos=x, y_pos=y)

    def text(image: Image.Image, rng: np.random.Generator) -> Image.Image:
        indices = [[int(i) for i in rng.integers(0, 1000, int(rng.integers(5, 12)))]]
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        return aug.overlay_text(
            image, text=indices, font_size=float(rng.uniform(0.1, 0.2)), color=colour,
            x_pos=float(rng.uniform(0, 0.4)), y_pos=float(rng.uniform(0, 0.8)),
        )  # fmt: skip

    def meme(image: Image.Image, rng: np.random.Generator) -> Image.Image:
        words = ["when", "you", "see", "it", "lol", "me", "every", "time", "mood"]
        caption = " ".join(rng.choice(words, 3))
        return aug.meme_format(
            image.convert("RGB"), text=caption, caption_height=max(40, image.height // 5)
        )

    def screenshot(image: Image.Image, rng: np.random.Generator) -> Image.Image:
        template = str(templates[int(rng.integers(0, len(templates)))])
        return aug.overlay_onto_screenshot(image.convert("RGB"), template_filepath=template)

    def jitter(image: Image.Image, rng: np.random.Generator) -> Image.Image:
        b, c, s = rng.uniform(0.6, 1.4), rng.uniform(0.6, 1.4), rng.uniform(0.4, 1.6)
        return aug.color_jitter(image, brightness_factor=b, contrast_factor=c, saturation_factor=s)

    def aspect(image: Image.Image, rng: np.random.Generator) -> Image.Image:
        change = rng.uniform(1.25, 1.5) ** rng.choice([-1, 1])
        return aug.change_aspect_ratio(image, ratio=image.width / image.height * change)

    return {
        "crop 90%": crop(0.9),
        "crop 70%": crop(0.7),
        "border 15%": border,
        "rotate 5°": rotate(5),
        "rotate 15°": rotate(15),
        "mirror": lambda image, rng: image.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
        "rotate 90/180/270°": quarter,
        "emoji 30%": emoji,
        "text": text,
        "meme caption": meme,
        "screenshot": screenshot,
        "colour jitter": jitter,
        "greyscale": lambda image, rng: aug.grayscale(image),
        "blur": lambda image, rng: aug.blur(image, radius=2.0),
        "JPEG 20": lambda image, rng: aug.encoding_quality(image.convert("RGB"), quality=20),
        "scale 0.3": lambda image, rng: aug.scale(image, factor=0.3),
        "aspect ratio": aspect,
    }


# --------------------------------------------------------------------------------------
# Methods


class Method:
    name: str

    def register(self, ident: int, luma: np.ndarray) -> None:
        raise NotImplementedError

    def query(self, luma: np.ndarray) -> set[int]:
        raise NotImplementedError


class PlainPdq(Method):
    name = "plain PDQ"

    def __init__(self, threshold: int = 31) -> None:
        from reclaim.hashing.pdq import pdq_from_luma  # noqa: PLC0415

        self.hash = pdq_from_luma
        self.threshold = threshold
        self.codes: list[tuple[int, int]] = []

    def register(self, ident: int, luma: np.ndarray) -> None:
        self.codes.append((ident, int(self.hash(luma).hex, 16)))

    def _variants(self, luma: np.ndarray) -> list[int]:
        return [int(self.hash(luma).hex, 16)]

    def query(self, luma: np.ndarray) -> set[int]:
        found = set()
        for code in self._variants(luma):
            for ident, stored in self.codes:
                if (code ^ stored).bit_count() <= self.threshold:
                    found.add(ident)
        return found


class DihedralPdq(PlainPdq):
    name = "PDQ + dihedral"

    def _variants(self, luma: np.ndarray) -> list[int]:
        from reclaim.hashing.pdq import dihedral_from_luma  # noqa: PLC0415

        return [int(h.hex, 16) for h in dihedral_from_luma(luma).as_tuple()]


class Keypoints(Method):
    """Local features through Reclaim's own index (``reclaim.index.features``): descriptor
    votes pick candidates, geometric verification decides; a match needs
    ``keypoints.MIN_INLIERS`` corners explained by one plausible transform."""

    name = "local features"

    def __init__(self) -> None:
        from reclaim.hashing import keypoints  # noqa: PLC0415
        from reclaim.index.features import FeatureIndex  # noqa: PLC0415

        self.k = keypoints
        self.index = FeatureIndex()
        self.last_scores: dict[int, int] = {}

    def register(self, ident: int, luma: np.ndarray) -> None:
        self.index.add([(ident, self.k.features_from_luma(luma))])

    def query(self, luma: np.ndarray) -> set[int]:
        # Every verified candidate with its inliers, to report how close wrong photos come.
        found = self.index.search(self.k.query_views(luma), min_inliers=1)
        self.last_scores = {m.ident: m.inliers for m in found}
        return {m.ident for m in found if m.inliers >= self.k.MIN_INLIERS}


# --------------------------------------------------------------------------------------


def luma_of(image: Image.Image) -> np.ndarray:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "PNG")
    from reclaim.hashing.media import MediaLimits, decode_image  # noqa: PLC0415

    return decode_image(buffer.getvalue(), "query", MediaLimits()).luma


@dataclass
class Tally:
    found: dict[str, list[int]] = field(default_factory=dict)  # edit -> [found, copies]
    false_matches: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    queries: int = 0


@dataclass
class Evaluation:
    tallies: dict[str, Tally]
    #: local features: the inliers of each registered photo's edited copies, per edit.
    true_scores: dict[str, list[int]] = field(default_factory=dict)
    #: local features: the most inliers any wrong photo reached.
    strongest_wrong: int = 0


def evaluate(
    methods: Sequence[Method],
    *,
    keypoints: Keypoints,
    combos: Sequence[tuple[str, ...]],
    transforms: dict[str, Transform],
    photos: tuple[list[Path], list[Path]],
    draws: tuple[int, int],
) -> Evaluation:
    registered, distractors = photos
    result = Evaluation({m.name: Tally() for m in methods} | {COMBINED: Tally()})
    images = {path: Image.open(path).convert("RGB") for path in [*registered, *distractors]}
    for ident, path in enumerate(registered):
        luma = luma_of(images[path])
        for method in methods:
            method.register(ident, luma)
    rng = np.random.default_rng(SEED)
    started = time.perf_counter()
    queries = [*enumerate(registered), *((-1, p) for p in distractors)]
    for number, combo in enumerate(combos):
        label = " + ".join(combo)
        for ident, path in queries:
            for _ in range(draws[0] if len(combo) == 1 else draws[1]):
                edited = images[path]
                for name in combo:
                    edited = transforms[name](edited, rng)
                luma = luma_of(edited)
                found = {
                    method.name: _score(
                        result, method, keypoints, label=label, ident=ident, luma=luma
                    )
                    for method in methods
                }
                # Reclaim's robust matching: PDQ with its dihedral variants, or local features.
                _count(
                    result.tallies[COMBINED],
                    found[DihedralPdq.name] | found[keypoints.name],
                    label,
                    ident,
                    0.0,  # the time of its parts, added up in the report
                )
        progress = ", ".join(
            f"{m.name} {result.tallies[m.name].found[label][0]}/"
            f"{result.tallies[m.name].found[label][1]}"
            for m in methods
        )
        print(
            f"  {number + 1}/{len(combos)} {label}: {progress} "
            f"({time.perf_counter() - started:.0f} s)",
            file=sys.stderr,
            flush=True,
        )
    return result


def _score(
    result: Evaluation, method: Method, keypoints: Keypoints, *, label: str, ident: int, luma: Any
) -> set[int]:
    began = time.perf_counter()
    found = method.query(luma)
    _count(result.tallies[method.name], found, label, ident, time.perf_counter() - began)
    if method is keypoints:
        scores = keypoints.last_scores
        result.strongest_wrong = max(
            [result.strongest_wrong, *(v for i, v in scores.items() if i != ident)]
        )
        if ident >= 0:
            result.true_scores.setdefault(label, []).append(scores.get(ident, 0))
    return found


def _count(tally: Tally, found: set[int], label: str, ident: int, seconds: float) -> None:
    tally.seconds += seconds
    tally.queries += 1
    if ident >= 0:
        hit = tally.found.setdefault(label, [0, 0])
        hit[1] += 1
        hit[0] += ident in found
    wrong = found - {ident}
    if wrong:
        tally.false_matches[label] = tally.false_matches.get(label, 0) + len(wrong)


def report(
    result: Evaluation, methods: Sequence[Method], combos: Sequence[tuple[str, ...]]
) -> None:
    names = [m.name for m in methods] + [COMBINED]
    rows = []
    for combo in combos:
        label = " + ".join(combo)
        row = [label]
        for name in names:
            hits, total = result.tallies[name].found[label]
            row.append(f"{100 * hits / total:.0f}%")
        row += [str(result.tallies[name].false_matches.get(label, 0)) for name in names]
        rows.append(row)
    print()
    print_table(
        ["edit", *[f"{name} found" for name in names], *[f"{name} false" for name in names]],
        rows,
    )
    for name in names:
        tally = result.tallies[name]
        found = sum(f[0] for f in tally.found.values())
        copies = sum(f[1] for f in tally.found.values())
        summary = f"{found} of {copies} copies found"
        print(f"{name}: {summary}, {sum(tally.false_matches.values())} false matches")
    for method in methods:
        tally = result.tallies[method.name]
        print(f"{method.name}: {1000 * tally.seconds / tally.queries:.1f} ms per query")
    robust = result.tallies[DihedralPdq.name].seconds + result.tallies[methods[-1].name].seconds
    print(f"{COMBINED}: {1000 * robust / result.tallies[COMBINED].queries:.1f} ms per query")
    weakest = "; ".join(f"{label} {sorted(v)[:3]}" for label, v in result.true_scores.items())
    print(
        f"local features: the strongest wrong photo had {result.strongest_wrong} inliers; "
        f"the weakest true copies per edit: {weakest}"
    )


# --------------------------------------------------------------------------------------
# What a query costs, end to end through Reclaim: the uploaded file's bytes decoded,
# fingerprinted and matched against a bank holding the registered photos.

SIZES: Final = {"corpus size": None, "1080 x 1350": (1080, 1350), "4032 x 3024": (4032, 3024)}


def query_cost(registered: Sequence[Path], queries: Sequence[Path], rounds: int = 3) -> None:
    import tempfile  # noqa: PLC0415

    from reclaim.hashing.files import FingerprintOptions, fingerprint_data  # noqa: PLC0415
    from reclaim.hashlists import signals_of_record  # noqa: PLC0415
    from reclaim.matching import Matcher  # noqa: PLC0415
    from reclaim.store import BankRepository, SignalRepository, Store  # noqa: PLC0415

    plain = FingerprintOptions()
    robust = FingerprintOptions(dihedral=True, query_features=True)
    with tempfile.TemporaryDirectory() as folder:
        store = Store.open(f"sqlite:///{folder}/bench.db")
        register = FingerprintOptions(keypoints=True)
        with store.write() as session:
            bank = BankRepository(session).bank_create("REGISTERED", "survivor")
            signals = []
            for path in registered:
                record = fingerprint_data(path.read_bytes(), path.name, register).to_record()
                signals += signals_of_record(record, 50)[0]
            SignalRepository(session).signal_add_many(bank.id, list(dict.fromkeys(signals)))
        matcher = Matcher(store)
        rows = []
        for label, size in SIZES.items():
            files = [_encoded(path, size) for path in queries]
            timings: dict[str, list[float]] = {"plain": [], "robust": [], "robust match": []}
            for _ in range(rounds):
                for data in files:
                    for mode, options in (("plain", plain), ("robust", robust)):
                        began = time.perf_counter()
                        result = fingerprint_data(data, "query.jpg", options)
                        fingerprinted = time.perf_counter()
                        matcher.match(result.query_signals(50), views=result.views or ())
                        timings[mode].append(time.perf_counter() - began)
                        if mode == "robust":
                            timings["robust match"].append(time.perf_counter() - fingerprinted)
            plain_ms, robust_ms, match_ms = (
                1000 * float(np.median(timings[mode])) for mode in timings
            )
            rows.append(
                [
                    label,
                    f"{plain_ms:.1f}",
                    f"{robust_ms:.1f}",
                    f"{match_ms:.1f}",
                    f"{robust_ms / plain_ms:.1f}x",
                ]
            )
        store.close()
    print("\nQuery cost, median per uploaded JPEG (decode, fingerprint, match):")
    print_table(
        ["upload size", "plain PDQ ms", "robust ms", "of which match ms", "robust / plain"], rows
    )


def bank_scale(photos: Sequence[Path], sizes: Sequence[int]) -> None:
    """Search time and memory of the feature index as the bank grows. The bank is the
    registered photos' real features, repeated with 8% of each descriptor's bits flipped
    (so pieces keep the skew of real descriptors); the queries are edited distractors,
    as most uploads match nothing."""
    import tracemalloc  # noqa: PLC0415

    from reclaim.hashing import keypoints  # noqa: PLC0415
    from reclaim.index.features import FeatureIndex  # noqa: PLC0415

    rng = np.random.default_rng(SEED)
    originals = [keypoints.features_from_luma(luma_of(Image.open(p))) for p in photos[0::2]]
    queries = [
        keypoints.query_views(luma_of(Image.open(p).rotate(7, expand=True)))
        for p in photos[1::2][:10]
    ]
    rows = []
    for size in sizes:
        tracemalloc.start()
        index = FeatureIndex()
        batch = []
        for ident in range(size):
            source = originals[ident % len(originals)]
            flips = rng.random((len(source), 256)) < 0.08
            noise = np.packbits(flips, axis=1, bitorder="little")
            batch.append((ident, replace(source, descriptors=source.descriptors ^ noise)))
            if len(batch) == 1000:
                index.add(batch)
                batch = []
        index.add(batch)
        held = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        began = time.perf_counter()
        for views in queries:
            index.search(views)
        search_ms = 1000 * (time.perf_counter() - began) / len(queries)
        rows.append([f"{size:,}", f"{search_ms:.1f}", f"{held / size / 1024:.1f}"])
    print("\nFeature index by bank size (search of one query's two views, memory per image):")
    print_table(["registered images", "search ms", "KiB per image"], rows)


def _encoded(path: Path, size: tuple[int, int] | None) -> bytes:
    image = Image.open(path).convert("RGB")
    if size is not None:
        wide = image.width >= image.height
        image = image.resize(size if wide else size[::-1], Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def _override(setting: str) -> str:
    """Change one module-level setting of the matching code for this run."""
    from reclaim.hashing import keypoints  # noqa: PLC0415
    from reclaim.index import features  # noqa: PLC0415

    name, _, text = setting.partition("=")
    modules = [m for m in (keypoints, features) if name.isupper() and hasattr(m, name)]
    if not modules or not text:
        raise SystemExit(f"--set {setting!r}: not NAME=VALUE of a setting of those modules")
    current = getattr(modules[0], name)
    if isinstance(current, bool) or not isinstance(current, (int, float)):
        raise SystemExit(f"--set {setting!r}: {name} is not a number")
    try:
        value = type(current)(float(text))
    except ValueError:
        raise SystemExit(f"--set {setting!r}: {text!r} is not a number") from None
    for module in modules:
        setattr(module, name, value)
    return f"{name} = {value} (was {current})"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--draws", type=int, default=2, help="edits per photo and class")
    parser.add_argument("--pairs-draws", type=int, default=1, help="edits per photo and pair")
    parser.add_argument("--no-pairs", action="store_true", help="single edits only")
    parser.add_argument("--only", default="", help="comma-separated edit classes to run")
    parser.add_argument("--json", type=Path, help="also write the tallies as JSON here")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="run with a setting of reclaim.hashing.keypoints or reclaim.index.features "
        "changed (e.g. REGISTERED_SHARE_EXPONENT=1.0), to measure a lever; repeatable",
    )
    parser.add_argument("--cost-only", action="store_true", help="only measure what a query costs")
    parser.add_argument(
        "--scale",
        default="",
        help="comma-separated bank sizes: measure the feature index's search time and "
        "memory at each, and stop",
    )
    args = parser.parse_args(argv)
    for setting in args.set:
        print(f"setting {_override(setting)}")

    print("Machine")
    for key, value in machine_info(["numpy", "pillow", "augly"]).items():
        print(f"  {key + ':':12} {value}")
    photos = corpus()
    registered, distractors = photos[0::2], photos[1::2]
    print(
        f"\nCorpus: {len(photos)} photos; {len(registered)} registered, "
        f"{len(distractors)} distractors"
    )
    if args.scale:
        bank_scale(photos, [int(n) for n in args.scale.split(",")])
        return 0
    if args.scale:
        bank_scale(photos, [int(n) for n in args.scale.split(",")])
        return 0
    query_cost(registered, photos)
    if args.cost_only:
        return 0
    transforms = _transforms()
    classes = [c for c in transforms if not args.only or c in args.only.split(",")]
    combos: list[tuple[str, ...]] = [(c,) for c in classes]
    if not args.no_pairs:
        combos += list(itertools.combinations(classes, 2))
    keypoints = Keypoints()
    methods: list[Method] = [PlainPdq(), DihedralPdq(), keypoints]
    result = evaluate(
        methods,
        keypoints=keypoints,
        combos=combos,
        transforms=transforms,
        photos=(registered, distractors),
        draws=(args.draws, args.pairs_draws),
    )
    report(result, methods, combos)
    if args.json:
        args.json.write_text(
            json.dumps({name: vars(t) for name, t in result.tallies.items()}, indent=1)
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
