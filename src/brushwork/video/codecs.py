"""Which encoder, profile and pixel format write a video: ``--codec``/``--profile``/``--pix-fmt`` or, left
out, the container's default (the source's own codec where the container holds it, so a ProRes clip
comes back ProRes). The pixel format keeps the source's bit depth and chroma subsampling where the
codec holds them (a 10-bit 4:2:2 clip stays 10-bit 4:2:2), else the nearest one it has."""

from __future__ import annotations

import re
from dataclasses import dataclass

import av
import av.error

from brushwork.errors import UserInputError

CODECS = ("h264", "h265", "prores", "dnxhr", "vp9", "av1", "ffv1")


@dataclass(frozen=True)
class CodecSpec:
    encoders: tuple[str, ...]  # FFmpeg encoders, in order of preference
    decoder_names: tuple[str, ...]  # FFmpeg's names for the codec in a source
    profiles: dict[str, str]  # --profile name -> the encoder's profile option
    quality: str | None  # "crf" for codecs with a constant-quality knob


CODEC_SPECS: dict[str, CodecSpec] = {
    "h264": CodecSpec(
        ("libx264",),
        ("h264",),
        {p: p for p in ("baseline", "main", "high", "high10", "high422", "high444")},
        "crf",
    ),
    "h265": CodecSpec(
        ("libx265",),
        ("hevc",),
        {p: p for p in ("main", "main10", "main12", "main422-10", "main422-12", "main444-8", "main444-10")},
        "crf",
    ),
    "prores": CodecSpec(
        ("prores_ks",),
        ("prores",),
        {
            "proxy": "proxy",
            "lt": "lt",
            "standard": "standard",
            "hq": "hq",
            "4444": "4444",
            "4444xq": "4444xq",
        },
        None,
    ),
    "dnxhr": CodecSpec(
        ("dnxhd",),
        ("dnxhd",),
        {p: f"dnxhr_{p}" for p in ("lb", "sq", "hq", "hqx", "444")},
        None,
    ),
    "vp9": CodecSpec(("libvpx-vp9",), ("vp9",), {}, "crf"),
    "av1": CodecSpec(("libsvtav1", "libaom-av1"), ("av1", "libdav1d", "libaom-av1"), {}, "crf"),
    "ffv1": CodecSpec(("ffv1",), ("ffv1",), {}, None),
}

# The pixel formats each profile is made for (the rest take whatever the source suggests).
PROFILE_FORMATS: dict[tuple[str, str], tuple[str, ...]] = {
    ("h264", "baseline"): ("yuv420p",),
    ("h264", "main"): ("yuv420p",),
    ("h264", "high"): ("yuv420p",),
    ("h264", "high10"): ("yuv420p10le", "yuv420p"),
    ("h264", "high422"): ("yuv422p10le", "yuv422p"),
    ("h265", "main"): ("yuv420p",),
    ("h265", "main10"): ("yuv420p10le",),
    ("h265", "main12"): ("yuv420p12le",),
    ("h265", "main422-10"): ("yuv422p10le",),
    ("h265", "main444-10"): ("yuv444p10le",),
    ("prores", "4444"): ("yuv444p10le",),
    ("prores", "4444xq"): ("yuv444p10le",),
    ("dnxhr", "lb"): ("yuv422p",),
    ("dnxhr", "sq"): ("yuv422p",),
    ("dnxhr", "hq"): ("yuv422p",),
    ("dnxhr", "hqx"): ("yuv422p10le",),
    ("dnxhr", "444"): ("yuv444p10le",),
}

# container -> codecs it holds, the first being its default
CONTAINER_CODECS: dict[str, tuple[str, ...]] = {
    "mp4": ("h264", "h265", "av1", "vp9"),
    "mov": ("h264", "prores", "dnxhr", "h265"),
    "matroska": ("h264", "h265", "prores", "dnxhr", "vp9", "av1", "ffv1"),
    "webm": ("vp9", "av1"),
}


@dataclass(frozen=True)
class Encoding:
    """What a video stream is written with."""

    codec: str  # one of CODECS, or the container's fixed codec ("gif", "mpeg4")
    encoder: str  # FFmpeg encoder
    pix_fmt: str
    profile: str | None  # --profile name
    options: dict[str, str]

    @property
    def bits(self) -> int:
        return pixel_bits(self.pix_fmt)


def pixel_bits(pix_fmt: str) -> int:
    """Bits per sample of an FFmpeg pixel format: ``yuv422p10le`` → 10, ``yuv420p`` → 8."""
    if pix_fmt in ("rgb48le", "rgb48be", "rgba64le", "rgba64be", "gbrpf32le"):
        return 16
    found = re.search(r"p(\d+)(le|be)$", pix_fmt)
    return int(found.group(1)) if found else 8


def chroma(pix_fmt: str) -> str:
    """'420', '422', '444' (RGB counts as 444)."""
    for name in ("420", "422", "444"):
        if name in pix_fmt:
            return name
    return "444"


def has_encoder(name: str) -> bool:
    try:
        av.codec.Codec(name, "w")
    except (av.error.FFmpegError, ValueError):
        return False
    return True


def encoder_for(codec: str) -> str | None:
    """The first encoder of ``codec`` this FFmpeg build has (None: none)."""
    return next((name for name in CODEC_SPECS[codec].encoders if has_encoder(name)), None)


def codec_of_source(source_codec: str) -> str | None:
    """Our name for a source's codec (``hevc`` → ``h265``), None when it is none of ours."""
    return next((name for name, spec in CODEC_SPECS.items() if source_codec in spec.decoder_names), None)


def choose(
    container: str,
    name: str,
    *,
    codec: str | None,
    profile: str | None,
    pix_fmt: str | None,
    source_codec: str | None,
    source_pix_fmt: str | None,
    source_profile: str | None = None,
) -> Encoding:
    """The encoding for an output ``name`` in ``container``; raises UserInputError naming the problem."""
    held = CONTAINER_CODECS.get(container, ())
    if codec is None:
        same = codec_of_source(source_codec or "")
        codec = same if same in held and same is not None and encoder_for(same) else held[0]
    if codec not in CODEC_SPECS:
        raise UserInputError(f"unknown codec {codec!r} (choose from {', '.join(CODECS)})")
    if codec not in held:
        raise UserInputError(
            f"cannot write {name!r}: {container} does not hold {codec} "
            f"(it holds {', '.join(held)}; .mkv holds every codec)"
        )
    encoder = encoder_for(codec)
    if encoder is None:
        raise UserInputError(
            f"cannot write {name!r}: this FFmpeg build (PyAV's wheel) has no {codec} encoder "
            f"({' or '.join(CODEC_SPECS[codec].encoders)})"
        )
    spec = CODEC_SPECS[codec]
    if profile is None and codec == "prores" and source_codec == "prores" and source_profile:
        profile = _prores_profile(source_profile)
    if profile is not None and profile not in spec.profiles:
        choices = ", ".join(spec.profiles) or "none: it has no profiles to choose"
        raise UserInputError(f"unknown profile {profile!r} for {codec} (choose from {choices})")
    formats = supported_formats(encoder)
    wanted = PROFILE_FORMATS.get((codec, profile or ""), ())
    if pix_fmt is not None:
        if pix_fmt not in formats:
            raise UserInputError(
                f"{codec} ({encoder}) cannot write pixel format {pix_fmt!r} (it writes {', '.join(formats)})"
            )
        chosen = pix_fmt
    elif wanted:
        chosen = next((fmt for fmt in wanted if fmt in formats), formats[0])
    else:
        chosen = nearest_format(source_pix_fmt or "yuv420p", formats, codec)
    if profile is None and codec == "dnxhr":
        profile = {"422": "hqx" if pixel_bits(chosen) > 8 else "hq", "444": "444"}.get(chroma(chosen), "hq")
        chosen = next(iter(PROFILE_FORMATS[("dnxhr", profile)]))
    if profile is None and codec == "prores":
        profile = "4444" if chroma(chosen) == "444" else "hq"
    return Encoding(codec, encoder, chosen, profile, _options(codec, encoder, profile))


def _prores_profile(name: str) -> str | None:
    """FFmpeg's ProRes profile name (``HQ``, ``XQ``, ...) as a --profile name."""
    key = name.lower().replace(" ", "")
    return {
        "proxy": "proxy",
        "lt": "lt",
        "standard": "standard",
        "hq": "hq",
        "4444": "4444",
        "xq": "4444xq",
    }.get(key)


def supported_formats(encoder: str) -> list[str]:
    codec = av.codec.Codec(encoder, "w")
    return [fmt.name for fmt in codec.video_formats or ()]


def nearest_format(source: str, formats: list[str], codec: str) -> str:
    """The encoder's pixel format nearest the source's: same chroma and bits if it has them; else more
    bits rather than fewer (up to 12), then more chroma rather than less."""
    bits = min(max(pixel_bits(source), 8), 16)
    wanted_chroma = chroma(source)
    if not source.startswith(("yuv", "nv")) and codec in ("h264", "h265", "vp9", "av1"):
        wanted_chroma = "420"  # RGB frames (image files) go to the delivery codecs as players expect
    chroma_order = {"420": ("420", "422", "444"), "422": ("422", "444", "420"), "444": ("444", "422", "420")}
    bit_order = sorted((8, 10, 12, 16), key=lambda b: (b < bits, abs(b - bits)))
    for c in chroma_order[wanted_chroma]:
        for b in bit_order:
            name = f"yuv{c}p" if b == 8 else f"yuv{c}p{b}le"
            if name in formats:
                return name
    return formats[0]


def _options(codec: str, encoder: str, profile: str | None) -> dict[str, str]:
    options: dict[str, str] = {}
    if profile is not None:
        options["profile"] = CODEC_SPECS[codec].profiles[profile]
    if encoder == "libx265":
        options["x265-params"] = "log-level=error"
    if encoder == "ffv1":
        options.update({"level": "3", "slicecrc": "1"})
    return options
