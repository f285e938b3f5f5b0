"""Instant previews: one pass of the fast engine on a small copy of the photo, sent back as a PNG.

Nothing is stored. At most one preview is painted at a time (on the server's device, with its torch
threads), so previews cannot crowd out the job workers; a few more may wait their turn, further ones
are refused, and one whose client has gone (the page supersedes a stale request) is skipped.
"""

from __future__ import annotations

import asyncio
import io
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import anyio
import numpy as np
import torch
from PIL import Image

from brushwork.api import stylize
from brushwork.config import Settings
from brushwork.engines.feedforward.weights import PREDICTOR_FILE, TRANSFORM_FILE, load_graph
from brushwork.errors import UserInputError
from brushwork.imageio import Picture
from brushwork.progress import FloatImage

log = logging.getLogger(__name__)

PREVIEW_SIDE = 512  # the largest long side a preview is painted at
ADMITTED = 4  # previews painting or waiting to; more are refused until one finishes
WARM_UP_SIDE = 64


class PreviewBusy(Exception):
    """Too many previews are waiting already."""


class EngineMissing(Exception):
    """The fast engine's weights are not installed (or damaged): no preview can be painted."""


@dataclass(frozen=True)
class PreviewImage:
    png: bytes
    seconds: float  # painting it, without decoding the uploads or encoding the PNG


class Previewer:
    def __init__(self, device: torch.device) -> None:
        self.device = device
        self._turn = asyncio.Lock()  # waiters queue in the event loop, holding no thread
        self._painting = threading.Lock()  # also taken by the warm-up, which runs outside the loop
        self._admitted = 0

    async def paint(
        self, content: Picture, style: Picture, settings: Settings, wanted: Callable[[], Awaitable[bool]]
    ) -> PreviewImage | None:
        """The preview, or None when ``wanted()`` said, once it was this one's turn, that nobody waits
        for it any more. Raises :class:`PreviewBusy` when too many are queued."""
        if self._admitted >= ADMITTED:
            raise PreviewBusy
        self._admitted += 1
        try:
            async with self._turn:
                if not await wanted():
                    return None
                # not cancellable: the turn is held until the painting thread is really done
                return await anyio.to_thread.run_sync(self._paint, content, style, settings)
        finally:
            self._admitted -= 1

    def check_can_run(self) -> None:
        """Before the uploads are decoded: raise :class:`PreviewBusy` when the queue of previews is
        full, :class:`EngineMissing` when the fast engine is not installed."""
        if self._admitted >= ADMITTED:
            raise PreviewBusy
        _load_engine()

    def _paint(self, content: Picture, style: Picture, settings: Settings) -> PreviewImage:
        with self._painting:
            _load_engine()
            result = stylize(content, style, settings=settings, device=self.device)
        return PreviewImage(png=encode_png(result.image), seconds=result.timings["total"])

    def warm_up(self) -> None:
        """Load the fast engine's networks now, so that the first preview is as quick as the next."""
        started = time.perf_counter()
        blank = np.full((WARM_UP_SIDE, WARM_UP_SIDE, 3), 0.5, dtype=np.float32)
        try:
            with self._painting:
                stylize(blank, blank, method="fast", size=WARM_UP_SIDE, device=self.device)
        except Exception as error:  # the first preview reports it to its client
            log.warning("the fast engine did not warm up: %s", error)
            return
        log.info("fast engine ready in %.1f s", time.perf_counter() - started)

    def warm_up_in_background(self) -> None:
        threading.Thread(target=self.warm_up, name="brushwork-preview-warm-up", daemon=True).start()


def _load_engine() -> None:
    try:  # read once and kept; told apart from the request's own problems (a mask, a face)
        for name in (PREDICTOR_FILE, TRANSFORM_FILE):
            load_graph(name)
    except UserInputError as error:
        raise EngineMissing(str(error)) from None


def encode_png(image: FloatImage) -> bytes:
    """(H, W, 3) float in [0, 1] → 8-bit PNG bytes, compressed lightly: it is sent once and dropped."""
    pixels = np.clip(image * 255.0 + 0.5, 0, 255).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(out, "PNG", compress_level=1)
    return out.getvalue()
