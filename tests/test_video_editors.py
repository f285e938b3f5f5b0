# ruff: noqa: E402 (the imports below need the optional video extra, checked first)
"""brushwork video for editors: codecs and profiles, 10-bit kept, colour tags, timecode and metadata,
image sequences in and out, and the input safety checks.

The clip (tests/video_clips.make_editor_clip) is what an editor exports: ProRes 422 HQ, 10-bit 4:2:2,
BT.709 tags, timecode 01:00:00:00, PCM audio; 96x64, 6 frames. Most tests paint with a deterministic
stand-in (colours inverted), so what is measured is the pipeline, not the painting.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from ci import require

av = require("av", "the video extra: pip install 'brushwork[video]'")
cv2 = require("cv2", "opencv-python-headless, a dependency of brushwork")

from brushwork.cli import main
from brushwork.errors import UserInputError
from brushwork.video import stylize_video
from brushwork.video.codecs import choose, codec_of_source
from brushwork.video.io import CodecRequest, probe_input
from brushwork.video.safety import Limits
from brushwork.video.sequences import encoded_image
from video_clips import make_editor_clip

TESTS = Path(__file__).parent
STYLE = str(TESTS / "data" / "starry_night.jpg")


def invert(frame: np.ndarray) -> np.ndarray:
    return (1.0 - frame).astype(np.float32)


def identity(frame: np.ndarray) -> np.ndarray:
    return frame.astype(np.float32)


@pytest.fixture(scope="module")
def editor_clip(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[np.ndarray]]:
    path = tmp_path_factory.mktemp("editor") / "clip.mov"
    return path, make_editor_clip(path)


def _decoded16(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb48le").astype(np.int64) for f in container.decode(video=0)]


def _audio(path: Path) -> list[bytes]:
    with av.open(str(path)) as container:
        return [bytes(p) for p in container.demux(container.streams.audio[0]) if p.size]


def test_prores_clip_comes_back_prores_10_bit_with_tags_timecode_metadata_and_sound(
    editor_clip: tuple[Path, list[np.ndarray]], tmp_path: Path
) -> None:
    clip, _ = editor_clip
    output = tmp_path / "painted.mov"
    result = stylize_video(clip, [], output, painter=identity, temporal_blend=0)
    assert result.frames == 6 and result.notes == []
    info = probe_input(output)
    assert (info.codec, info.pix_fmt, info.profile) == ("prores", "yuv422p10le", "HQ")
    assert info.colour.describe() == {
        "primaries": "bt709",
        "transfer": "bt709",
        "matrix": "bt709",
        "range": "tv",
    }
    assert info.timecode == "01:00:00:00"
    assert info.metadata.get("comment") == "reel A001"
    assert [a.codec for a in info.audio] == ["pcm_s16le"] and _audio(output) == _audio(clip)
    decoded = _decoded16(output)
    source = _decoded16(clip)
    # 10 bits survive the painting: the ramp keeps far more than 256 levels, and comes back within a
    # few 10-bit steps of the source (ProRes is lossy)
    assert len(np.unique(decoded[0][..., 0] >> 6)) > 60  # more 10-bit levels than a 96-px 8-bit ramp
    assert len(np.unique(decoded[0][..., 0])) > len(np.unique(decoded[0][..., 0] >> 8))
    assert max(float(np.abs(d - s).mean()) for d, s in zip(decoded, source, strict=True)) < 3 * 64


def test_8_bit_path_would_have_lost_the_10_bit_levels(
    editor_clip: tuple[Path, list[np.ndarray]], tmp_path: Path
) -> None:
    """The check above can fail: forced to 8 bits, the same ramp comes back in 8-bit steps."""
    clip, _ = editor_clip
    output = tmp_path / "eight.mov"
    stylize_video(
        clip, [], output, painter=identity, temporal_blend=0, codec=CodecRequest("h264", bit_depth=8)
    )
    info = probe_input(output)
    assert info.pix_fmt == "yuv422p" and info.bits == 8
    deep = tmp_path / "ten.mov"
    stylize_video(clip, [], deep, painter=identity, temporal_blend=0, codec=CodecRequest("h264"))
    assert probe_input(deep).pix_fmt == "yuv422p10le"
    levels = [len(np.unique(_decoded16(path)[0][..., 1] >> 6)) for path in (output, deep)]
    assert levels[1] > levels[0]


@pytest.mark.parametrize(
    ("name", "codec", "expected_codec", "pix_fmt"),
    [
        ("h264.mov", "h264", "h264", "yuv422p10le"),
        ("h265.mp4", "h265", "h265", "yuv422p10le"),
        ("ffv1.mkv", "ffv1", "ffv1", "yuv422p10le"),
        ("av1.mp4", "av1", "av1", "yuv420p10le"),  # SVT-AV1 holds 4:2:0 only
        ("vp9.webm", "vp9", "vp9", "yuv422p"),  # PyAV's libvpx is built 8-bit only
        ("default.mp4", None, "h264", "yuv422p10le"),
    ],
)
def test_each_codec_keeps_what_it_can_hold(
    editor_clip: tuple[Path, list[np.ndarray]], tmp_path: Path, name: str, codec: str | None,
    expected_codec: str, pix_fmt: str,
) -> None:  # fmt: skip
    clip, _ = editor_clip
    output = tmp_path / name
    stylize_video(clip, [], output, painter=invert, codec=CodecRequest(codec))
    info = probe_input(output)
    assert (codec_of_source(info.codec), info.pix_fmt, info.frames or 6) == (expected_codec, pix_fmt, 6)
    assert info.colour.describe()["matrix"] == "bt709"
    assert info.colour.describe()["primaries"] == "bt709"


def test_profiles_and_their_errors() -> None:
    prores = choose("mov", "x.mov", codec="prores", profile="4444", pix_fmt=None, source_codec="h264",
                    source_pix_fmt="yuv420p")  # fmt: skip
    assert (prores.pix_fmt, prores.options["profile"]) == ("yuv444p10le", "4444")
    dnx = choose("mov", "x.mov", codec="dnxhr", profile=None, pix_fmt=None, source_codec="prores",
                 source_pix_fmt="yuv422p10le")  # fmt: skip
    assert (dnx.profile, dnx.pix_fmt) == ("hqx", "yuv422p10le")
    high10 = choose("mp4", "x.mp4", codec="h264", profile="high10", pix_fmt=None, source_codec="h264",
                    source_pix_fmt="yuv420p")  # fmt: skip
    assert high10.pix_fmt == "yuv420p10le"
    with pytest.raises(UserInputError, match="unknown profile 'ultra' for prores"):
        choose(
            "mov",
            "x.mov",
            codec="prores",
            profile="ultra",
            pix_fmt=None,
            source_codec=None,
            source_pix_fmt=None,
        )
    with pytest.raises(UserInputError, match="webm does not hold prores"):
        choose(
            "webm",
            "x.webm",
            codec="prores",
            profile=None,
            pix_fmt=None,
            source_codec=None,
            source_pix_fmt=None,
        )


def test_colour_flags_retag_the_output_and_start_moves_the_timecode(
    editor_clip: tuple[Path, list[np.ndarray]], tmp_path: Path
) -> None:
    clip, _ = editor_clip
    output = tmp_path / "hdr.mov"
    colour = {"primaries": "bt2020", "transfer": "pq", "matrix": "bt2020nc", "range": "pc"}
    # (H.264: ProRes itself is always limited range)
    result = stylize_video(
        clip, [], output, painter=invert, colour=colour, start=2 / 24, codec=CodecRequest("h264")
    )
    assert result.frames == 4
    info = probe_input(output)
    assert info.colour.describe() == {"primaries": "bt2020", "transfer": "smpte2084", "matrix": "bt2020nc",
                                      "range": "pc"}  # fmt: skip
    assert info.timecode == "01:00:00:02"


def test_sixteen_bit_tiff_frames_out_numbered_and_back_in_as_a_sequence(
    editor_clip: tuple[Path, list[np.ndarray]], tmp_path: Path
) -> None:
    clip, _ = editor_clip
    pattern = tmp_path / "frames" / "frame_%04d.tif"
    assert (
        main(["video", str(clip), STYLE, "-o", str(pattern), "--bit-depth", "16", "--size", "64", "-q"]) == 0
    )
    files = sorted(p.name for p in (tmp_path / "frames").iterdir())
    assert files == [f"frame_{i:04d}.tif" for i in range(1, 7)]
    first = cv2.imread(str(tmp_path / "frames" / files[0]), cv2.IMREAD_UNCHANGED)
    assert first.dtype == np.uint16 and first.shape == (43, 64, 3)
    assert len(np.unique(first)) > 256
    # the frames back in, renumbered from 1001 (as a film shot is), out as EXR: numbers kept
    shot = tmp_path / "shot"
    shot.mkdir()
    for index, name in enumerate(files):
        (shot / f"sh010.{1001 + index}.tif").write_bytes((tmp_path / "frames" / name).read_bytes())
    out = tmp_path / "exr" / "sh010_%04d.exr"
    result = stylize_video(shot, [], out, painter=invert, fps=25)
    assert result.frames == 6
    assert sorted(p.name for p in out.parent.iterdir()) == [f"sh010_{n}.exr" for n in range(1001, 1007)]
    video = tmp_path / "shot.mov"
    stylize_video(str(shot / "sh010.%04d.tif"), [], video, painter=invert, fps=Fraction(25))
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        times = [float(f.pts * stream.time_base) for f in container.decode(stream)]
    assert times == pytest.approx([i / 25 for i in range(6)])


def test_exr_is_linear_light_on_disk_and_comes_back_as_it_went_in(tmp_path: Path) -> None:
    rgb = np.zeros((8, 8, 3), np.uint16)
    rgb[..., 0] = 65535 // 2  # sRGB 0.5 is linear 0.214
    path = tmp_path / "f.exr"
    path.write_bytes(encoded_image(rgb, ".exr", 32))
    with av.open(str(path)) as container:
        linear = next(container.decode(video=0)).to_ndarray(format="gbrpf32le")
    assert linear[0, 0, 0] == pytest.approx(0.214, abs=0.002)
    from brushwork.video.sequences import read_image

    assert abs(int(read_image(str(path), deep=True).rgb[0, 0, 0]) - 65535 // 2) < 4


def test_playlists_urls_and_oversized_clips_are_refused_in_one_line(
    editor_clip: tuple[Path, list[np.ndarray]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clip, _ = editor_clip
    playlist = tmp_path / "clip.m3u8"  # an HLS playlist pointing at a real clip
    playlist.write_text(f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n{clip}\n#EXT-X-ENDLIST\n")
    with av.open(str(playlist)) as opened:  # FFmpeg on its own follows it
        assert opened.format.name == "hls"
    concat = tmp_path / "list.mov"
    concat.write_text(f"ffconcat version 1.0\nfile '{clip}'\n")
    for source, message in (
        (playlist, "not a video or image format brushwork opens"),
        (concat, "not a video or image format brushwork opens"),
        (Path("http://127.0.0.1:9/clip.mp4"), "no such file"),
    ):
        assert main(["video", str(source), STYLE, "-o", str(tmp_path / "out.mp4"), "-q"]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1
    with pytest.raises(UserInputError, match="more than the 4,000 pixels a frame allowed"):
        stylize_video(clip, [], tmp_path / "o.mov", painter=invert, limits=Limits(max_pixels=4000))
    with pytest.raises(UserInputError, match=r"it lasts 0 s, more than the 0 s allowed"):
        stylize_video(clip, [], tmp_path / "o.mov", painter=invert, limits=Limits(max_seconds=0.1))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.m3u8", "list.mov"]


def test_a_full_disk_is_named_before_any_frame_is_painted(
    editor_clip: tuple[Path, list[np.ndarray]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clip, _ = editor_clip
    full = type("Usage", (), {"free": 1000, "total": 10**9, "used": 10**9})
    monkeypatch.setattr("brushwork.video.safety.shutil.disk_usage", lambda path: full)
    painter_calls: list[int] = []

    def painter(frame: np.ndarray) -> np.ndarray:
        painter_calls.append(1)
        return frame

    with pytest.raises(UserInputError, match="not enough disk space"):
        stylize_video(clip, [], tmp_path / "out.mov", painter=painter)
    assert painter_calls == [] and list(tmp_path.iterdir()) == []
