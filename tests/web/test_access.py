"""The portal is usable with the keyboard alone, readable, and fits a phone: checked in
headless Chromium on every page, in both languages, at desktop and phone size."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page

from reclaim.settings import Settings
from tests.web.live import Live, running

SIZES = {"desktop": (1280, 800), "phone": (375, 667)}
PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"

# WCAG's contrast ratio of every visible piece of text against the first opaque
# background behind it: the smallest found, with what it was.
_LOWEST_CONTRAST = """() => {
  const channel = (c) => {
    c /= 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  const luminance = ([r, g, b]) => 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  const rgba = (text) => (text.match(/[\\d.]+/g) || []).map(Number);
  const background = (element) => {
    for (let e = element; e; e = e.parentElement) {
      const [r, g, b, a = 1] = rgba(getComputedStyle(e).backgroundColor);
      if (a > 0.5) return [r, g, b];
    }
    return [255, 255, 255];
  };
  let lowest = { ratio: 21, text: "" };
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const element = node.parentElement;
    if (!node.textContent.trim() || !element.checkVisibility()) continue;
    const style = getComputedStyle(element);
    const pair = [luminance(rgba(style.color)), luminance(background(element))];
    const [l1, l2] = pair.sort((a, b) => b - a);
    const ratio = (l1 + 0.05) / (l2 + 0.05);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
    const needed = large ? 3 : 4.5;
    if (ratio / needed < lowest.ratio / (lowest.needed || 4.5)) {
      lowest = { ratio, needed, text: node.textContent.trim().slice(0, 60) };
    }
  }
  return lowest;
}"""


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    folder = tmp_path_factory.mktemp("access")
    settings = Settings(database_url=f"sqlite:///{folder / 'portal.db'}",
                        index_dir=str(folder / "index"), environment="test")  # fmt: skip
    with running(settings) as serving:
        yield serving


def _case(live: Live) -> tuple[str, str]:
    """A case made through the pages (over HTTP, as a form post would)."""
    with httpx.Client(base_url=live.base) as client:
        token = re.search(r'name="csrf" value="([^"]+)"', client.get("/submit").text)
        assert token
        fingerprints = json.dumps([{"type": "pdq", "value": PDQ, "quality": 90}])
        client.post("/submit", data={"csrf": token.group(1), "fingerprints": fingerprints})
        receipt = client.get("/submit/done").text
    number = re.search(r'receipt-number">([^<]+)<', receipt)
    pin = re.search(r'receipt-pin">([^<]+)<', receipt)
    assert number and pin
    return number.group(1), pin.group(1)


def _open_with_keyboard(page: Page, number: str, pin: str) -> None:
    """Reach the case number field by Tab alone, type, Tab to the PIN, type, Enter."""
    for _ in range(20):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.dataset.testid") == "case-number":
            break
    else:
        raise AssertionError("Tab never reached the case number field")
    page.keyboard.type(number)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.dataset.testid") == "case-pin"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none", "the focused field shows no focus"
    page.keyboard.type(pin)
    page.keyboard.press("Enter")
    page.wait_for_load_state()


@pytest.mark.parametrize("language", ["en", "ko"])
@pytest.mark.parametrize("size", list(SIZES))
def test_every_page_fits_reads_and_works_by_keyboard(
    chromium: Browser, live: Live, language: str, size: str
) -> None:
    width, height = SIZES[size]
    context = chromium.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    number, pin = _case(live)
    for path in ("/no-such-page", "/", "/submit", "/case"):  # the first: the error page
        page.goto(f"{live.base}{path}?lang={language}")
        _check(page, path)
        if path == "/no-such-page":
            assert page.get_by_test_id("error").is_visible(), "no error page for a lost visitor"
    _open_with_keyboard(page, number, pin)
    assert page.get_by_test_id("case-status").get_attribute("data-status") == "active"
    _check(page, "the case")
    page.keyboard.press("Tab")  # the skip link comes first and leads to the content
    assert page.evaluate("document.activeElement.getAttribute('href')") == "#main"
    context.close()


def _check(page: Page, where: str) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{where}: {overflow} px wider than the screen"
    lowest = page.evaluate(_LOWEST_CONTRAST)
    assert lowest["ratio"] >= lowest.get("needed", 4.5), f"{where}: low contrast: {lowest}"


def test_the_submission_form_is_reached_in_order_by_tab(chromium: Browser, live: Live) -> None:
    page = chromium.new_page()
    page.goto(f"{live.base}/submit")
    order = []
    for _ in range(15):
        page.keyboard.press("Tab")
        order.append(
            page.evaluate("document.activeElement.dataset.testid || document.activeElement.id")
        )
    page.close()
    wanted = ["file-input", "under18", "contact"]
    positions = [order.index(name) for name in wanted]
    assert positions == sorted(positions), order
