"""Photograph each page of the survivor portal at desktop and phone size, in English and
Korean, into docs/screenshots/ (run by hand after changing a page; needs chromium and the
Nanum fonts: `bash scripts/install-chromium.sh`).

    .venv/bin/python scripts/portal-screenshots.py
"""

from __future__ import annotations

import io
import shutil
import sys
import tempfile
from pathlib import Path

from PIL import Image
from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from reclaim.settings import Settings  # noqa: E402
from tests.web.live import running  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
SIZES = {"desktop": (1100, 800), "phone": (390, 844)}
PHOTOS = [ROOT / "samples" / "photos" / name for name in ("chelsea.jpg", "coffee.jpg")]


def keep(page: Page, name: str) -> None:
    """A full-page screenshot, reduced to a 256-colour PNG (pages are flat colours)."""
    shot = Image.open(io.BytesIO(page.screenshot(full_page=True)))
    shot.convert("RGB").quantize(256).save(OUT / f"{name}.png", optimize=True)
    print(f"docs/screenshots/{name}.png")


def photograph(page: Page, base: str, language: str, size: str) -> None:
    tag = f"{language}-{size}"
    page.goto(f"{base}/?lang={language}")
    keep(page, f"home-{tag}")
    page.goto(f"{base}/submit")
    page.get_by_test_id("file-input").set_input_files([str(p) for p in PHOTOS])
    page.wait_for_function("() => !document.querySelector('[data-testid=submit]').disabled")
    keep(page, f"submit-{tag}")
    page.get_by_test_id("submit").click()
    page.wait_for_load_state()
    keep(page, f"receipt-{tag}")
    number = page.get_by_test_id("receipt-number").inner_text()
    pin = page.get_by_test_id("receipt-pin").inner_text()
    page.get_by_test_id("saved").click()
    keep(page, f"case-open-{tag}")
    page.get_by_test_id("case-number").fill(number)
    page.get_by_test_id("case-pin").fill(pin)
    page.get_by_test_id("open").click()
    page.wait_for_load_state()
    keep(page, f"case-{tag}")
    page.get_by_test_id("withdraw-confirm").check()
    page.get_by_test_id("withdraw").click()
    page.wait_for_load_state()
    keep(page, f"case-withdrawn-{tag}")
    page.get_by_test_id("close").click()
    page.goto(f"{base}/no-such-page")
    keep(page, f"error-{tag}")


def main() -> None:
    chromium = shutil.which("chromium")
    if chromium is None:
        sys.exit("chromium is missing: bash scripts/install-chromium.sh")
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(database_url=f"sqlite:///{folder}/portal.db",
                            index_dir=f"{folder}/index", environment="test")  # fmt: skip
        with running(settings) as live, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            for size, (width, height) in SIZES.items():
                for language in ("en", "ko"):
                    context = browser.new_context(
                        viewport={"width": width, "height": height},
                        device_scale_factor=1,
                        locale="ko-KR" if language == "ko" else "en-GB",
                    )
                    photograph(context.new_page(), live.base, language, size)
                    context.close()
            browser.close()


if __name__ == "__main__":
    main()
