"""The page shows the mask a region paints over the photo before painting, and lets the user save it to
correct it and upload it back (headless chromium, as test_server_browser.py)."""

from __future__ import annotations

import re
from pathlib import Path

from serverproc import StartServer
from test_server_browser import CHROMIUM, CHROMIUM_ARGS, require_chromium

DATA = Path(__file__).parents[1] / "data" / "subject"


def test_the_found_mask_shows_over_the_photo_and_an_upload_replaces_it(
    start_server: StartServer, tmp_path: Path
) -> None:
    require_chromium()
    from playwright.sync_api import expect, sync_playwright

    server = start_server(tmp_path / "data")
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 860})
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.goto(f"{server.url}/")
            expect(page.locator("body")).to_have_attribute("data-ready", "true")
            overlay = page.locator("#mask-overlay")
            page.set_input_files("#content-input", str(DATA / "face.jpg"))
            expect(page.locator("#content-preview")).to_be_visible()
            expect(page.locator("#show-mask-row")).to_be_hidden()  # the whole picture: no mask

            page.select_option("#region", "subject")
            expect(overlay).to_be_visible(timeout=20_000)
            expect(overlay).to_have_js_property("naturalWidth", 192)
            expect(page.locator("#mask-download")).to_have_attribute("href", re.compile(r"^blob:"))
            found = overlay.get_attribute("src")
            page.screenshot(path=str(tmp_path / "mask.png"))

            page.uncheck("#show-mask")
            expect(overlay).to_be_hidden()
            page.check("#show-mask")
            expect(overlay).to_be_visible(timeout=20_000)

            page.select_option("#region", "upload")
            page.set_input_files("#mask-input", str(DATA / "face_mask.png"))
            expect(overlay).not_to_have_attribute("src", found or "", timeout=20_000)
            expect(overlay).to_be_visible()
            expect(page.locator("#mask-download")).to_be_hidden()  # it is the user's own already
        finally:
            browser.close()
    assert problems == []
