"""A newcomer's visit, in a real headless browser (Debian's chromium driven by Playwright): open the
page, choose a photo and a painting, start, watch the progress and previews, get and download the result.

Skipped, with the reason, only where /usr/bin/chromium is missing outside CI; in CI (``CI=true``,
where ``.ci/run`` installs chromium) a missing browser fails the test. The page's screenshot goes to
docs/screenshot.png when ``BRUSHWORK_UPDATE_SCREENSHOT=1``, else to the test's temporary directory.
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import pytest
from PIL import Image
from serverproc import StartServer

ROOT = Path(__file__).parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
SIZE = 192  # the photo is 640x480: the result is 192x144
STEPS = 8


def require_chromium() -> None:
    if CHROMIUM.exists():
        return
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{CHROMIUM} is missing in CI, where .ci/run installs it (apt-get install chromium)")
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium); CI installs it and runs this test")


def test_a_photo_is_painted_in_the_browser(start_server: StartServer, tmp_path: Path) -> None:
    require_chromium()
    from playwright.sync_api import expect, sync_playwright

    server = start_server(tmp_path / "data", "--preview-every", "1")
    requests: list[str] = []
    problems: list[str] = []
    screenshot = (
        ROOT / "docs" / "screenshot.png"
        if os.environ.get("BRUSHWORK_UPDATE_SCREENSHOT") == "1"
        else tmp_path / "screenshot.png"
    )

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 860}, accept_downloads=True)
            page.on("request", lambda request: requests.append(request.url))
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.on("console", lambda message: message.type == "error" and problems.append(message.text))
            page.goto(f"{server.url}/")
            expect(page.locator("body")).to_have_attribute("data-ready", "true")

            page.set_input_files("#content-input", str(ROOT / "examples" / "tubingen.jpg"))
            expect(page.locator("#content-preview")).to_be_visible()
            page.click('#gallery [data-style-id="starry_night"]')
            expect(page.locator("#style-caption")).to_have_text("The Starry Night, Vincent van Gogh (1889)")
            page.locator("#size").evaluate(
                "(range, size) => { range.value = size; range.dispatchEvent(new Event('input')); }", str(SIZE)
            )
            expect(page.locator("#size-value")).to_have_text(f"{SIZE} px")
            page.select_option("#quality", "draft")
            page.click(".advanced summary")
            page.fill("#steps", str(STEPS))
            page.click(".advanced summary")

            page.click("#start")
            progress = page.locator("#progress-text")
            expect(progress).to_contain_text(re.compile(r"Painting: step \d+ of 8"), timeout=60_000)
            expect(page.locator("#cancel")).to_be_visible()
            expect(progress).to_have_text(re.compile(r"^Done: 192×144 in [\d.]+ s$"), timeout=120_000)
            expect(page.locator("#progress")).to_have_js_property("value", STEPS)
            picture = page.locator("#picture")
            expect(picture).to_have_attribute("src", re.compile(r"^/api/jobs/[0-9a-f]{32}/result\.png$"))
            expect(picture).to_have_js_property("naturalWidth", SIZE)
            expect(page.locator("#cancel")).to_be_hidden()

            with page.expect_download() as download:
                page.click("#download")
            assert re.fullmatch(r"brushwork-[0-9a-f]{8}\.png", download.value.suggested_filename)
            with Image.open(download.value.path()) as result:
                assert (result.format, result.size) == ("PNG", (192, 144))

            history = page.locator("#history li")
            expect(history).to_have_count(1)
            expect(history.locator("img")).to_have_js_property("naturalWidth", SIZE)
            shot = Image.open(io.BytesIO(page.screenshot(full_page=True))).convert("RGB")
            palette = shot.quantize(256, dither=Image.Dither.FLOYDSTEINBERG)  # a third of the bytes
            palette.save(screenshot, optimize=True)
        finally:
            browser.close()

    assert any(re.search(r"/api/jobs/[0-9a-f]{32}/preview\.png\?v=\d+$", url) for url in requests), requests
    assert any(url.endswith("/events") for url in requests)
    outside = [url for url in requests if not url.startswith((server.url, "blob:", "data:"))]
    assert outside == []
    assert problems == []
    with Image.open(screenshot) as shot:
        assert shot.width == 1280 and shot.height >= 860
