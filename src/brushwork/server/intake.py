"""Receiving what the video and batch routes are sent: the shared settings form (every field bounded,
with a default rather than "absent"), uploads copied under a byte limit, pictures checked and shrunk.

The image routes in ``app.py`` use the form check and the upload copy too; every helper raises
:class:`starlette.exceptions.HTTPException` with a status the schema lists (server/contract.py).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import Form, Request, UploadFile
from pydantic import BeforeValidator
from starlette.exceptions import HTTPException

from brushwork import imageio
from brushwork.config import Settings
from brushwork.errors import ImageReadError, SettingsError
from brushwork.finishing.after import RANGES
from brushwork.server.config import ServerConfig
from brushwork.server.runner import thumbnail_size

COPY_CHUNK = 1024 * 1024
MAX_SEED = 2**31 - 1

Quality = Literal["draft", "normal", "high"]
Method = Literal["fast", "optimize"]
ColorChoice = Literal["none", "ycbcr", "lab"]
Region = Literal["whole", "subject", "background", "faces"]


def true_or_false(value: object) -> object:
    """A form's yes or no is the text ``true`` or ``false``, as the schema's boolean says (pydantic
    alone would also read 1, on, yes, t, ... and their opposites)."""
    if value is None or isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise ValueError("must be true or false")


Yes = BeforeValidator(true_or_false)  # for a form field's Annotated: only true or false


@dataclass(frozen=True)
class CommonForm:
    """The settings a video or a batch shares with a still (no uploaded mask: one mask cannot fit
    every frame or photo)."""

    method: str
    quality: str
    strength: float
    preserve_color: str
    style_scale: float
    seed: int
    mask_mode: str
    invert_mask: bool
    protect_faces: bool
    finishing: dict[str, float]

    def chosen(self) -> dict[str, Any]:
        """Settings fields: finishing is painted into every frame or photo (nothing to adjust later)."""
        return {
            "method": self.method,
            "quality": self.quality,
            "strength": self.strength,
            "preserve_color": None if self.preserve_color == "none" else self.preserve_color,
            "style_scale": self.style_scale,
            "seed": self.seed,
            "mask": None if self.mask_mode == "whole" else self.mask_mode,
            "invert_mask": self.invert_mask,
            "protect_faces": self.protect_faces,
            **self.finishing,
        }


def _finishing(name: str, text: str) -> Any:
    low, high, _ = RANGES[name]
    return Form(ge=low, le=high, description=f"after: {text} ({low:g} to {high:g})")


def common_form(
    method: Annotated[Method, Form(description="fast (one pass a frame or photo) or optimize")] = "fast",
    quality: Annotated[Quality, Form(description="optimize only: draft, normal or high")] = "normal",
    strength: Annotated[float, Form(ge=0, le=1, description="0 (the photo) to 1 (most style)")] = 0.5,
    preserve_color: Annotated[ColorChoice, Form(description="keep the photo's colour: ycbcr, lab")] = "none",
    style_scale: Annotated[float, Form(ge=0.1, le=4, description="size of the brush strokes")] = 1.0,
    seed: Annotated[int, Form(ge=0, le=MAX_SEED, description="for repeatable results")] = 0,
    mask_mode: Annotated[Region, Form(description="paint the whole picture, the subject, ...")] = "whole",
    invert_mask: Annotated[bool, Yes, Form(description="paint where the region is not")] = False,
    protect_faces: Annotated[bool, Yes, Form(description="detected faces keep most of the photo")] = False,
    brightness: Annotated[float, _finishing("brightness", "factor, 1 = unchanged")] = 1.0,
    contrast: Annotated[float, _finishing("contrast", "factor, 1 = unchanged")] = 1.0,
    saturation: Annotated[float, _finishing("saturation", "factor, 1 = unchanged")] = 1.0,
    hue: Annotated[float, _finishing("hue", "degrees round the colour wheel")] = 0.0,
    sharpen: Annotated[float, _finishing("sharpen", "unsharp-mask amount, 0 = off")] = 0.0,
    denoise: Annotated[float, _finishing("denoise", "0 = off")] = 0.0,
) -> CommonForm:
    finishing = {
        "brightness": brightness, "contrast": contrast, "saturation": saturation,
        "hue": hue, "sharpen": sharpen, "denoise": denoise,
    }  # fmt: skip
    return CommonForm(
        method, quality, strength, preserve_color, style_scale, seed, mask_mode, invert_mask, protect_faces,
        finishing,
    )  # fmt: skip


COMMON_FIELDS = (
    "method", "quality", "strength", "preserve_color", "style_scale", "seed", "mask_mode", "invert_mask",
    "protect_faces", "brightness", "contrast", "saturation", "hue", "sharpen", "denoise",
)  # fmt: skip


async def refuse_unknown_fields(
    request: Request, fields: frozenset[str], lists: frozenset[str] = frozenset()
) -> None:
    """422 for form fields the route does not know, so that a typo (``strenght``) is not silently
    lost, and for fields given empty or more than once (but ``lists``), which FastAPI would read as
    left out or as the last one."""
    form = await request.form()  # parsed once per request; the endpoint's parameters reuse it
    unknown = sorted(set(form.keys()) - fields)
    if unknown:
        known = ", ".join(sorted(fields))
        raise HTTPException(422, f"unknown form field(s) {', '.join(unknown)}; the fields are: {known}")
    names = [name for name, _ in form.multi_items()]
    twice = sorted({name for name in names if names.count(name) > 1} - lists)
    if twice:
        raise HTTPException(422, f"form field(s) {', '.join(twice)} given more than once")
    empty = sorted({name for name, value in form.multi_items() if value == ""})
    if empty:
        raise HTTPException(422, f"empty form field(s) {', '.join(empty)}: leave a field out for its default")


def make_settings(chosen: dict[str, Any]) -> Settings:
    try:
        return Settings(**{name: value for name, value in chosen.items() if value is not None})
    except SettingsError as error:
        raise HTTPException(422, str(error)) from None


def save_upload(upload: UploadFile, target: Path, limit: int, what: str) -> int:
    """Copy an upload to ``target``; 413 past ``limit`` bytes. Returns the bytes copied."""
    if upload.size is not None and upload.size > limit:
        raise HTTPException(413, f"{what} is larger than the limit of {limit} bytes")
    copied = 0
    upload.file.seek(0)
    with open(target, "wb") as out:
        while chunk := upload.file.read(COPY_CHUNK):
            copied += len(chunk)
            if copied > limit:
                raise HTTPException(413, f"{what} is larger than the limit of {limit} bytes")
            out.write(chunk)
    return copied


def check_picture(
    source: Path, what: str, config: ServerConfig, decodes: threading.BoundedSemaphore, min_side: int = 1
) -> imageio.Picture:
    """Decode an image (at most ``decodes`` at once); 400 naming ``what`` if it is unusable or under
    ``min_side`` pixels on its short side."""
    with decodes:
        try:
            picture = imageio.read_image(source, max_pixels=config.max_pixels)
        except ImageReadError as error:
            raise HTTPException(400, str(error).replace(repr(str(source)), what)) from None
    if min(picture.size) < min_side:
        width, height = picture.size
        raise HTTPException(
            400, f"{what} is {width}x{height}: at least {min_side} pixels on the short side are needed"
        )
    return picture


def write_thumbnail(rgb: Any, target: Path) -> None:
    """A small PNG copy the page can show, of (H, W, 3) RGB in [0, 1] or uint8."""
    image = rgb.astype("float32") / 255.0 if rgb.dtype == "uint8" else rgb
    height, width = image.shape[:2]
    imageio.write_image(target, imageio.resize(image, thumbnail_size((width, height))))
