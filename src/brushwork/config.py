"""Every setting of a transfer and its default, in one frozen dataclass.

The command line derives its flags and help text from these fields, so defaults live only here.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from brushwork.engines.optimize.memory import parse_memory
from brushwork.errors import SettingsError
from brushwork.features.vgg import check_layers

Method = Literal["optimize", "fast"]
Quality = Literal["draft", "normal", "high"]
StyleLoss = Literal["gram", "meancov"]
Optimizer = Literal["lbfgs", "adam"]
Precision = Literal["auto", "bf16", "fp32"]
ColorSpace = Literal["ycbcr", "lab"]
ColorMatch = Literal["meancov", "histogram"]

if TYPE_CHECKING:
    from brushwork.finishing.after import After
    from brushwork.finishing.before import Before

MIN_SIZE = 16
MAX_SIZE = 16384
MAX_SEED = 2**63 - 1
STYLE_SCALE_RANGE = (0.1, 4.0)
COLOR_SPACES: tuple[ColorSpace, ...] = ("ycbcr", "lab")
STRENGTH_RANGE = 100.0  # style:content ratio at strength 1 (and its inverse near 0)


# Above this many pixels a scale's iterations shrink in proportion to its size, so that each large
# scale costs about as much as one of this size: at print sizes the coarser scales have already set
# the picture, and the fine ones only add detail (a 3840 px scale costs 32x a 512 px one per step).
LARGE_SCALE_PIXELS = 512 * 512


@dataclass(frozen=True)
class QualityPreset:
    """Iterations at the final scale and at each coarser scale of the pyramid, and the fewest any
    scale gets however large it is.

    With ``forms_size`` set, the pyramid works in two parts. The scales whose long side is at most
    ``forms_size`` build the painting's large forms with the full objective (L-BFGS); the first gets
    ``coarse_steps`` and each next one a quarter as many, so every such scale costs about the same.
    Each larger scale only sharpens the enlarged picture into brush marks at its own resolution, in
    ``final_steps`` iterations (a few: more cost much and pull the picture back toward the photo's
    detail, and the forms do not change). Without it every scale optimises the full objective:
    ``coarse_steps`` at each coarse scale, ``final_steps`` at the last.
    """

    final_steps: int
    coarse_steps: int
    min_steps: int
    init: str = "content"  # what the first scale starts from, unless --init says otherwise
    pyramid_start: int = 128  # long side of the coarsest scale, unless --pyramid-start says otherwise
    forms_size: int | None = None  # largest long side of the scales that build the forms (None: all)

    def steps_at(self, planned: int, pixels: int) -> int:
        if pixels <= LARGE_SCALE_PIXELS:
            return planned
        return max(min(self.min_steps, planned), math.ceil(planned * LARGE_SCALE_PIXELS / pixels))


QUALITY_PRESETS: dict[str, QualityPreset] = {
    # Chosen on the time-vs-quality curve at 512 px (BENCHMARKS.md §11, benchmarks/presets.py): at
    # 128/256/512 px, draft 20/5/2 iterations, normal 30/7/4, high 80/20/10; each starts its coarsest
    # scale from the fast engine's picture (better forms, Gram distance and SSIM than from the photo,
    # at the same cost).
    "draft": QualityPreset(final_steps=2, coarse_steps=20, min_steps=2, init="fast", forms_size=256),
    "normal": QualityPreset(final_steps=4, coarse_steps=30, min_steps=2, init="fast", forms_size=256),
    "high": QualityPreset(final_steps=10, coarse_steps=80, min_steps=4, init="fast", forms_size=256),
}


# Settings only the optimizer reads: with method "fast" they must keep their defaults (a changed one
# would be silently ignored, so it is refused instead).
OPTIMIZER_ONLY = (
    "quality", "steps", "coarse_steps", "content_weight", "style_weight", "tv_weight", "content_layers",
    "style_layers", "style_layer_weights", "normalize_losses", "style_loss", "pooling", "padding", "init",
    "optimizer", "learning_rate", "pyramid", "pyramid_start", "forms_size", "tile_size",
)  # fmt: skip


@dataclass(frozen=True)
class Settings:
    method: Method = field(
        default="optimize",
        metadata={
            "help": "optimize (Gatys et al.: the best pictures, seconds to minutes) or fast (one pass of a "
            "feed-forward network: under a second)"
        },
    )
    size: int = field(default=512, metadata={"help": "long side of the output in pixels"})
    quality: Quality = field(
        default="normal", metadata={"help": "preset for the iteration counts: draft, normal or high"}
    )
    steps: int | None = field(
        default=None, metadata={"help": "optimizer iterations at the final scale (overrides the preset)"}
    )
    coarse_steps: int | None = field(
        default=None,
        metadata={
            "help": "optimizer iterations at the coarsest scale of the pyramid (overrides the preset); each "
            "next scale up to --forms-size gets a quarter as many (without one: as many)"
        },
    )
    strength: float | None = field(
        default=None,
        metadata={
            "help": "one knob from 0 (the photo untouched) to 1 (as much style as the method gives); "
            "0.5 is the default balance; overrides the content and style weights"
        },
    )
    content_weight: float = field(default=1.0, metadata={"help": "weight of the content loss"})
    style_weight: float = field(default=1.0, metadata={"help": "weight of the style loss"})
    tv_weight: float = field(default=1.0, metadata={"help": "weight of the total-variation smoothness term"})
    style_blend: tuple[float, ...] | None = field(
        default=None, metadata={"help": "relative weight of each style image (default: equal)"}
    )
    style_scale: float = field(
        default=1.0, metadata={"help": "size of the style's features relative to the output"}
    )
    content_layers: tuple[str, ...] = field(default=("relu4_2",), metadata={"help": "content layers"})
    style_layers: tuple[str, ...] = field(
        default=("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"), metadata={"help": "style layers"}
    )
    style_layer_weights: tuple[float, ...] | None = field(
        default=None, metadata={"help": "weight of each style layer (default: built-in balance)"}
    )
    normalize_losses: bool = field(
        default=True,
        metadata={
            "help": "measure each loss term relative to its target's size (off: plain means, as Gatys)"
        },
    )
    style_loss: StyleLoss = field(default="gram", metadata={"help": "style statistics: gram or meancov"})
    pooling: Literal["max", "avg"] = field(default="max", metadata={"help": "VGG pooling: max or avg"})
    padding: Literal["zeros", "reflect", "replicate"] = field(
        default="replicate", metadata={"help": "padding of the first convolution"}
    )
    init: str | None = field(
        default=None,
        metadata={
            "help": "start from: content, noise, fast (the fast engine's picture), or an image file "
            "(default: the quality preset's: fast)"
        },
    )
    optimizer: Optimizer = field(default="lbfgs", metadata={"help": "lbfgs or adam"})
    learning_rate: float = field(default=2.0, metadata={"help": "Adam step size (in 0-255 pixel units)"})
    pyramid: bool = field(default=True, metadata={"help": "optimize coarse to fine"})
    pyramid_start: int | None = field(
        default=None,
        metadata={"help": "long side of the coarsest scale; each next scale doubles it (default: 128)"},
    )
    forms_size: int | None = field(
        default=None,
        metadata={
            "help": "largest scale (long side) optimised with the full objective, where the painting's "
            "large forms are made; larger scales only add its brush detail in a few cheap steps "
            "(default: the quality preset's, 256; 0: every scale in full, as before December 2026)"
        },
    )
    max_memory: str | None = field(
        default=None,
        metadata={
            "help": "memory budget such as 6GB; outputs too large for it are optimized in tiles "
            "(default: 6GB, or up to three quarters of the available memory if the size needs more)"
        },
    )
    tile_size: int | None = field(
        default=None,
        metadata={
            "help": "optimize scales larger than this in tiles of this many pixels a side (a multiple "
            "of 16; default: only when the memory budget needs it)"
        },
    )
    seed: int | None = field(
        default=None,
        metadata={
            "help": "random seed for repeatable runs: seeds the optimizer's noise start (--init noise); "
            "the fast engine draws nothing, so it needs none"
        },
    )
    precision: Precision = field(
        default="auto",
        metadata={"help": "auto (bf16 where native, fp16 on other GPUs, else fp32), bf16 or fp32"},
    )
    preserve_color: ColorSpace | None = field(
        default=None, metadata={"help": "keep the content's colours: transfer luminance in ycbcr or lab"}
    )
    match_colors: ColorMatch | None = field(
        default=None,
        metadata={"help": "recolour styles to the content's palette first: meancov or histogram"},
    )

    mask: str | None = field(
        default=None,
        metadata={
            "help": "paint only part of the picture: a mask image (white = paint, black = keep the photo, "
            "grey = partly), or subject, background, faces or text (found in the photo)"
        },
    )
    invert_mask: bool = field(default=False, metadata={"help": "paint where the mask is black instead"})
    style_masks: tuple[str, ...] | None = field(
        default=None,
        metadata={"help": "one mask image per style image, in order: each style paints its own region"},
    )
    feather: float | None = field(
        default=None,
        metadata={"help": "softness of the masks' edges in pixels (default: 1%% of the long side)"},
    )
    subject_box: str | None = field(
        default=None,
        metadata={"help": "x,y,w,h: where the subject is, for --mask subject or background (photo pixels)"},
    )
    protect_faces: bool = field(
        default=False,
        metadata={"help": "keep faces recognisable: detected faces keep most of the photo"},
    )
    protect_text: bool = field(
        default=False,
        metadata={
            "help": "keep words readable: detected text keeps the photo's letters "
            "(see --protect-text-strength)"
        },
    )
    protect_text_strength: float = field(
        default=0.85,
        metadata={
            "help": "with --protect-text: how much of the photo the text keeps, 0 to 1 (less: more painting)"
        },
    )
    # Before painting, in this order (in the photo's own pixels).
    crop: str | None = field(default=None, metadata={"help": "before: crop the photo to x,y,w,h"})
    rotate: float = field(
        default=0.0, metadata={"help": "before: rotate the photo counter-clockwise by this many degrees"}
    )
    flip: Literal["horizontal", "vertical", "both"] | None = field(
        default=None, metadata={"help": "before: mirror the photo: horizontal, vertical or both"}
    )
    pad: str | None = field(
        default=None,
        metadata={"help": "before: add a border: PX, PX,reflect or PX,COLOUR (e.g. 32,white or 16,#202020)"},
    )
    # After painting, in this order: denoise, brightness, contrast, saturation, hue, sharpen.
    denoise: float = field(default=0.0, metadata={"help": "after: smooth away noise, 0 (off) to 1"})
    brightness: float = field(default=1.0, metadata={"help": "after: brightness factor (1 = unchanged)"})
    contrast: float = field(default=1.0, metadata={"help": "after: contrast factor (1 = unchanged)"})
    saturation: float = field(
        default=1.0, metadata={"help": "after: colour saturation factor (1 = unchanged)"}
    )
    hue: float = field(default=0.0, metadata={"help": "after: turn the hues by this many degrees"})
    sharpen: float = field(default=0.0, metadata={"help": "after: unsharp-mask amount, 0 (off) to 5"})

    def __post_init__(self) -> None:
        validate(self)

    @property
    def before(self) -> Before:
        """The adjustments made to the photo before painting."""
        from brushwork.finishing.before import Before, parse_box, parse_pad

        return Before(
            crop=parse_box(self.crop) if self.crop else None,
            rotate=self.rotate,
            flip=self.flip,
            pad=parse_pad(self.pad) if self.pad else None,
        )

    @property
    def after(self) -> After:
        """The adjustments made to the painting."""
        from brushwork.finishing.after import After

        return After(
            brightness=self.brightness,
            contrast=self.contrast,
            saturation=self.saturation,
            hue=self.hue,
            sharpen=self.sharpen,
            denoise=self.denoise,
        )

    @property
    def preset(self) -> QualityPreset:
        return QUALITY_PRESETS[self.quality]

    @property
    def start(self) -> str:
        """What the optimizer starts from: ``init``, or the preset's choice."""
        return self.init if self.init is not None else self.preset.init

    @property
    def first_scale(self) -> int:
        """The long side of the pyramid's coarsest scale: ``pyramid_start``, or the preset's."""
        return self.pyramid_start if self.pyramid_start is not None else self.preset.pyramid_start

    @property
    def forms_limit(self) -> int | None:
        """``forms_size``, or the preset's; None when every scale optimises the full objective."""
        limit = self.forms_size if self.forms_size is not None else self.preset.forms_size
        return limit or None

    def detail_scales(self, sizes: Sequence[tuple[int, int]]) -> list[bool]:
        """Which scales only add brush detail (see :class:`QualityPreset`), coarse to fine. The first
        scale never does: it builds the painting from the start image, whatever its size."""
        limit = self.forms_limit
        return [limit is not None and index > 0 and max(size) > limit for index, size in enumerate(sizes)]

    @property
    def final_steps(self) -> int:
        return self.steps if self.steps is not None else self.preset.final_steps

    @property
    def coarse_steps_per_scale(self) -> int:
        return self.coarse_steps if self.coarse_steps is not None else self.preset.coarse_steps

    def steps_per_scale(self, sizes: Sequence[tuple[int, int]]) -> list[int]:
        """Iterations at each scale of the pyramid, coarse to fine.

        The first scale builds the style from the photo, so it gets the coarse scales' iterations even
        when it is also the last (a small output, or no pyramid); later scales refine what it built.
        With a ``forms_limit`` the scales up to it get a quarter fewer each (see
        :class:`QualityPreset`) and the detail scales above it ``final_steps``. An explicit ``steps``
        is used as given at the final scale. Scales above LARGE_SCALE_PIXELS get fewer.
        """
        final = self.final_steps
        coarse = self.coarse_steps_per_scale
        detail = self.detail_scales(sizes)
        if self.forms_limit is not None:
            planned = [
                final if is_detail else max(self.preset.min_steps, coarse // 4**index)
                for index, is_detail in enumerate(detail)
            ]
            if self.steps is not None:
                planned[-1] = self.steps
        else:
            if len(sizes) == 1 and self.steps is None:
                final = max(final, coarse)
            planned = [coarse] * (len(sizes) - 1) + [final]
        return [self.preset.steps_at(n, w * h) for n, (w, h) in zip(planned, sizes, strict=True)]

    @property
    def loss_weights(self) -> tuple[float, float]:
        """(content, style) weights, from ``strength`` when it is set.

        The style:content ratio is 100^(2·strength − 1): 0.01 at 0+, 1 at 0.5, 100 at 1. Because each
        term is a relative error, the same ratio gives a similar balance on any image, style or size.
        """
        if self.strength is None:
            return self.content_weight, self.style_weight
        if self.strength == 0:
            return 1.0, 0.0
        return 1.0, STRENGTH_RANGE ** (2 * self.strength - 1)

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _finite_non_negative(name: str, value: float) -> None:
    if not math.isfinite(value) or value < 0:
        raise SettingsError(f"{name.replace('_', '-')} must be a finite number >= 0, got {value}")


def _one_of(name: str, value: object, choices: tuple[object, ...]) -> None:
    if value not in choices:
        allowed = ", ".join(str(c) for c in choices)
        raise SettingsError(f"{name.replace('_', '-')} must be one of {allowed}, got {value!r}")


def validate(s: Settings) -> None:
    """Raise :class:`SettingsError` naming the first setting that is out of range."""
    if not MIN_SIZE <= s.size <= MAX_SIZE:
        raise SettingsError(f"size must be between {MIN_SIZE} and {MAX_SIZE} pixels, got {s.size}")
    if s.forms_size is not None and not (s.forms_size == 0 or 16 <= s.forms_size <= MAX_SIZE):
        raise SettingsError(
            f"forms-size must be 0 (off) or between 16 and {MAX_SIZE} pixels, got {s.forms_size}"
        )
    if s.pyramid_start is not None and not 16 <= s.pyramid_start <= MAX_SIZE:
        raise SettingsError(f"pyramid-start must be between 16 and {MAX_SIZE} pixels, got {s.pyramid_start}")
    for name in ("steps", "coarse_steps"):
        value = getattr(s, name)
        if value is not None and value < 1:
            raise SettingsError(f"{name.replace('_', '-')} must be at least 1, got {value}")
    for name in ("content_weight", "style_weight", "tv_weight", "learning_rate"):
        _finite_non_negative(name, getattr(s, name))
    if s.strength is not None and not (math.isfinite(s.strength) and 0 <= s.strength <= 1):
        raise SettingsError(f"strength must be between 0 and 1, got {s.strength}")
    low, high = STYLE_SCALE_RANGE
    if not (math.isfinite(s.style_scale) and low <= s.style_scale <= high):
        raise SettingsError(f"style-scale must be between {low} and {high:g}, got {s.style_scale}")
    for name in ("style_blend", "style_layer_weights"):
        values = getattr(s, name)
        if values is not None:
            for value in values:
                _finite_non_negative(name, value)
            if not any(values):
                raise SettingsError(f"{name.replace('_', '-')} must not be all zero")
    if not s.content_layers and not s.style_layers:
        raise SettingsError("at least one content or style layer is needed")
    check_layers(s.content_layers + s.style_layers)
    if s.style_layer_weights is not None and len(s.style_layer_weights) != len(s.style_layers):
        count, layers = len(s.style_layer_weights), len(s.style_layers)
        raise SettingsError(f"style-layer-weights has {count} values for {layers} style layers")
    _one_of("method", s.method, ("optimize", "fast"))
    if s.method == "fast":
        _check_fast(s)
    _one_of("quality", s.quality, tuple(QUALITY_PRESETS))
    _one_of("style_loss", s.style_loss, ("gram", "meancov"))
    _one_of("pooling", s.pooling, ("max", "avg"))
    _one_of("padding", s.padding, ("zeros", "reflect", "replicate"))
    _one_of("optimizer", s.optimizer, ("lbfgs", "adam"))
    _one_of("precision", s.precision, ("auto", "bf16", "fp32"))
    _one_of("preserve_color", s.preserve_color, (None, *COLOR_SPACES))
    _one_of("match_colors", s.match_colors, (None, "meancov", "histogram"))
    if s.max_memory is not None:
        parse_memory(s.max_memory)
    if s.tile_size is not None and (s.tile_size < 64 or s.tile_size % 16):
        raise SettingsError(f"tile-size must be a multiple of 16 and at least 64, got {s.tile_size}")
    if s.feather is not None and not (math.isfinite(s.feather) and 0 <= s.feather <= 1000):
        raise SettingsError(f"feather must be between 0 and 1000 pixels, got {s.feather}")
    if not (math.isfinite(s.protect_text_strength) and 0 <= s.protect_text_strength <= 1):
        raise SettingsError(f"protect-text-strength must be between 0 and 1, got {s.protect_text_strength}")
    if s.protect_text_strength != Settings.protect_text_strength and not s.protect_text:
        raise SettingsError("protect-text-strength needs --protect-text")
    if s.invert_mask and s.mask is None:
        raise SettingsError("invert-mask needs --mask")
    if s.subject_box is not None:
        keywords = {"subject", "background"}
        if s.mask not in keywords and not set(s.style_masks or ()) & keywords:
            raise SettingsError("subject-box applies to --mask subject or background")
        from brushwork.finishing.before import parse_box

        parse_box(s.subject_box, "subject-box")
    _one_of("flip", s.flip, (None, "horizontal", "vertical", "both"))
    s.before  # noqa: B018 (each spec checks its own values)
    s.after  # noqa: B018
    if s.style_masks is not None and not s.style_masks:
        raise SettingsError("style-masks needs one mask per style image")
    if s.seed is not None and not 0 <= s.seed <= MAX_SEED:
        raise SettingsError(f"seed must be between 0 and 2**63-1, got {s.seed}")


def _check_fast(s: Settings) -> None:
    defaults = Settings.__dataclass_fields__
    changed = [name for name in OPTIMIZER_ONLY if getattr(s, name) != defaults[name].default]
    if changed:
        flags = ", ".join("--" + name.replace("_", "-") for name in changed)
        verb = "applies" if len(changed) == 1 else "apply"
        raise SettingsError(f"{flags} only {verb} to --method optimize (the fast engine has no such setting)")
