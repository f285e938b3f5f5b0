"""Finishing as a view: the after-adjustments (brightness ... sharpen) applied to a stored picture on
request, without painting it again.

A job keeps its painting unadjusted; ``result.png?brightness=1.2`` is that painting adjusted, made
here from the stored file. The work is bounded: one picture is adjusted at a time (denoise takes about
a second at 1024 px on one core), a few more requests may wait, further ones are refused, and the
last few pictures made are kept so that showing one and then downloading it costs one adjustment.
"""

from __future__ import annotations

import io
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, PngImagePlugin

from brushwork import imageio
from brushwork.errors import ImageReadError, SettingsError
from brushwork.finishing.after import ORDER, RANGES, After, FloatArray, apply_after

ADMITTED = 4  # adjustments being made or waiting to be; more are refused until one is done
KEPT = 8  # adjusted pictures kept in memory (PNG bytes)
DENOISE_MAX_PIXELS = 4_200_000  # about 2048 x 2048: denoise (non-local means) grows with the pixels
NEUTRAL: dict[str, float] = {name: RANGES[name][2] for name in ORDER}


class FinishBusy(Exception):
    """Too many adjustments are waiting already."""


def after_of(values: Mapping[str, Any]) -> After:
    """The adjustments named in ``values`` (missing ones change nothing); SettingsError if out of range."""
    return After(**{name: values[name] for name in ORDER if values.get(name) is not None})


def check_work(after: After, size: tuple[int, int]) -> None:
    """Refuse, in one line, adjustments that would take too long on a picture of this size."""
    width, height = size
    if after.denoise and width * height > DENOISE_MAX_PIXELS:
        raise SettingsError(
            f"denoise is limited to pictures of at most {DENOISE_MAX_PIXELS} pixels here; "
            f"this one is {width}x{height}"
        )


class Finisher:
    def __init__(self, max_pixels: int) -> None:
        self.max_pixels = max_pixels
        self._work = threading.Lock()
        self._state = threading.Lock()
        self._admitted = 0
        self._kept: OrderedDict[Hashable, bytes] = OrderedDict()

    def stored(self, source: Path, after: After, key: Hashable) -> bytes:
        """The PNG at ``source`` adjusted by ``after``, its text record updated to say so. ``key``
        names the stored picture (it is kept with the adjustments for the next request)."""
        return self._cached((key, after), lambda: self._adjust_file(source, after))

    def picture(self, picture: imageio.Picture, after: After) -> bytes:
        """A decoded picture adjusted by ``after``, as a PNG (nothing kept)."""
        check_work(after, picture.size)
        return self._admit(lambda: encode(apply_after(after, picture.rgb), picture.alpha, {}))

    def _cached(self, key: Hashable, make: Callable[[], bytes]) -> bytes:
        with self._state:
            if key in self._kept:
                self._kept.move_to_end(key)
                return self._kept[key]
        png = self._admit(make)
        with self._state:
            self._kept[key] = png
            while len(self._kept) > KEPT:
                self._kept.popitem(last=False)
        return png

    def _admit(self, make: Callable[[], bytes]) -> bytes:
        with self._state:
            if self._admitted >= ADMITTED:
                raise FinishBusy
            self._admitted += 1
        try:
            with self._work:
                return make()
        finally:
            with self._state:
                self._admitted -= 1

    def _adjust_file(self, source: Path, after: After) -> bytes:
        picture = imageio.read_image(source, max_pixels=self.max_pixels)
        check_work(after, picture.size)
        text = _png_text(source)
        if "brushwork" in text:
            try:
                record = json.loads(text["brushwork"])
                record.setdefault("settings", {}).update({name: getattr(after, name) for name in ORDER})
                text["brushwork"] = json.dumps(record, sort_keys=True)
            except (ValueError, AttributeError):
                pass  # not our record after all: kept as it was
        return encode(apply_after(after, picture.rgb), picture.alpha, text)


def encode(rgb: FloatArray, alpha: FloatArray | None, text: Mapping[str, str]) -> bytes:
    """8-bit PNG bytes (RGBA when there is alpha), with ``text`` as text chunks, lightly compressed."""
    planes = rgb if alpha is None else np.dstack([rgb, alpha])
    pixels = np.clip(planes * 255.0 + 0.5, 0, 255).astype(np.uint8)
    info = PngImagePlugin.PngInfo()
    for name, value in text.items():
        info.add_text(name, value)  # tEXt, or iTXt when the value is not Latin-1
    out = io.BytesIO()
    Image.fromarray(pixels, "RGB" if alpha is None else "RGBA").save(
        out, "PNG", pnginfo=info, compress_level=1
    )
    return out.getvalue()


def _png_text(source: Path) -> dict[str, str]:
    try:
        with Image.open(source) as im:
            return {str(k): str(v) for k, v in getattr(im, "text", {}).items()}
    except OSError as error:
        raise ImageReadError(f"cannot read the stored result: {error}") from None
