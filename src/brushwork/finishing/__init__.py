"""Adjustments people make to the photo before painting it, and to the painting after.

:mod:`brushwork.finishing.before`: crop, rotate, flip, pad (with alpha and mask planes kept in step).
:mod:`brushwork.finishing.after`: denoise, brightness, contrast, saturation, hue, sharpen.
"""

from brushwork.finishing.after import After, apply_after
from brushwork.finishing.before import (
    Adjusted,
    Before,
    Padding,
    apply_before,
    parse_box,
    parse_flip,
    parse_pad,
)

__all__ = [
    "Adjusted",
    "After",
    "Before",
    "Padding",
    "apply_after",
    "apply_before",
    "parse_box",
    "parse_flip",
    "parse_pad",
]
