"""The Video and Batch tabs in a real headless browser (Debian's chromium driven by Playwright), as
test_server_browser.py does for a photo: a clip is chosen, painted frame by frame and played back; three
photos are dropped on the page, painted and downloaded as a zip.

Skipped, with the reason, only where /usr/bin/chromium is missing outside CI. The tabs' screenshots go
to docs/screenshot-video.png and docs/screenshot-batch.png when ``BRUSHWORK_UPDATE_SCREENSHOT=1``,
else to the test's temporary directory.
"""

from __future__ import annotations

import base64
import io
import os
import re
import sys
import zipfile
from pathlib import Path

from PIL import Image
from serverproc import StartServer, small_jpeg
from test_server_browser import CHROMIUM, CHROMIUM_ARGS, ROOT, require_chromium

sys.path.insert(0, str(Path(__file__).parents[1]))
from ci import require

FRAMES = 12
SIZE_128 = "range => { range.value = '128'; range.dispatchEvent(new Event('input')); }"
PHOTOS = ("chicago.jpg", "lion.jpg", "sailboat.jpg")
# Files made in the page and dropped on a drop zone, as a person dragging them from a folder would.
DROP = """([selector, files]) => {
  const transfer = new DataTransfer();
  for (const [name, data] of files) {
    const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
    transfer.items.add(new File([bytes], name, { type: "image/jpeg" }));
  }
  const zone = document.querySelector(selector);
  zone.dispatchEvent(new DragEvent("dragover", { dataTransfer: transfer, bubbles: true, cancelable: true }));
  zone.dispatchEvent(new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true }));
}"""


def screenshot_path(name: str, tmp_path: Path) -> Path:
    if os.environ.get("BRUSHWORK_UPDATE_SCREENSHOT") == "1":
        return ROOT / "docs" / name
    return tmp_path / name


def save_small(png: bytes, path: Path) -> None:
    """A palette PNG: a third of the bytes of the full-colour one."""
    shot = Image.open(io.BytesIO(png)).convert("RGB")
    shot.quantize(256, dither=Image.Dither.FLOYDSTEINBERG).save(path, optimize=True)


def test_a_clip_and_a_batch_are_painted_in_the_browser(start_server: StartServer, tmp_path: Path) -> None:
    require_chromium()
    require("av", "pip install 'brushwork[video]'")
    from playwright.sync_api import expect, sync_playwright

    from video_clips import make_clip

    clip = tmp_path / "clip.mp4"
    make_clip(clip, frames=FRAMES, size=(160, 120))
    server = start_server(tmp_path / "data", "--preview-every", "1")
    requests: list[str] = []
    problems: list[str] = []

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 860}, accept_downloads=True)
            page.on("request", lambda request: requests.append(request.url))
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.on("console", lambda message: message.type == "error" and problems.append(message.text))
            page.goto(f"{server.url}/")
            expect(page.locator("body")).to_have_attribute("data-media-ready", "true")

            # a clip: chosen, painted, played back in the format chosen
            page.click("#tab-video")
            expect(page.locator("#panel-video")).to_be_visible()
            expect(page.locator("#app")).to_be_hidden()
            page.set_input_files("#video-input", str(clip))
            expect(page.locator("#video-text")).to_contain_text("clip.mp4")
            page.locator("#video-size").evaluate(SIZE_128)
            page.select_option("#video-container", "webm")  # VP9: every Chromium build plays it
            page.click('#video-styles [data-style-id="the_scream"]')
            page.click("#video-start-job")
            progress = page.locator("#video-progress-text")
            expect(progress).to_have_text(f"Done: {FRAMES} frames, 128×96", timeout=90_000)
            video = page.locator("#video-result")
            expect(video).to_be_visible()
            expect(video).to_have_attribute("src", re.compile(r"^/api/jobs/[0-9a-f]{32}/result\.webm$"))
            expect(video).to_have_js_property("videoWidth", 128, timeout=20_000)
            page.wait_for_function("document.querySelector('#video-result').readyState >= 2")
            expect(page.locator("#video-download")).to_be_visible()
            expect(page.locator("#history li")).to_have_count(1)
            save_small(page.screenshot(), screenshot_path("screenshot-video.png", tmp_path))

            # a batch: three photos dropped on the page, painted, downloaded as a zip
            page.click("#tab-batch")
            expect(page.locator("#panel-batch")).to_be_visible()
            files = [[name, base64.b64encode(small_jpeg(name, 160)).decode()] for name in PHOTOS]
            page.evaluate(DROP, ["#batch-drop", files])
            expect(page.locator("#batch-text")).to_contain_text("chicago.jpg, lion.jpg, sailboat.jpg")
            page.locator("#batch-size").evaluate(SIZE_128)
            page.click("#batch-start-job")
            expect(page.locator("#batch-progress-text")).to_have_text("Done: 3 paintings", timeout=90_000)
            items = page.locator("#batch-items li")
            expect(items).to_have_count(3)
            expect(items.locator(".status-done")).to_have_count(3)
            expect(page.locator("#batch-preview")).to_be_visible()
            with page.expect_download() as download:
                page.click("#batch-download")
            assert re.fullmatch(r"brushwork-[0-9a-f]{8}\.zip", download.value.suggested_filename)
            with zipfile.ZipFile(download.value.path()) as zf:
                names = sorted(zf.namelist())
            assert names == [
                "_brushwork/ledger.jsonl",
                "chicago__starry_night.png",
                "lion__starry_night.png",
                "sailboat__starry_night.png",
            ]
            expect(page.locator("#history li")).to_have_count(2)
            page.evaluate("window.scrollTo(0, 0)")
            save_small(page.screenshot(), screenshot_path("screenshot-batch.png", tmp_path))

            # the history opens a video job in its own tab
            page.click("#tab-photo")
            page.locator("#history li").last.locator("button.open").click()
            expect(page.locator("#panel-video")).to_be_visible()
        finally:
            browser.close()

    assert any(url.endswith("/api/videos") for url in requests)
    assert any(url.endswith("/api/batches") for url in requests)
    assert any(url.endswith("/events") for url in requests)
    outside = [url for url in requests if not url.startswith((server.url, "blob:", "data:"))]
    assert outside == []
    assert problems == []
