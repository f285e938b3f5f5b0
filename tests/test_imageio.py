"""Tests for brushwork.imageio: decoding, colour management, atomic writing and resizing."""

from __future__ import annotations

import io
import logging
import os
import stat
import struct
import sys
import warnings
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image, ImageCms, ImageOps

from brushwork import imageio
from brushwork.errors import ImageReadError, SettingsError, UserInputError
from brushwork.imageio import Picture, check_output_path, fit_long_side, read_image, resize, write_image

RNG_SEED = 1234


# ----------------------------------------------------------------------------------------------- helpers


def random_rgb8(height: int = 24, width: int = 32, channels: int = 3) -> npt.NDArray[np.float32]:
    """Random values that are exact multiples of 1/255, so 8-bit round trips can be compared exactly."""
    values = np.random.default_rng(RNG_SEED).integers(0, 256, (height, width, channels))
    return (values.astype(np.float32) / np.float32(255)).squeeze()


def smooth_rgb(height: int = 48, width: int = 64) -> npt.NDArray[np.float32]:
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    return np.dstack([x / (width - 1), y / (height - 1), 0.25 + 0.5 * (x + y) / (width + height)])


def png_chunk(chunk_type: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + chunk_type + data + struct.pack(">I", zlib.crc32(chunk_type + data))


def png16_bytes(samples: npt.NDArray[np.uint16], extra_chunks: bytes = b"") -> bytes:
    """An independent, unfiltered 16-bit PNG encoder (grey, RGB or RGBA)."""
    height, width, channels = samples.shape
    colour_type = {1: 0, 3: 2, 4: 6}[channels]
    raw = b"".join(b"\0" + samples[y].astype(">u2").tobytes() for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 16, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + extra_chunks
        + png_chunk(b"IDAT", zlib.compress(raw))
        + png_chunk(b"IEND", b"")
    )


def linear_srgb_icc() -> bytes:
    """A minimal ICC v2 RGB profile with sRGB primaries and a linear (gamma 1.0) tone curve."""

    def xyz(x: float, y: float, z: float) -> bytes:
        return b"XYZ \0\0\0\0" + struct.pack(">3i", *(round(v * 65536) for v in (x, y, z)))

    description = b"linear sRGB test"
    tags = {
        b"desc": b"desc\0\0\0\0"
        + struct.pack(">I", len(description) + 1)
        + description
        + b"\0"
        + bytes(4 + 4 + 2 + 1 + 67),
        b"wtpt": xyz(0.9642, 1.0, 0.8249),
        b"rXYZ": xyz(0.4361, 0.2225, 0.0139),
        b"gXYZ": xyz(0.3851, 0.7169, 0.0971),
        b"bXYZ": xyz(0.1431, 0.0606, 0.7141),
        b"rTRC": b"curv\0\0\0\0" + struct.pack(">IH", 1, 0x0100) + b"\0\0",
        b"cprt": b"text\0\0\0\0public domain\0",
    }
    tags[b"gTRC"] = tags[b"bTRC"] = tags[b"rTRC"]
    offset = 128 + 4 + 12 * len(tags)
    table, body = struct.pack(">I", len(tags)), b""
    for signature, data in tags.items():
        data += bytes(-len(data) % 4)
        table += signature + struct.pack(">II", offset + len(body), len(data))
        body += data
    header = bytearray(128)
    header[8:12] = bytes([2, 0x10, 0, 0])
    header[12:24] = b"mntrRGB XYZ "
    header[36:40] = b"acsp"
    header[68:80] = struct.pack(">3i", *(round(v * 65536) for v in (0.9642, 1.0, 0.8249)))
    profile = bytes(header) + table + body
    return struct.pack(">I", len(profile)) + profile[4:]


def assert_read_error(path: Path | str, **kwargs: Any) -> str:
    with pytest.raises(ImageReadError) as caught:
        read_image(path, **kwargs)
    message = str(caught.value)
    assert os.fspath(path) in message or repr(os.fspath(path)) in message
    assert "\n" not in message
    return message


# ---------------------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("extension", [".png", ".tif", ".tiff", ".bmp"])
def test_lossless_formats_round_trip_exactly(tmp_path: Path, extension: str) -> None:
    rgb = random_rgb8()
    path = tmp_path / f"out{extension}"
    write_image(path, rgb)
    picture = read_image(path)
    assert (picture.bits, picture.alpha, picture.size) == (8, None, (32, 24))
    assert picture.rgb.dtype == np.float32
    np.testing.assert_array_equal(picture.rgb, rgb)


@pytest.mark.parametrize("extension", [".jpg", ".jpeg", ".webp"])
def test_lossy_formats_round_trip_closely(tmp_path: Path, extension: str) -> None:
    rgb = smooth_rgb()
    path = tmp_path / f"out{extension}"
    write_image(path, rgb, quality=95)
    picture = read_image(path)
    assert (picture.bits, picture.alpha, picture.size) == (8, None, (64, 48))
    error = np.abs(picture.rgb - rgb)
    assert error.mean() < 0.01 and error.max() < 0.08


def test_lower_quality_gives_smaller_jpeg(tmp_path: Path) -> None:
    rgb = random_rgb8(64, 64)
    write_image(tmp_path / "high.jpg", rgb, quality=95)
    write_image(tmp_path / "low.jpg", rgb, quality=20)
    assert (tmp_path / "low.jpg").stat().st_size < (tmp_path / "high.jpg").stat().st_size


@pytest.mark.parametrize("extension", [".png", ".tif", ".webp"])
def test_alpha_round_trips(tmp_path: Path, extension: str) -> None:
    rgb = smooth_rgb()
    alpha = np.tile(np.linspace(0, 1, 64, dtype=np.float32), (48, 1))
    path = tmp_path / f"out{extension}"
    write_image(path, rgb, alpha=alpha)
    picture = read_image(path)
    assert picture.alpha is not None and picture.alpha.dtype == np.float32
    tolerance = 0.02 if extension == ".webp" else 0.5 / 255
    np.testing.assert_allclose(picture.alpha, alpha, atol=tolerance)
    opaque = alpha > 0.5
    np.testing.assert_allclose(
        picture.rgb[opaque], rgb[opaque], atol=0.03 if extension == ".webp" else 0.5 / 255
    )


@pytest.mark.parametrize("extension", [".jpg", ".bmp"])
def test_alpha_is_flattened_onto_white_where_unsupported(
    tmp_path: Path, extension: str, caplog: pytest.LogCaptureFixture
) -> None:
    rgb = np.zeros((16, 16, 3), np.float32)
    alpha = np.zeros((16, 16), np.float32)
    alpha[:, 8:] = 1.0
    with caplog.at_level(logging.WARNING, logger="brushwork.imageio"):
        write_image(tmp_path / f"out{extension}", rgb, alpha=alpha)
    assert "alpha" in caplog.text
    picture = read_image(tmp_path / f"out{extension}")
    assert picture.alpha is None
    assert picture.rgb[:, :4].min() > 0.95  # transparent black became white
    assert picture.rgb[:, 12:].max() < 0.05  # opaque black stayed black


# ----------------------------------------------------------------------------------------- input modes


def save(image: Image.Image, path: Path, **params: Any) -> Path:
    image.save(path, **params)
    return path


def opened(path: Path) -> Image.Image:
    """The file as Pillow decodes it, fully loaded and closed."""
    with Image.open(path) as image:
        image.load()
        return image


def test_mode_1_becomes_black_and_white(tmp_path: Path) -> None:
    bits = np.zeros((16, 16), bool)
    bits[:, 8:] = True
    picture = read_image(save(Image.fromarray(bits), tmp_path / "bw.png"))
    assert opened(tmp_path / "bw.png").mode == "1"
    assert picture.bits == 8
    np.testing.assert_array_equal(picture.rgb[..., 0], bits.astype(np.float32))
    np.testing.assert_array_equal(picture.rgb[..., 0], picture.rgb[..., 2])


@pytest.mark.parametrize("extension", [".png", ".tif", ".bmp", ".jpg"])
def test_greyscale_becomes_three_equal_channels(tmp_path: Path, extension: str) -> None:
    grey = np.tile(np.arange(0, 256, 8, dtype=np.uint8), (16, 1))
    picture = read_image(save(Image.fromarray(grey), tmp_path / f"grey{extension}"))
    assert picture.rgb.shape == (16, 32, 3) and picture.alpha is None
    np.testing.assert_array_equal(picture.rgb[..., 0], picture.rgb[..., 1])
    np.testing.assert_array_equal(picture.rgb[..., 0], picture.rgb[..., 2])
    tolerance = 3 / 255 if extension == ".jpg" else 1e-7
    np.testing.assert_allclose(picture.rgb[..., 0], grey / 255, atol=tolerance)


PALETTE = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)]


def palette_image() -> Image.Image:
    image = Image.fromarray(np.repeat(np.arange(4, dtype=np.uint8), 4)[None, :].repeat(4, axis=0), mode="P")
    image.putpalette([value for colour in PALETTE for value in colour])
    return image


@pytest.mark.parametrize("extension", [".png", ".gif", ".bmp", ".tif"])
def test_palette_image_gives_its_colours(tmp_path: Path, extension: str) -> None:
    path = save(palette_image(), tmp_path / f"palette{extension}")
    assert opened(path).mode == "P"
    picture = read_image(path)
    assert picture.alpha is None
    np.testing.assert_array_equal(picture.rgb[0, ::4] * 255, np.array(PALETTE, np.float32))


@pytest.mark.parametrize("extension", [".png", ".gif"])
def test_palette_transparency_becomes_alpha(tmp_path: Path, extension: str) -> None:
    path = save(palette_image(), tmp_path / f"palette{extension}", transparency=1)
    picture = read_image(path)
    assert picture.alpha is not None
    np.testing.assert_array_equal(picture.alpha[0, ::4], [1.0, 0.0, 1.0, 1.0])
    np.testing.assert_array_equal(picture.rgb[0, 8] * 255, PALETTE[2])


def test_la_keeps_grey_and_alpha(tmp_path: Path) -> None:
    la = np.dstack([np.full((8, 8), 100, np.uint8), np.tile(np.arange(0, 256, 32, dtype=np.uint8), (8, 1))])
    path = save(Image.fromarray(la, mode="LA"), tmp_path / "la.png")
    assert opened(path).mode == "LA"
    picture = read_image(path)
    assert picture.alpha is not None
    np.testing.assert_array_equal(picture.alpha, la[..., 1] / np.float32(255))
    np.testing.assert_array_equal(picture.rgb, np.full((8, 8, 3), 100 / np.float32(255)))


@pytest.mark.parametrize("extension", [".jpg", ".tif"])
def test_cmyk_is_converted_to_rgb(tmp_path: Path, extension: str) -> None:
    swatches = [(0, 0, 0, 0), (0, 255, 255, 0), (255, 0, 255, 0), (0, 0, 0, 255)]
    cmyk = np.repeat(np.array(swatches, np.uint8), 8, axis=0)[None].repeat(8, axis=0)
    path = save(Image.frombytes("CMYK", (32, 8), cmyk.tobytes()), tmp_path / f"cmyk{extension}")
    assert opened(path).mode == "CMYK"
    picture = read_image(path)
    expected = np.array([(1, 1, 1), (1, 0, 0), (0, 1, 0), (0, 0, 0)], np.float32)
    np.testing.assert_allclose(picture.rgb[4, 4::8], expected, atol=0.05)


def test_16bit_greyscale_png_keeps_precision(tmp_path: Path) -> None:
    values = np.arange(0, 65536, 257 * 3 + 1, dtype=np.uint16)[:64].reshape(8, 8)
    path = tmp_path / "grey16.png"
    path.write_bytes(png16_bytes(values[..., None]))
    assert opened(path).mode.startswith("I")
    picture = read_image(path)
    assert picture.bits == 16
    np.testing.assert_array_equal(picture.rgb[..., 1], values / np.float32(65535))
    np.testing.assert_array_equal(picture.rgb[..., 0], picture.rgb[..., 2])


@pytest.mark.parametrize("mode", ["I;16", "I;16B", "I"])
def test_16bit_and_integer_greyscale_tiff(tmp_path: Path, mode: str) -> None:
    values = np.arange(0, 64 * 1000, 1000, dtype=np.int64).reshape(8, 8)
    image = Image.new(mode, (8, 8))
    image.putdata(values.ravel().tolist())
    path = save(image, tmp_path / "grey16.tif")
    assert opened(path).mode == mode
    picture = read_image(path)
    assert picture.bits == 16
    np.testing.assert_array_equal(picture.rgb[..., 0], values.astype(np.float32) / np.float32(65535))


def test_float_tiff_is_read_as_unit_range(tmp_path: Path) -> None:
    values = np.linspace(-0.5, 1.5, 64, dtype=np.float32).reshape(8, 8)
    path = save(Image.fromarray(values), tmp_path / "float.tif")
    picture = read_image(path)
    assert picture.bits == 16
    np.testing.assert_array_equal(picture.rgb[..., 2], np.clip(values, 0, 1))


@pytest.mark.parametrize("channels", [3, 4])
def test_16bit_rgb_png_keeps_precision(tmp_path: Path, channels: int) -> None:
    samples = np.random.default_rng(RNG_SEED).integers(0, 65536, (9, 7, channels)).astype(np.uint16)
    path = tmp_path / "rgb16.png"
    path.write_bytes(png16_bytes(samples))
    picture = read_image(path)
    assert picture.bits == 16
    np.testing.assert_array_equal(picture.rgb, samples[..., :3] / np.float32(65535))
    if channels == 4:
        assert picture.alpha is not None
        np.testing.assert_array_equal(picture.alpha, samples[..., 3] / np.float32(65535))


def test_16bit_rgb_png_colour_key_becomes_alpha(tmp_path: Path) -> None:
    samples = np.array([[[1000, 2000, 3000], [1000, 2000, 3001]]], np.uint16)
    path = tmp_path / "key.png"
    path.write_bytes(png16_bytes(samples, png_chunk(b"tRNS", struct.pack(">3H", 1000, 2000, 3000))))
    picture = read_image(path)
    assert picture.bits == 16 and picture.alpha is not None
    np.testing.assert_array_equal(picture.alpha, [[0.0, 1.0]])


def test_gif_gives_first_frame(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (16, 16), colour) for colour in [(255, 0, 0), (0, 0, 255)]]
    path = tmp_path / "animated.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    with Image.open(path) as image:
        assert getattr(image, "n_frames", 1) == 2
    picture = read_image(path)
    np.testing.assert_array_equal(picture.rgb, np.broadcast_to(np.array([1, 0, 0], np.float32), (16, 16, 3)))


def test_multi_picture_jpeg_gives_first_picture(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (16, 16), colour) for colour in [(0, 255, 0), (255, 0, 255)]]
    path = tmp_path / "stereo.jpg"
    frames[0].save(path, format="MPO", save_all=True, append_images=frames[1:])
    assert opened(path).format == "MPO"
    np.testing.assert_allclose(read_image(path).rgb, np.broadcast_to([0.0, 1.0, 0.0], (16, 16, 3)), atol=0.02)


# ---------------------------------------------------------------------------------- EXIF orientation


def exif_with_orientation(orientation: int) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif


def test_orientation_6_rotates_clockwise(tmp_path: Path) -> None:
    pixels = np.zeros((10, 20, 3), np.uint8)
    pixels[0, 19] = (255, 0, 0)  # top right of the stored image
    path = save(Image.fromarray(pixels), tmp_path / "rotated.png", exif=exif_with_orientation(6))
    picture = read_image(path)
    assert picture.size == (10, 20)
    np.testing.assert_array_equal(picture.rgb[19, 9], [1, 0, 0])  # bottom right once displayed
    assert picture.rgb.sum() == 1.0


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_orientation_matches_pillow(tmp_path: Path, orientation: int) -> None:
    rgb = random_rgb8(6, 11)
    alpha = random_rgb8(6, 11, 1)
    rgba = np.rint(np.dstack([rgb, alpha]) * 255).astype(np.uint8)
    path = save(Image.fromarray(rgba), tmp_path / "oriented.png", exif=exif_with_orientation(orientation))
    expected = np.asarray(ImageOps.exif_transpose(opened(path))) / np.float32(255)
    picture = read_image(path)
    assert picture.alpha is not None
    np.testing.assert_array_equal(picture.rgb, expected[..., :3])
    np.testing.assert_array_equal(picture.alpha, expected[..., 3])


def test_jpeg_orientation_is_applied(tmp_path: Path) -> None:
    path = save(Image.new("RGB", (20, 10), "white"), tmp_path / "rotated.jpg", exif=exif_with_orientation(8))
    assert read_image(path).size == (10, 20)


# ------------------------------------------------------------------------------------ colour profiles


def test_icc_profile_is_converted_to_srgb(tmp_path: Path) -> None:
    path = save(
        Image.new("RGB", (8, 8), (128, 128, 128)), tmp_path / "linear.png", icc_profile=linear_srgb_icc()
    )
    picture = read_image(path)
    # Linear 0.502 is sRGB-encoded 0.737 (188/255).
    np.testing.assert_allclose(picture.rgb, 188 / 255, atol=2 / 255)


def test_icc_profile_on_16bit_image_keeps_16_bits(tmp_path: Path) -> None:
    samples = np.full((4, 4, 3), 32896, np.uint16)  # 0.502
    samples[1] = 32896 + 16  # a 16-bit step that 8 bits cannot tell apart
    icc = b"linear\0\0" + zlib.compress(linear_srgb_icc())
    path = tmp_path / "linear16.png"
    path.write_bytes(png16_bytes(samples, png_chunk(b"iCCP", icc)))
    picture = read_image(path)
    assert picture.bits == 16
    np.testing.assert_allclose(picture.rgb, 188 / 255, atol=2 / 255)
    assert (picture.rgb[1] > picture.rgb[0]).all()


def test_srgb_profile_leaves_values_unchanged(tmp_path: Path) -> None:
    rgb = random_rgb8()
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    image = Image.fromarray(np.rint(rgb * 255).astype(np.uint8))
    picture = read_image(save(image, tmp_path / "srgb.png", icc_profile=srgb))
    np.testing.assert_array_equal(picture.rgb, rgb)


@pytest.mark.parametrize("profile", [b"this is not an ICC profile", "lab"])
def test_unusable_icc_profile_is_ignored_with_a_warning(
    tmp_path: Path, profile: bytes | str, caplog: pytest.LogCaptureFixture
) -> None:
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes() if profile == "lab" else profile
    assert isinstance(icc, bytes)
    rgb = random_rgb8()
    image = Image.fromarray(np.rint(rgb * 255).astype(np.uint8))
    path = save(image, tmp_path / "broken.png", icc_profile=icc)
    with caplog.at_level(logging.WARNING, logger="brushwork.imageio"):
        picture = read_image(path)
    assert "ICC profile" in caplog.text and "broken.png" in caplog.text
    np.testing.assert_array_equal(picture.rgb, rgb)


@pytest.mark.parametrize(
    "extension, bits", [(".png", 8), (".jpg", 8), (".webp", 8), (".tif", 8), (".png", 16), (".tif", 16)]
)
def test_outputs_embed_an_srgb_profile(tmp_path: Path, extension: str, bits: int) -> None:
    path = tmp_path / f"out{extension}"
    write_image(path, smooth_rgb(), bits=bits)
    icc = opened(path).info.get("icc_profile")
    assert icc, "no ICC profile written"
    assert "sRGB" in ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc)))


# ------------------------------------------------------------------------------------- 16-bit output


@pytest.mark.parametrize("extension", [".png", ".tif"])
@pytest.mark.parametrize("with_alpha", [False, True])
def test_16bit_output_reads_back_exactly(tmp_path: Path, extension: str, with_alpha: bool) -> None:
    rng = np.random.default_rng(RNG_SEED)
    rgb = rng.random((23, 37, 3), dtype=np.float32)
    rgb[0, :3] = [0.0, 1.0, 0.5]
    alpha = rng.random((23, 37), dtype=np.float32) if with_alpha else None
    path = tmp_path / f"out{extension}"
    write_image(path, rgb, alpha=alpha, bits=16)

    picture = read_image(path)
    assert picture.bits == 16
    np.testing.assert_allclose(picture.rgb, rgb, atol=0.5 / 65535 + 1e-7)
    if alpha is None:
        assert picture.alpha is None
    else:
        assert picture.alpha is not None
        np.testing.assert_allclose(picture.alpha, alpha, atol=0.5 / 65535 + 1e-7)

    # Independently of our reader: Pillow sees the high byte of every sample.
    with Image.open(path) as image:
        assert image.mode == ("RGBA" if with_alpha else "RGB")
        high = np.asarray(image)
    expected = np.rint(np.dstack([rgb] if alpha is None else [rgb, alpha]) * 65535).astype(np.uint16) >> 8
    np.testing.assert_array_equal(high, expected)


def test_16bit_png_is_compressed_with_prediction(tmp_path: Path) -> None:
    rgb = np.broadcast_to(np.linspace(0, 1, 256, dtype=np.float32)[None, :, None], (64, 256, 3))
    write_image(tmp_path / "ramp.png", rgb, bits=16)
    assert (tmp_path / "ramp.png").stat().st_size < rgb.size * 2 / 20


@pytest.mark.parametrize("extension", [".jpg", ".webp", ".bmp"])
def test_16bit_output_is_refused_for_8bit_formats(tmp_path: Path, extension: str) -> None:
    with pytest.raises(UserInputError, match="16-bit"):
        write_image(tmp_path / f"out{extension}", smooth_rgb(), bits=16)
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------------------------- metadata


METADATA = {"Software": "brushwork", "Comment": "style: Hokusai ✓"}


@pytest.mark.parametrize("bits", [8, 16])
def test_metadata_becomes_png_text_chunks(tmp_path: Path, bits: int) -> None:
    write_image(tmp_path / "out.png", smooth_rgb(), bits=bits, metadata=METADATA)
    with Image.open(tmp_path / "out.png") as image:
        assert getattr(image, "text", {}) == METADATA


@pytest.mark.parametrize("extension", [".jpg", ".webp"])
def test_metadata_becomes_exif_description(tmp_path: Path, extension: str) -> None:
    write_image(tmp_path / f"out{extension}", smooth_rgb(), metadata={"Software": "brushwork"})
    with Image.open(tmp_path / f"out{extension}") as image:
        assert image.getexif().get(0x010E) == "Software: brushwork"


@pytest.mark.parametrize("bits", [8, 16])
def test_metadata_becomes_tiff_description(tmp_path: Path, bits: int) -> None:
    write_image(tmp_path / "out.tif", smooth_rgb(), bits=bits, metadata={"Software": "brushwork"})
    with Image.open(tmp_path / "out.tif") as image:
        assert image.getexif().get(0x010E) == "Software: brushwork"


def test_invalid_png_keyword_is_refused_before_writing(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="keyword"):
        write_image(tmp_path / "out.png", smooth_rgb(), metadata={"": "empty keyword"})
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------------------- read errors


def test_missing_file(tmp_path: Path) -> None:
    assert "no such file" in assert_read_error(tmp_path / "missing.jpg")


def test_missing_file_with_newline_in_name_gives_one_line(tmp_path: Path) -> None:
    assert_read_error(tmp_path / "two\nlines.jpg")


def test_directory(tmp_path: Path) -> None:
    assert "directory" in assert_read_error(tmp_path)


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0, reason="needs POSIX permissions, not root")
def test_permission_denied(tmp_path: Path) -> None:
    path = save(Image.new("RGB", (4, 4)), tmp_path / "secret.png")
    path.chmod(0)
    try:
        assert "permission denied" in assert_read_error(path)
    finally:
        path.chmod(stat.S_IRUSR | stat.S_IWUSR)


def test_permission_denied_whoever_runs_the_tests(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = save(Image.new("RGB", (4, 4)), tmp_path / "secret.png")

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(imageio, "open", refuse, raising=False)
    assert "permission denied" in assert_read_error(path)


def test_text_file_is_not_an_image(tmp_path: Path) -> None:
    path = tmp_path / "notes.jpg"
    path.write_text("just some text\n")
    assert "not a JPEG, PNG" in assert_read_error(path)


def test_unsupported_format_is_refused(tmp_path: Path) -> None:
    path = save(Image.new("RGB", (4, 4)), tmp_path / "image.ppm")
    assert "not a JPEG, PNG" in assert_read_error(path)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    assert "empty" in assert_read_error(path)


def header_only_png(width: int, height: int, data: bytes = b"\0" * 100) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", zlib.compress(data))


@pytest.mark.parametrize("width, height", [(0, 10), (10, 0)])
def test_zero_size_png(tmp_path: Path, width: int, height: int) -> None:
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path = tmp_path / "zero.png"
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(b""))
        + png_chunk(b"IEND", b"")
    )
    assert_read_error(path)


@pytest.mark.parametrize("extension", [".jpg", ".png", ".webp", ".tif", ".gif", ".bmp"])
def test_truncated_files(tmp_path: Path, extension: str) -> None:
    path = tmp_path / f"image{extension}"
    save(Image.fromarray(np.rint(random_rgb8(64, 64) * 255).astype(np.uint8)), path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    message = assert_read_error(path)
    if extension in (".jpg", ".png"):
        assert "truncated" in message


def test_too_many_pixels(tmp_path: Path) -> None:
    path = save(Image.new("RGB", (64, 64)), tmp_path / "big.png")
    assert read_image(path, max_pixels=64 * 64).size == (64, 64)
    message = assert_read_error(path, max_pixels=64 * 64 - 1)
    assert "64x64" in message and "4095" in message


@pytest.mark.parametrize("width, height", [(12_000, 9_000), (100_000, 100_000)])
def test_decompression_bomb_is_refused_before_decoding(tmp_path: Path, width: int, height: int) -> None:
    # 108 Mpx sets off Pillow's warning and our limit; 10 Gpx sets off Pillow's own error.
    path = tmp_path / "bomb.png"
    path.write_bytes(header_only_png(width, height))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        message = assert_read_error(path)
    assert "truncated" not in message and ("pixels" in message or "large" in message)


# ---------------------------------------------------------------------------------- output validation


@pytest.mark.parametrize(
    "name, fmt",
    [
        ("a.png", "PNG"),
        ("a.JPG", "JPEG"),
        ("a.jpeg", "JPEG"),
        ("a.webp", "WebP"),
        ("a.tif", "TIFF"),
        ("a.tiff", "TIFF"),
        ("a.bmp", "BMP"),
    ],
)
def test_check_output_path_gives_the_format(tmp_path: Path, name: str, fmt: str) -> None:
    assert check_output_path(tmp_path / name) == fmt


@pytest.mark.parametrize("name", ["out.gif", "out", "out.png.txt"])
def test_check_output_path_refuses_unknown_extensions(tmp_path: Path, name: str) -> None:
    with pytest.raises(UserInputError) as caught:
        check_output_path(tmp_path / name)
    message = str(caught.value)
    assert name in message and ".png" in message and ".tiff" in message and "\n" not in message
    if name == "out.gif":
        assert "'.gif'" in message


def test_check_output_path_refuses_bad_locations(tmp_path: Path) -> None:
    (tmp_path / "file.txt").write_text("x")
    (tmp_path / "dir.png").mkdir()
    with pytest.raises(UserInputError, match="does not exist"):
        check_output_path(tmp_path / "missing" / "out.png")
    with pytest.raises(UserInputError, match="not a directory"):
        check_output_path(tmp_path / "file.txt" / "out.png")
    with pytest.raises(UserInputError, match="is a directory"):
        check_output_path(tmp_path / "dir.png")


def test_check_output_path_refuses_unwritable_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    with pytest.raises(UserInputError, match="not writable"):
        check_output_path(tmp_path / "out.png")


def test_write_refuses_bad_settings(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="quality"):
        write_image(tmp_path / "out.jpg", smooth_rgb(), quality=0)
    with pytest.raises(SettingsError, match="bits"):
        write_image(tmp_path / "out.png", smooth_rgb(), bits=12)
    with pytest.raises(UserInputError, match="extension"):
        write_image(tmp_path / "out.gif", smooth_rgb())
    with pytest.raises(ValueError, match="shape"):
        write_image(tmp_path / "out.png", smooth_rgb()[..., :2])
    assert list(tmp_path.iterdir()) == []


def test_write_clips_and_rounds(tmp_path: Path) -> None:
    rgb = np.array([[[-0.5, 1.5, 0.5 / 255 + 1e-4], [np.nan, 0.2, 1.0]]], np.float32)
    write_image(tmp_path / "out.png", rgb)
    pixels = np.asarray(opened(tmp_path / "out.png"))
    np.testing.assert_array_equal(pixels, [[[0, 255, 1], [0, 51, 255]]])


# ------------------------------------------------------------------------------------------ atomicity


def failing_save(error: BaseException) -> Any:
    def save(self: Image.Image, fp: Any, *args: Any, **kwargs: Any) -> None:
        fp.write(b"partial image data")
        raise error

    return save


@pytest.mark.parametrize("error", [OSError("disk full"), KeyboardInterrupt()])
def test_failed_write_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: BaseException
) -> None:
    target = tmp_path / "out.png"
    target.write_bytes(b"previous result")
    monkeypatch.setattr(Image.Image, "save", failing_save(error))
    with pytest.raises(type(error)):
        write_image(target, smooth_rgb())
    assert target.read_bytes() == b"previous result"
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]


@pytest.mark.parametrize("error", [OSError("disk full"), KeyboardInterrupt()])
def test_failed_16bit_write_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: BaseException
) -> None:
    target = tmp_path / "out.tif"
    target.write_bytes(b"previous result")
    monkeypatch.setattr(
        imageio, "_writer", lambda data: lambda fh: (fh.write(data[:100]), (_ for _ in ()).throw(error))
    )
    with pytest.raises(type(error)):
        write_image(target, smooth_rgb(), bits=16)
    assert target.read_bytes() == b"previous result"
    assert [p.name for p in tmp_path.iterdir()] == ["out.tif"]


def test_write_syncs_before_replacing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append("fsync")
        real_fsync(fd)

    def replace(source: str, target: str) -> None:
        events.append(f"replace {Path(source).name.startswith('.')} {Path(target).name}")
        real_replace(source, target)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    write_image(tmp_path / "out.webp", smooth_rgb())
    assert events == ["fsync", "replace True out.webp"]


def test_successful_overwrite_leaves_no_temporary_files(tmp_path: Path) -> None:
    target = tmp_path / "out.jpg"
    target.write_bytes(b"previous result")
    write_image(target, smooth_rgb())
    assert [p.name for p in tmp_path.iterdir()] == ["out.jpg"]
    assert read_image(target).size == (64, 48)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_written_file_permissions_follow_the_umask(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    try:
        write_image(tmp_path / "out.png", smooth_rgb())
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / "out.png").stat().st_mode) == 0o644


# ---------------------------------------------------------------------------------------------- sizing


def test_resize_gives_exact_shapes_and_float32() -> None:
    rgb = smooth_rgb(48, 64)
    out = resize(rgb, (32, 20))
    assert out.shape == (20, 32, 3) and out.dtype == np.float32
    plane = resize(rgb[..., 0], (100, 75))
    assert plane.shape == (75, 100) and plane.dtype == np.float32
    np.testing.assert_allclose(out.mean(axis=(0, 1)), rgb.mean(axis=(0, 1)), atol=0.01)


def test_resize_keeps_constants_and_clips_overshoot() -> None:
    np.testing.assert_allclose(resize(np.full((16, 16, 3), 0.3, np.float32), (7, 9)), 0.3, atol=1e-5)
    step = np.zeros((16, 16), np.float32)
    step[:, 8:] = 1.0
    out = resize(step, (40, 16))
    assert out.min() == 0.0 and out.max() == 1.0  # Lanczos rings beyond [0, 1] without the clip


def test_resize_antialiases_when_shrinking() -> None:
    checkerboard = (np.indices((64, 64)).sum(axis=0) % 2).astype(np.float32)
    np.testing.assert_allclose(resize(checkerboard, (8, 8)), 0.5, atol=0.02)


def test_resize_to_the_same_size_changes_nothing() -> None:
    rgb = random_rgb8()
    np.testing.assert_array_equal(resize(rgb, (32, 24)), rgb)


@pytest.mark.parametrize(
    "size, long_side, expected",
    [
        ((1000, 1), 512, (512, 1)),
        ((1, 1000), 512, (1, 512)),
        ((4000, 3000), 1000, (1000, 750)),
        ((3000, 4000), 1000, (750, 1000)),
        ((1920, 1080), 512, (512, 288)),
        ((100, 50), 200, (200, 100)),
        ((10, 3), 5, (5, 2)),  # 1.5 rounds up
        ((640, 480), 640, (640, 480)),
    ],
)
def test_fit_long_side(size: tuple[int, int], long_side: int, expected: tuple[int, int]) -> None:
    assert fit_long_side(size, long_side) == expected


def test_fit_long_side_refuses_nonsense() -> None:
    with pytest.raises(SettingsError):
        fit_long_side((10, 10), 0)
    with pytest.raises(ValueError):
        fit_long_side((0, 10), 5)


def test_picture_properties_and_validation() -> None:
    picture = Picture(rgb=np.zeros((3, 5, 3), np.float32), alpha=None, bits=8)
    assert (picture.width, picture.height, picture.size) == (5, 3, (5, 3))
    with pytest.raises(ValueError):
        Picture(rgb=np.zeros((3, 5), np.float32), alpha=None, bits=8)
    with pytest.raises(ValueError):
        Picture(rgb=np.zeros((3, 5, 3), np.float32), alpha=np.zeros((5, 3), np.float32), bits=8)
