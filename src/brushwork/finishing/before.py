"""Adjustments to the photo before it is painted: crop, rotate, flip and pad, in that order.

Arrays are float32 (H, W, 3) colour and (H, W) planes in [0, 1]. An alpha plane and a mask plane are
carried through every step with the colour, so that they stay aligned with it:

- crop and flip treat them exactly like the colour;
- rotate by a multiple of 90 degrees is exact (a transpose, no resampling); any other angle turns
  the picture counter-clockwise about its centre (as Pillow and np.rot90 do) onto a canvas enlarged
  to hold it all, bilinearly; the uncovered corners get the `background` colour, alpha 0
  (transparent) and mask 0 (kept as they are);
- pad with "reflect" mirrors all three; pad with a colour gives the border that colour, alpha 1 and
  mask 0, so a coloured frame stays unpainted when a mask is in use.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

import numpy as np
import numpy.typing as npt
from PIL import ImageColor

from brushwork.errors import SettingsError
from brushwork.regions.subject import Box

FloatArray = npt.NDArray[np.float32]
Colour = tuple[float, float, float]
FlipAxis = Literal["horizontal", "vertical", "both"]

FLIPS: dict[str, FlipAxis] = {
    "horizontal": "horizontal", "h": "horizontal", "vertical": "vertical", "v": "vertical", "both": "both",
}  # fmt: skip
MAX_PAD = 4096
WHITE: Colour = (1.0, 1.0, 1.0)


@dataclass(frozen=True)
class Padding:
    """A border of px pixels on every side: mirrored ("reflect") or of one colour (RGB in [0, 1])."""

    px: int
    fill: Literal["reflect"] | Colour = "reflect"

    def __post_init__(self) -> None:
        if isinstance(self.px, bool) or not isinstance(self.px, int) or not 0 <= self.px <= MAX_PAD:
            raise SettingsError(f"pad must be a whole number of pixels from 0 to {MAX_PAD}, not {self.px!r}")
        if self.fill != "reflect":
            _check_colour(self.fill, "pad colour")


@dataclass(frozen=True)
class Before:
    """What to do to the photo before painting it; the default does nothing."""

    crop: Box | None = None
    rotate: float = 0.0  # degrees, counter-clockwise
    flip: FlipAxis | None = None
    pad: Padding | None = None
    background: Colour = WHITE  # colour of the corners that a rotation uncovers

    def __post_init__(self) -> None:
        if self.crop is not None:
            object.__setattr__(self, "crop", _checked_box(self.crop))
        if not isinstance(self.rotate, int | float) or not math.isfinite(self.rotate):
            raise SettingsError(f"rotate must be a number of degrees, not {self.rotate!r}")
        if not -360 <= self.rotate <= 360:
            raise SettingsError(f"rotate must be between -360 and 360 degrees, not {self.rotate}")
        if self.flip is not None and self.flip not in ("horizontal", "vertical", "both"):
            raise SettingsError(f"flip must be horizontal, vertical or both, not {self.flip!r}")
        _check_colour(self.background, "background colour")

    @property
    def is_identity(self) -> bool:
        return not self.describe()

    def describe(self) -> dict[str, Any]:
        """The adjustments that change something, JSON-ready, for the output's metadata."""
        described: dict[str, Any] = {}
        if self.crop is not None:
            described["crop"] = list(self.crop)
        if self.rotate % 360:
            described["rotate"] = float(self.rotate)
            if self.rotate % 90:
                described["background"] = _hex(self.background)
        if self.flip is not None:
            described["flip"] = self.flip
        if self.pad is not None and self.pad.px:
            fill = self.pad.fill
            described["pad"] = {"px": self.pad.px, "fill": fill if fill == "reflect" else _hex(fill)}
        return described


class Adjusted(NamedTuple):
    rgb: FloatArray
    alpha: FloatArray | None
    mask: FloatArray | None


def apply_before(
    spec: Before, rgb: FloatArray, alpha: FloatArray | None = None, mask: FloatArray | None = None
) -> Adjusted:
    """Crop, rotate, flip and pad (in that order) the colour and, in step, the alpha and mask planes."""
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) array, not shape {rgb.shape}")
    for name, plane in (("alpha", alpha), ("mask", mask)):
        if plane is not None and plane.shape != rgb.shape[:2]:
            raise ValueError(f"{name} must have shape {rgb.shape[:2]}, not {plane.shape}")
    out = Adjusted(rgb, alpha, mask)
    if spec.crop is not None:
        out = crop(out, spec.crop)
    if spec.rotate % 360:
        out = rotate(out, spec.rotate, spec.background)
    if spec.flip is not None:
        out = flip(out, spec.flip)
    if spec.pad is not None and spec.pad.px:
        out = pad(out, spec.pad)
    return Adjusted(
        np.ascontiguousarray(out.rgb, dtype=np.float32),
        None if out.alpha is None else np.ascontiguousarray(out.alpha, dtype=np.float32),
        None if out.mask is None else np.ascontiguousarray(out.mask, dtype=np.float32),
    )


def crop(images: Adjusted, box: Box) -> Adjusted:
    height, width = images.rgb.shape[:2]
    x, y, w, h = box
    if x + w > width or y + h > height:
        raise SettingsError(f"crop {x},{y},{w},{h} reaches outside the {width}x{height} picture")
    return _each(images, lambda a: a[y : y + h, x : x + w])


def flip(images: Adjusted, axis: FlipAxis) -> Adjusted:
    if axis == "horizontal":
        return _each(images, lambda a: a[:, ::-1])
    if axis == "vertical":
        return _each(images, lambda a: a[::-1])
    return _each(images, lambda a: a[::-1, ::-1])


def rotate(images: Adjusted, degrees: float, background: Colour = WHITE) -> Adjusted:
    import cv2

    turns, rest = divmod(degrees, 90)
    if rest == 0:
        return _each(images, lambda a: np.rot90(a, int(turns) % 4))
    height, width = images.rgb.shape[:2]
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), degrees, 1.0)
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    new_width = math.ceil(width * cos + height * sin - 1e-6)
    new_height = math.ceil(width * sin + height * cos - 1e-6)
    matrix[0, 2] += new_width / 2 - width / 2
    matrix[1, 2] += new_height / 2 - height / 2

    def warp(a: FloatArray, fill: float | Colour) -> FloatArray:
        turned = cv2.warpAffine(
            np.ascontiguousarray(a, dtype=np.float32),
            matrix,
            (new_width, new_height),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=fill if isinstance(fill, tuple) else (fill, fill, fill),
        )
        return np.clip(np.asarray(turned, dtype=np.float32), 0.0, 1.0)

    return Adjusted(
        warp(images.rgb, background),
        None if images.alpha is None else warp(images.alpha, 0.0),
        None if images.mask is None else warp(images.mask, 0.0),
    )


def pad(images: Adjusted, padding: Padding) -> Adjusted:
    px = padding.px
    if px == 0:
        return images
    if padding.fill == "reflect":
        return _each(images, lambda a: np.pad(a, ((px, px), (px, px), (0, 0))[: a.ndim], mode="reflect"))
    colour = np.asarray(padding.fill, dtype=np.float32)
    rgb = np.pad(images.rgb, ((px, px), (px, px), (0, 0)))
    rgb[:px], rgb[-px:], rgb[:, :px], rgb[:, -px:] = colour, colour, colour, colour
    return Adjusted(
        rgb,
        None if images.alpha is None else np.pad(images.alpha, px, constant_values=1.0),
        None if images.mask is None else np.pad(images.mask, px, constant_values=0.0),
    )


def _each(images: Adjusted, change: Callable[[FloatArray], FloatArray]) -> Adjusted:
    return Adjusted(
        change(images.rgb),
        None if images.alpha is None else change(images.alpha),
        None if images.mask is None else change(images.mask),
    )


# ------------------------------------------------------------------------------- parsing and checking


def parse_box(text: str, what: str = "crop") -> Box:
    """A box from "x,y,w,h" (pixels; spaces allowed)."""
    parts = [part.strip() for part in text.split(",")]
    try:
        values = [int(part) for part in parts]
    except ValueError:
        values = []
    if len(values) != 4:
        raise SettingsError(f"{what} must be four whole numbers x,y,w,h (e.g. 10,20,300,200), not {text!r}")
    return _checked_box(Box(*values), what)


def parse_flip(text: str) -> FlipAxis:
    axis = FLIPS.get(text.strip().lower())
    if axis is None:
        raise SettingsError(f"flip must be horizontal, vertical or both, not {text!r}")
    return axis


def parse_pad(text: str) -> Padding:
    """Padding from "PX", "PX,reflect" or "PX,COLOUR" (a CSS colour name or #rrggbb)."""
    size, _, fill = (part.strip() for part in text.partition(","))
    try:
        px = int(size)
    except ValueError:
        raise SettingsError(
            f"pad must be PX, PX,reflect or PX,COLOUR (e.g. 16,white), not {text!r}"
        ) from None
    if not fill or fill.lower() == "reflect":
        return Padding(px)
    return Padding(px, parse_colour(fill, "pad colour"))


def parse_colour(text: str, what: str = "colour") -> Colour:
    try:
        red, green, blue = ImageColor.getrgb(text)[:3]
    except ValueError:
        raise SettingsError(f"{what} must be a colour name or #rrggbb, not {text!r}") from None
    return red / 255, green / 255, blue / 255


def _checked_box(box: Box | tuple[int, ...], what: str = "crop") -> Box:
    values = tuple(box)
    if len(values) != 4 or not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        raise SettingsError(f"{what} must be four whole numbers x,y,w,h, not {values!r}")
    checked = Box(*values)
    if checked.x < 0 or checked.y < 0 or checked.w < 1 or checked.h < 1:
        raise SettingsError(f"{what} needs x, y >= 0 and w, h >= 1, not {','.join(map(str, values))}")
    return checked


def _check_colour(colour: object, what: str) -> None:
    if (
        not isinstance(colour, tuple)
        or len(colour) != 3
        or not all(isinstance(c, int | float) and 0 <= c <= 1 for c in colour)
    ):
        raise SettingsError(f"{what} must be three numbers from 0 to 1 (red, green, blue), not {colour!r}")


def _hex(colour: Colour) -> str:
    return "#" + "".join(f"{round(c * 255):02x}" for c in colour)
