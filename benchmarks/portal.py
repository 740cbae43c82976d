"""How long a survivor's browser takes to fingerprint photos in the portal, against
Reclaim's Python and the reference PDQ on the same files.

Every photo in ``samples/photos`` (or ``--images DIR``) is resized (Pillow LANCZOS) to
1000x750 and to a phone camera's 4032x3024 (12 MP) and saved as a JPEG of quality 90. In
headless Chromium (Debian's ``chromium``, driven by Playwright) the portal's own modules
then fingerprint each file as the portal does — MD5 and SHA-256 of the bytes, the
browser's decoding (EXIF orientation, over white) to luminance, PDQ, local features —
timed stage by stage on the page's thread, and then whole, through the portal's workers
(``fingerprintAll``: two files at a time where the machine has two cores). Beside them,
in this process on one thread: Reclaim's ``fingerprint_file`` (MD5, SHA-256, PDQ and
local features, file path to record) and threatexchange's PDQ (the reference; PDQ
alone). Each figure is the median over ``--repeat`` rounds after one warm-up round. The
browser's PDQ of each file (Chromium's decoding) is compared with Python's.

Run with ``make bench`` or ``.venv/bin/python benchmarks/portal.py [--repeat N]``.
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from common import (
    JPEG_QUALITY,
    build_test_set,
    machine_info,
    parse_photo_args,
    print_table,
    write_json,
)
from playwright.sync_api import Page, sync_playwright
from threadpoolctl import threadpool_limits
from threatexchange.signal_type.pdq.signal import PdqSignal

from reclaim.hashing.files import FileFingerprint, FingerprintOptions, fingerprint_file

REPO = Path(__file__).resolve().parent.parent
STATIC = REPO / "reclaim" / "web" / "static"
SIZES = {"1000x750": (1000, 750), "12 MP": (4032, 3024)}
DEFAULT_REPEAT = 3
STAGES = ("digests", "decode", "pdq", "keypoints")
#: What every browser decodes (a folder's TIFF or HEIC files are left out of the last line).
BROWSER_FORMATS = frozenset({".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp"})
OPTIONS = FingerprintOptions(keypoints=True)

# One round over the files on the page's thread, each stage timed apart; ms per file.
_STAGES_IN_PAGE = """async (names) => {
  const { pdqFromLuma } = await import("/static/pdq.js");
  const { fileDigests } = await import("/static/digests.js");
  const { keypointsFromLuma } = await import("/static/keypoints.js");
  const { lumaOf } = await import("/static/fingerprints.js");
  const blobs = await Promise.all(names.map(async (n) => (await fetch("/set/" + n)).blob()));
  const times = [];
  const hashes = [];
  for (const blob of blobs) {
    const t = [performance.now()];
    await fileDigests(blob);
    t.push(performance.now());
    const { luma, width, height } = await lumaOf(blob); // the portal's own decoding
    t.push(performance.now());
    hashes.push(pdqFromLuma(luma, width, height).hex);
    t.push(performance.now());
    keypointsFromLuma(luma, width, height);
    t.push(performance.now());
    times.push(t.slice(1).map((v, i) => v - t[i]));
  }
  return { times, hashes };
}"""

# One round over the files through the portal's workers; ms for the whole set.
_WORKERS_IN_PAGE = """async (names) => {
  const { fingerprintAll } = await import("/static/portal.js");
  const files = await Promise.all(names.map(async (n) =>
    new File([await (await fetch("/set/" + n)).blob()], n, { type: "image/jpeg" })));
  const start = performance.now();
  const results = await fingerprintAll(files, 50, () => {}, () => {}, new AbortController().signal);
  const elapsed = performance.now() - start;
  const made = results.filter((r) => r.kind === "image").length;
  if (made !== files.length) throw new Error(`only ${made} of ${files.length} fingerprinted`);
  return elapsed;
}"""


@contextmanager
def serving(files: Path) -> Iterator[str]:
    """A local server: ``/static/`` the portal's scripts, ``/set/`` the test set, ``/`` an
    empty page (so the scripts load from its origin). Its address."""

    class Handler(SimpleHTTPRequestHandler):
        def translate_path(self, path: str) -> str:
            name = Path(path.split("?", maxsplit=1)[0]).name
            if path.startswith("/static/"):
                return str(STATIC / name)
            if path.startswith("/set/"):
                return str(files / name)
            return str(files / "index.html")

        def log_message(self, format: str, *args: object) -> None:
            pass

    Handler.extensions_map = {**Handler.extensions_map, ".js": "text/javascript"}
    (files / "index.html").write_text("<!doctype html><title>bench</title>\n")
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def browser_figures(
    page: Page, names: list[str], repeat: int
) -> tuple[dict[str, float], list[str]]:
    """Median ms per photo of each stage on the page's thread, their sum, and the ms per
    photo through the workers; and the browser's PDQ of each photo."""
    rounds: list[list[list[float]]] = []
    hashes: list[str] = []
    for round_ in range(repeat + 1):
        answer = page.evaluate(_STAGES_IN_PAGE, names)
        hashes = answer["hashes"]
        if round_:
            rounds.append(answer["times"])
    figures = {
        stage: statistics.median(statistics.mean(t[i] for t in times) for times in rounds)
        for i, stage in enumerate(STAGES)
    }
    figures["page, one file at a time"] = sum(figures[s] for s in STAGES)
    started: list[str] = []
    page.on("request", lambda request: started.append(request.url))
    wholes = [page.evaluate(_WORKERS_IN_PAGE, names) for _ in range(repeat + 1)][1:]
    if not any(url.endswith("/static/hasher.js") for url in started):
        raise RuntimeError("the portal's workers did not start: the page hashed alone")
    figures["workers"] = statistics.median(wholes) / len(names)
    return figures, hashes


def bits_apart(first: str, second: str) -> int:
    return (int(first, 16) ^ int(second, 16)).bit_count()


def python_ms(hasher: Callable[[Path], object], paths: Sequence[Path], repeat: int) -> float:
    """Median ms per photo of ``hasher`` over the set, on one thread."""
    rounds = []
    with threadpool_limits(limits=1):
        for round_ in range(repeat + 1):
            start = time.perf_counter()
            for path in paths:
                hasher(path)
            if round_:
                rounds.append((time.perf_counter() - start) * 1000 / len(paths))
    return statistics.median(rounds)


def reclaim_python(path: Path) -> FileFingerprint:
    result = fingerprint_file(path, OPTIONS)
    if result.pdq is None or result.keypoints is None:
        raise RuntimeError(f"Reclaim could not fingerprint {path}: {result.error}")
    return result


def python_pdq(path: Path) -> str:
    """Reclaim's Python PDQ of a file, as ``reclaim hash`` makes it."""
    result = fingerprint_file(path, FingerprintOptions())
    if result.pdq is None:
        raise RuntimeError(f"Reclaim could not hash {path}: {result.error}")
    return result.pdq


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_photo_args(__doc__.splitlines()[0], DEFAULT_REPEAT, argv)
    chromium = shutil.which("chromium")
    if chromium is None:
        print("chromium is not installed: run scripts/install-chromium.sh", file=sys.stderr)
        return 1
    machine = machine_info(("numpy", "pillow", "threatexchange", "playwright"))
    report: dict[str, Any] = {"machine": machine, "repeat": args.repeat, "sizes": {}}
    with tempfile.TemporaryDirectory(prefix="reclaim-bench-") as folder, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        machine["chromium"] = browser.version
        print("Machine")
        for key, value in machine.items():
            print(f"  {key + ':':<15} {value}")
        for label, size in SIZES.items():
            files = Path(folder) / label.replace(" ", "")
            paths = build_test_set(args.images, files, size)
            if not paths:
                print(f"no images found in {args.images}", file=sys.stderr)
                return 1
            kib = statistics.mean(p.stat().st_size for p in paths) / 1024
            print(
                f"\n{len(paths)} photos at {size[0]}x{size[1]} ({label}), JPEG quality "
                f"{JPEG_QUALITY}, mean {kib:.0f} KiB; median of {args.repeat} rounds"
            )
            with serving(files) as base:
                page = browser.new_page()
                page.goto(base + "/")
                figures, hashes = browser_figures(page, [p.name for p in paths], args.repeat)
                page.close()
            apart = [bits_apart(h, python_pdq(p)) for h, p in zip(hashes, paths, strict=True)]
            figures["Reclaim Python"] = python_ms(reclaim_python, paths, args.repeat)
            figures["threatexchange PDQ"] = python_ms(PdqSignal.hash_from_file, paths, args.repeat)
            report["sizes"][label] = {
                "photos": len(paths), "ms_per_photo": figures, "pdq_bits_apart": apart,
            }  # fmt: skip
            python = figures["Reclaim Python"]
            rows = [
                (f"browser: {stage}", f"{figures[stage]:.0f}", "") for stage in STAGES
            ] + [
                (f"browser: {name}", f"{figures[name]:.0f}", f"{figures[name] / python:.1f}x")
                for name in ("page, one file at a time", "workers")
            ] + [
                ("Reclaim Python (one thread)", f"{python:.0f}", "1.0x"),
                ("threatexchange PDQ alone (one thread)", f"{figures['threatexchange PDQ']:.0f}",
                 f"{figures['threatexchange PDQ'] / python:.1f}x"),
            ]  # fmt: skip
            print_table(("what", "ms/photo", "time / Reclaim Python"), rows)
            print(
                f"Browser PDQ vs Reclaim's Python PDQ of the same files: mean "
                f"{statistics.mean(apart):.2f} bits, max {max(apart)}, "
                f"{apart.count(0)} of {len(apart)} identical"
            )
        originals = Path(folder) / "originals"
        originals.mkdir()
        paths = [
            Path(shutil.copy(p, originals)) for p in sorted(args.images.iterdir())
            if p.is_file() and p.suffix.lower() in BROWSER_FORMATS
        ]  # fmt: skip
        with serving(originals) as base:
            page = browser.new_page()
            page.goto(base + "/")
            hashes = page.evaluate(_STAGES_IN_PAGE, [p.name for p in paths])["hashes"]
            page.close()
        apart = [bits_apart(h, python_pdq(p)) for h, p in zip(hashes, paths, strict=True)]
        report["originals"] = {"photos": len(paths), "pdq_bits_apart": apart}
        print(
            f"\nBrowser PDQ vs Reclaim's Python PDQ of the {len(paths)} photos as they are "
            f"(PNG, EXIF orientation, progressive JPEG...): mean {statistics.mean(apart):.2f} "
            f"bits, max {max(apart)}, {apart.count(0)} of {len(apart)} identical"
        )
        browser.close()
    if args.json is not None:
        write_json(args.json, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
