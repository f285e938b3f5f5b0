"""Designers' formats and colour (issue 19): AVIF, HEIC, JPEG XL, PSD and OpenEXR read and written,
wide-gamut photos kept in their colour space, 16-bit kept, alpha kept, and bad files refused in one line.

Fixtures are made here by the libraries themselves: the AdobeRGB, Display P3 and ProPhoto profiles by
LittleCMS (imagecodecs.cms_profile, from the published primaries and tone curves), the pictures by
each format's writer.
"""

from __future__ import annotations

import io
import json
import struct
from pathlib import Path

import imagecodecs
import numpy as np
import numpy.typing as npt
import OpenEXR
import pytest
from PIL import Image, ImageCms
from psd_tools import PSDImage
from psd_tools.constants import Resource

from brushwork.cli import main
from brushwork.codecs import exr, icc
from brushwork.errors import ImageReadError
from brushwork.imageio import Layers, read_image, write_image

FloatArray = npt.NDArray[np.float32]
DATA = Path(__file__).parent / "data"

D65 = [0.3127, 0.3290]
ADOBE_RGB = imagecodecs.cms_profile(
    "rgb", whitepoint=D65, primaries=[0.64, 0.33, 0.21, 0.71, 0.15, 0.06], gamma=563 / 256
)
DISPLAY_P3 = imagecodecs.cms_profile(
    "rgb", whitepoint=D65, primaries=[0.680, 0.320, 0.265, 0.690, 0.150, 0.060], gamma=2.2
)
PROPHOTO = imagecodecs.cms_profile(
    "rgb", whitepoint=[0.3457, 0.3585], primaries=[0.7347, 0.2653, 0.1596, 0.8404, 0.0366, 0.0001], gamma=1.8
)
PROFILES = {"adobergb": ADOBE_RGB, "p3": DISPLAY_P3, "prophoto": PROPHOTO}


def smooth(height: int = 24, width: int = 32) -> FloatArray:
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    return np.dstack([x / (width - 1), y / (height - 1), 0.2 + 0.6 * (x + y) / (width + height)])


def ramp_alpha(height: int = 24, width: int = 32) -> FloatArray:
    return np.rint(np.linspace(0, 1, height * width).reshape(height, width) * 255).astype(np.float32) / 255


def photo(size: int = 48) -> FloatArray:
    """A real photograph (from the test data), small, in sRGB."""
    with Image.open(DATA / "tubingen.jpg") as image:
        small = image.convert("RGB").resize((size, size * 3 // 4), Image.Resampling.LANCZOS)
    return np.asarray(small, dtype=np.float32) / 255


def in_profile(rgb: FloatArray, profile: bytes) -> FloatArray:
    return icc.from_srgb(rgb, profile, "test")


def one_line_read_error(path: Path) -> str:
    with pytest.raises(ImageReadError) as caught:
        read_image(path)
    message = str(caught.value)
    assert "\n" not in message and repr(str(path)) in message
    return message


# ------------------------------------------------------------------------------------ each format


@pytest.mark.parametrize("extension", [".avif", ".heic", ".jxl", ".psd", ".exr"])
def test_each_new_format_round_trips(tmp_path: Path, extension: str) -> None:
    rgb = photo(32)
    path = tmp_path / f"out{extension}"
    write_image(path, rgb, quality=95)
    picture = read_image(path)
    assert picture.size == (32, 24)
    error = np.abs(picture.rgb - rgb)
    if extension == ".exr":  # linear light back through the picture's own tone map: shape, not numbers
        assert picture.tonemap is not None
        linear = exr.decode_srgb(rgb)
        np.testing.assert_allclose(picture.tonemap.inverse(picture.rgb), linear, rtol=1e-3, atol=1e-5)
    else:
        lossless = extension == ".psd"
        assert error.max() <= (0.5 / 255 if lossless else 0.25) and error.mean() < 0.02, extension


@pytest.mark.parametrize("extension", [".png", ".tif", ".jxl", ".exr"])
def test_alpha_is_kept_exactly(tmp_path: Path, extension: str) -> None:
    path = tmp_path / f"out{extension}"
    write_image(path, smooth(), alpha=ramp_alpha(), quality=100)
    picture = read_image(path)
    assert picture.alpha is not None
    np.testing.assert_allclose(picture.alpha, ramp_alpha(), atol=1e-6)


def test_psd_layers_keep_alpha_exactly(tmp_path: Path) -> None:
    path = tmp_path / "out.psd"
    write_image(path, smooth(), alpha=ramp_alpha(), layers=Layers(photo=smooth()))
    for layer in PSDImage.open(path):
        np.testing.assert_allclose(layer.numpy()[..., 3], ramp_alpha(), atol=1e-6)


@pytest.mark.parametrize("extension", [".avif", ".heic"])
def test_alpha_survives_lossy_formats(tmp_path: Path, extension: str) -> None:
    path = tmp_path / f"out{extension}"
    write_image(path, smooth(), alpha=ramp_alpha(), quality=95)
    picture = read_image(path)
    assert picture.alpha is not None
    assert np.abs(picture.alpha - ramp_alpha()).max() < 3 / 255


@pytest.mark.parametrize("extension", [".png", ".tif", ".psd", ".jxl"])
def test_16bit_round_trips_exactly(tmp_path: Path, extension: str) -> None:
    rgb = np.random.default_rng(1).random((9, 11, 3), dtype=np.float32)
    path = tmp_path / f"deep{extension}"
    write_image(path, rgb, bits=16, quality=100)
    picture = read_image(path)
    assert picture.bits == 16
    np.testing.assert_allclose(picture.rgb, rgb, atol=0.5 / 65535 + 1e-6)


def test_exr_is_float_linear_and_keeps_highlights(tmp_path: Path) -> None:
    linear = (np.random.default_rng(2).random((12, 16, 3), dtype=np.float32) ** 3) * 40  # up to 40x white
    source = tmp_path / "render.exr"
    source.write_bytes(exr.encode(linear, None, {}))
    picture = read_image(source)
    assert picture.tonemap is not None and picture.rgb.max() < 1.0  # nothing clipped for the networks
    out = tmp_path / "again.exr"
    write_image(out, picture.rgb, tonemap=picture.tonemap)
    channels = OpenEXR.File(str(out), separate_channels=True).channels()
    assert channels["R"].pixels.dtype == np.float32
    again = np.dstack([channels[key].pixels for key in "RGB"])
    np.testing.assert_allclose(again, linear, rtol=1e-4, atol=1e-6)


# ------------------------------------------------------------------------------------------ PSD


def test_psd_is_written_with_photo_painting_and_layer_mask(tmp_path: Path) -> None:
    painting, base = smooth(), smooth()[::-1].copy()
    mask = np.zeros((24, 32), np.float32)
    mask[:, 16:] = 1.0
    flat = painting * mask[..., None] + base * (1 - mask[..., None])
    path = tmp_path / "layers.psd"
    write_image(path, flat, bits=16, layers=Layers(photo=base, mask=mask, painting=painting))
    psd = PSDImage.open(path)
    assert [layer.name for layer in psd] == ["photo", "painting"]
    assert psd.depth == 16 and psd[1].has_mask() and not psd[0].has_mask()
    np.testing.assert_allclose(psd[0].numpy()[..., :3], base, atol=1 / 65535)
    np.testing.assert_allclose(psd[1].numpy()[..., :3], painting, atol=1 / 65535)
    assert psd[1].mask.topil().getextrema() == (0, 255)
    np.testing.assert_allclose(read_image(path).rgb, flat, atol=2 / 65535)  # the stored composite


def test_psd_without_a_composite_is_refused_in_one_line(tmp_path: Path) -> None:
    from psd_tools.psd.image_resources import ImageResource, VersionInfo

    path = tmp_path / "layers_only.psd"
    write_image(path, smooth())
    psd = PSDImage.open(path)
    info = VersionInfo(has_composite=False, writer="test", reader="test")
    psd.image_resources[Resource.VERSION_INFO] = ImageResource(key=Resource.VERSION_INFO, data=info)
    psd.save(path)
    assert "no flattened composite" in one_line_read_error(path)


# ------------------------------------------------------------------------------------- bad files


def exr_bomb(path: Path, width: int, height: int) -> Path:
    """A real OpenEXR header claiming a huge data window (no pixel data follows)."""
    data = exr.encode(np.zeros((2, 2, 3), np.float32), None, {})
    at = data.index(b"dataWindow\0box2i\0") + len(b"dataWindow\0box2i\0") + 4
    patched = data[:at] + struct.pack("<4i", 0, 0, width - 1, height - 1) + data[at + 16 :]
    path.write_bytes(patched)
    return path


def psd_bomb(path: Path, width: int, height: int) -> Path:
    path.write_bytes(struct.pack(">4sH6sHIIHH", b"8BPS", 1, b"\0" * 6, 3, height, width, 8, 3) + b"\0" * 64)
    return path


@pytest.mark.parametrize("make", [exr_bomb, psd_bomb])
def test_bombs_are_refused_from_the_header(
    tmp_path: Path, make: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert callable(make)
    path = make(tmp_path / "bomb.bin", 100_000, 100_000)
    # nothing may be decoded: the libraries are not even asked
    monkeypatch.setattr(OpenEXR, "File", lambda *a, **k: pytest.fail("OpenEXR was asked to decode"))
    monkeypatch.setattr(PSDImage, "open", lambda *a, **k: pytest.fail("psd-tools was asked to decode"))
    message = one_line_read_error(path)
    assert "100000x100000" in message and "limit" in message


def damaged(tmp_path: Path, extension: str) -> Path:
    """A file of the format, cut in half (or its header followed by garbage)."""
    source = tmp_path / f"good{extension}"
    write_image(source, smooth(64, 64), quality=80)
    data = source.read_bytes()
    path = tmp_path / f"bad{extension}"
    path.write_bytes(data[: max(40, len(data) // 2)] if extension != ".psd" else data[:30] + b"\xff" * 50)
    return path


@pytest.mark.parametrize("extension", [".avif", ".heic", ".jxl", ".psd", ".exr"])
def test_bad_files_give_one_line_and_exit_2(
    tmp_path: Path, extension: str, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = damaged(tmp_path, extension)
    one_line_read_error(bad)
    status = main(
        [str(bad), str(DATA / "starry_night.jpg"), "-o", str(tmp_path / "out.png"), "--method", "fast"]
    )
    captured = capsys.readouterr()
    assert status == 2 and "Traceback" not in captured.err
    assert len(captured.err.strip().splitlines()) == 1 and "bad" in captured.err
    assert not (tmp_path / "out.png").exists()


# ---------------------------------------------------------------------------------------- colour


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_wide_gamut_photo_is_seen_in_srgb_and_keeps_its_profile(tmp_path: Path, name: str) -> None:
    rgb = photo()
    values = in_profile(rgb, PROFILES[name])
    path = tmp_path / "wide.png"
    Image.fromarray(np.rint(values * 255).astype(np.uint8)).save(path, icc_profile=PROFILES[name])
    picture = read_image(path)
    assert picture.profile == PROFILES[name]
    assert np.abs(picture.rgb - rgb).max() < 3 / 255  # the networks see the sRGB colours


def run_fast_at_strength_0(tmp_path: Path, source: Path, output: str, *extra: str) -> Path:
    out = tmp_path / output
    argv = [
        str(source),
        str(DATA / "starry_night.jpg"),
        "-o",
        str(out),
        "--method",
        "fast",
        "--strength",
        "0",
    ]
    argv += ["--size", str(max(read_image(source).size)), "-q", *extra]
    assert main(argv) == 0
    return out


@pytest.mark.slow
def test_adobergb_photo_at_strength_0_comes_back_in_adobergb(tmp_path: Path) -> None:
    values = in_profile(photo(), ADOBE_RGB)
    source = tmp_path / "adobe.png"
    samples = np.rint(values * 255).astype(np.uint8)
    Image.fromarray(samples).save(source, icc_profile=ADOBE_RGB)
    for output in ("out.png", "out.tif", "out.psd", "out.webp"):
        out = run_fast_at_strength_0(tmp_path, source, output)
        if output == "out.psd":
            psd = PSDImage.open(out)
            embedded, back = psd.image_resources.get_data(Resource.ICC_PROFILE), psd.numpy()[..., :3] * 255
        else:
            with Image.open(out) as image:
                embedded, back = image.info.get("icc_profile"), np.asarray(image.convert("RGB"), np.float32)
        assert embedded == ADOBE_RGB, output
        if output == "out.webp":  # lossy: the profile is what counts
            continue
        assert np.abs(back - samples).max() <= 3, (output, np.abs(back - samples).max())
    web = run_fast_at_strength_0(tmp_path, source, "web.png", "--output-profile", "srgb")
    with Image.open(web) as image:
        assert "sRGB" in ImageCms.getProfileDescription(
            ImageCms.ImageCmsProfile(io.BytesIO(image.info["icc_profile"]))
        )
        assert np.abs(np.asarray(image, np.float32) / 255 - read_image(source).rgb).max() <= 1 / 255


@pytest.mark.slow
def test_16bit_photo_gives_16bit_output_through_a_profile(tmp_path: Path) -> None:
    values = in_profile(photo(), PROPHOTO)
    samples = np.rint(values * 65535).astype(np.uint16)
    source = tmp_path / "deep.tif"
    import tifffile

    tifffile.imwrite(source, samples, photometric="rgb", iccprofile=PROPHOTO)
    out = run_fast_at_strength_0(tmp_path, source, "out.png")
    assert Image.open(out).info.get("icc_profile") == PROPHOTO
    back = tifffile.imread(source)
    import cv2

    written = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)[..., ::-1]
    assert written.dtype == np.uint16
    # 16-bit precision survived the two ICC conversions: far below one 8-bit step
    assert np.abs(written.astype(np.int64) - back).max() <= 64
    eight = run_fast_at_strength_0(tmp_path, source, "eight.png", "--bit-depth", "8")
    assert cv2.imread(str(eight), cv2.IMREAD_UNCHANGED).dtype == np.uint8


@pytest.mark.slow
def test_exr_at_strength_0_comes_back_linear_with_the_mapping_recorded(tmp_path: Path) -> None:
    linear = exr.decode_srgb(photo()) * 8.0  # a bright scene, mostly above 1
    source = tmp_path / "render.exr"
    source.write_bytes(exr.encode(linear, None, {}))
    out = run_fast_at_strength_0(tmp_path, source, "out.exr")
    channels = OpenEXR.File(str(out), separate_channels=True).channels()
    again = np.dstack([channels[key].pixels for key in "RGB"])
    np.testing.assert_allclose(again, linear, rtol=0.02, atol=1e-3)
    record = json.loads(OpenEXR.File(str(out), header_only=True).header()["brushwork"])
    assert record["tonemap"]["operator"] == "reinhard" and record["tonemap"]["exposure"] > 0


# ------------------------------------------------------------------------------------ info, batch


def test_info_lists_the_formats(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info"]) == 0
    lines = {line.split("  ")[0].strip(): line for line in capsys.readouterr().out.splitlines()}
    for name in ("AVIF", "HEIC", "JPEG XL", "PSD", "OpenEXR"):
        assert "read, write" in lines[f"format {name}"], lines
    assert "read (" in lines["format GIF"]


def test_batch_knows_every_format() -> None:
    from brushwork.batch.items import IMAGE_EXTENSIONS, OUTPUT_FORMATS

    for extension in (".heic", ".heif", ".avif", ".jxl", ".psd", ".psb", ".exr"):
        assert extension in IMAGE_EXTENSIONS
    assert {"avif", "heic", "jxl", "psd", "exr"} <= set(OUTPUT_FORMATS)


@pytest.mark.parametrize("container", [False, True])
@pytest.mark.parametrize(("height", "width"), [(24, 32), (17, 33), (90, 160), (3, 700)])
def test_jpeg_xl_size_is_read_from_the_header(container: bool, height: int, width: int) -> None:
    from brushwork.codecs.raster import jxl_size

    pixels = np.zeros((height, width, 3), np.uint8)
    data = bytes(imagecodecs.jpegxl_encode(pixels, lossless=True, usecontainer=container))
    assert jxl_size(data) == (width, height)


def test_jpeg_xl_bomb_is_refused_from_the_header(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "big.jxl"
    path.write_bytes(bytes(imagecodecs.jpegxl_encode(np.zeros((600, 800, 3), np.uint8), lossless=True)))
    monkeypatch.setattr(
        imagecodecs, "jpegxl_decode", lambda *a, **k: pytest.fail("libjxl was asked to decode")
    )
    with pytest.raises(ImageReadError, match="800x600"):
        read_image(path, max_pixels=100_000)


@pytest.mark.slow
def test_batch_reads_and_writes_the_new_formats(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from brushwork.batch.worker import read_key

    photos = tmp_path / "photos"
    photos.mkdir()
    for extension in (".heic", ".avif", ".jxl", ".psd", ".exr"):
        write_image(photos / f"{extension[1:]}{extension}", photo(), quality=90)
    style = str(DATA / "starry_night.jpg")
    tiny = ["--method", "fast", "--size", "32", "--jobs", "1", "--threads", "1", "-q"]
    for fmt in ("psd", "exr", "heic"):
        out = tmp_path / fmt
        assert main(["batch", str(photos), "--styles", style, "-o", str(out), "--format", fmt, *tiny]) == 0
        made = sorted(p for p in out.glob(f"*.{fmt}"))
        assert [p.name.split("__")[0] for p in made] == ["avif", "exr", "heic", "jxl", "psd"], made
        for path in made:
            assert read_image(path).size == (32, 24)
        if fmt == "psd":
            assert [layer.name for layer in PSDImage.open(made[0])] == ["photo", "painting"]
        else:  # the item key is in the file, so a second run has nothing to do
            assert all(read_key(path) for path in made)
            capsys.readouterr()
            argv = ["batch", str(photos), "--styles", style, "-o", str(out), "--format", fmt, *tiny, "--json"]
            assert main([a for a in argv if a != "-q"]) == 0
            assert json.loads(capsys.readouterr().out)["done"] == 0
