"""--protect-text in video: the text finder on every frame of a clip with a title and a moving sign —
its time per frame and how steady its mask is from frame to frame (no painting).

    python benchmarks/bench_text_video.py        # results/text_video.json

The clip is the shared cutBunny.mp4 with a fixed title ("BIG BUCK BUNNY", bottom left) and a sign that
drifts 2 px a frame to the right ("Open air cinema tonight"), drawn with Pillow on every frame. Steadiness:
the IoU of each frame's title mask (> 0.5) with the previous frame's, over the title's box, and the
share of frames where the title or the sign was not found.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from _common import IMAGES, machine, write_json

FRAMES = 60
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"


def section(data: dict[str, Any]) -> str:
    """Time per frame and the title's steadiness."""
    width, height = data["size"]
    return (
        f"{data['frames']} frames at {width} × {height}, the finder on every frame: "
        f"**{data['seconds_per_frame']:.3f} s a frame**; the title's mask against the previous frame's: "
        f"IoU median {data['title_iou_median']:.2f}, lowest {data['title_iou_min']:.2f}; frames where the "
        f"title was missed: {data['title_missed']}, the moving sign: {data['sign_missed']}."
    )


def main() -> None:
    from brushwork.regions import text
    from brushwork.video.io import read_frames

    clip = IMAGES.parent / "video" / "cutBunny.mp4"
    title_font, sign_font = ImageFont.truetype(FONT, 36), ImageFont.truetype(FONT, 20)
    seconds, ious, missed_title, missed_sign = [], [], 0, 0
    previous = None
    text.find_text(np.zeros((64, 64, 3), np.float32))  # the session, as a video run loads it once
    size = None
    for index, frame in enumerate(read_frames(clip)):
        if index == FRAMES:
            break
        picture = Image.fromarray(np.asarray(frame.rgb, np.uint8))
        size = picture.size
        pen = ImageDraw.Draw(picture)
        title_at = (20, picture.height - 60)
        pen.text(
            title_at,
            "BIG BUCK BUNNY",
            font=title_font,
            fill=(255, 255, 255),
            stroke_width=2,
            stroke_fill=(0, 0, 0),
        )
        sign_at = (40 + 2 * index, 30)
        pen.text(
            sign_at,
            "Open air cinema tonight",
            font=sign_font,
            fill=(255, 230, 0),
            stroke_width=1,
            stroke_fill=(0, 0, 0),
        )
        rgb = np.asarray(picture, np.float32) / 255
        start = time.perf_counter()
        lines = text.find_text(rgb)
        mask = text.text_mask(rgb.shape[:2], lines)
        seconds.append(time.perf_counter() - start)
        title_box = (slice(title_at[1] - 10, picture.height), slice(0, picture.width // 2 + 60))
        title = mask[title_box] > 0.5
        missed_title += int(title.mean() < 0.05)
        missed_sign += int(mask[20:60, sign_at[0] : sign_at[0] + 200].mean() < 0.3)
        if previous is not None:
            ious.append(float((title & previous).sum() / max(1, (title | previous).sum())))
        previous = title
    results: dict[str, Any] = {
        "machine": machine(),
        "frames": len(seconds),
        "size": size,
        "seconds_per_frame": round(statistics.median(seconds), 3),
        "title_iou_min": round(min(ious), 3),
        "title_iou_median": round(statistics.median(ious), 3),
        "title_missed": missed_title,
        "sign_missed": missed_sign,
    }
    print(write_json("text_video", results), results)


if __name__ == "__main__":
    main()
