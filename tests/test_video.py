# ruff: noqa: E402 (the imports below need the optional video extra, checked first)
"""brushwork video: timing and sound kept, temporal consistency, resume after kill -9, bad input.

Clips are made by the tests (tests/video_clips.py): 64x48, 12 frames, a texture panned by a known
sub-pixel shift with a moving occluder, and a sine-wave audio track. Most tests paint with a
deterministic stand-in painter; one runs the real engine at 32 px.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time
from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from ci import require

av = require("av", "the video extra: pip install 'brushwork[video]'")
cv2 = require("cv2", "opencv-python-headless, a dependency of brushwork")

import torch

from brushwork.cli import main
from brushwork.config import Settings
from brushwork.errors import SettingsError
from brushwork.imageio import read_image
from brushwork.video import stylize_video, warping_error
from brushwork.video.flow import FlowEstimator, consistency_mask, warp, warp_torch
from brushwork.video.io import read_frames
from brushwork.video.metrics import output_frames
from brushwork.video.resume import work_folder_for
from brushwork.video.temporal import (
    DEFAULT_BLEND,
    Carry,
    Stabilizer,
    TemporalTerm,
    carry,
    restored_detail,
    temporal_loss,
)
from video_clips import SHIFT, FlickerPainter, frame_at, make_clip, texture

TESTS = Path(__file__).parent
NTSC = Fraction(30000, 1001)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("clips") / "pan.mp4"
    make_clip(path)
    return path


def _times(path: Path) -> list[Fraction]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return [Fraction(f.pts) * stream.time_base for f in container.decode(stream)]


def _audio_packets(path: Path) -> list[bytes]:
    with av.open(str(path)) as container:
        return [bytes(p) for p in container.demux(container.streams.audio[0]) if p.size]


# ------------------------------------------------------------------------------------- timing and sound


def test_variable_frame_rate_timestamps_rotation_and_aspect_are_kept(tmp_path: Path) -> None:
    source = tmp_path / "vfr.mp4"
    pts = [0, 1001, 2002, 4004, 5005, 8008, 9009, 10010, 12012, 13013, 14014, 17017]  # gaps: VFR
    make_clip(source, pts=pts, time_base=Fraction(1, 30000), rate=NTSC, rotation=90,
              sample_aspect_ratio=Fraction(4, 3))  # fmt: skip
    output = tmp_path / "out.mp4"
    result = stylize_video(source, [], output, painter=FlickerPainter())
    assert result.frames == 12
    assert _times(output) == [Fraction(p, 30000) for p in pts]
    with av.open(str(output)) as container:
        stream = container.streams.video[0]
        first = next(container.decode(stream))
        assert first.rotation == 90
        assert stream.sample_aspect_ratio == Fraction(4, 3)
        assert (first.width, first.height) == (64, 48)  # the clip's own size by default
    assert not work_folder_for(output).exists()  # removed once the video is written


def test_ntsc_rate_and_audio_packets_are_kept(tmp_path: Path) -> None:
    source = tmp_path / "ntsc.mp4"
    make_clip(source, rate=NTSC, time_base=Fraction(1, 30000))
    output = tmp_path / "out.mov"
    result = stylize_video(source, [], output, painter=FlickerPainter())
    assert result.notes == []
    with av.open(str(output)) as container:
        assert container.streams.video[0].average_rate == NTSC
        assert container.streams.audio[0].codec_context.name == "aac"
    assert _times(output) == _times(source)
    assert _audio_packets(output) == _audio_packets(source)  # copied, not re-encoded


def test_audio_is_reencoded_where_the_container_cannot_hold_it(clip: Path, tmp_path: Path) -> None:
    output = tmp_path / "out.webm"
    result = stylize_video(clip, [], output, painter=FlickerPainter(), temporal_blend=0)
    assert result.notes == ["audio stream 1 (aac) re-encoded to Opus: webm cannot hold aac"]
    with av.open(str(output)) as container:
        assert container.streams.audio[0].codec_context.name == "opus"
        assert sum(1 for _ in container.decode(container.streams.video[0])) == 12


def test_start_and_duration_paint_part_of_the_clip(clip: Path, tmp_path: Path) -> None:
    output = tmp_path / "part.mp4"
    # frames at 5/24 … 9/24 s lie in [0.2, 0.4)
    result = stylize_video(clip, [], output, painter=FlickerPainter(), start=0.2, duration=0.2)
    assert result.frames == 5
    times = _times(output)
    assert [t - times[0] for t in times] == [Fraction(i, 24) for i in range(5)]
    assert 0 <= times[0] < Fraction(1, 24)
    with av.open(str(output)) as container:
        audio = container.streams.audio[0]
        packets = [p for p in container.demux(audio) if p.size]
        seconds = sum(p.duration for p in packets) * audio.time_base
    assert abs(float(seconds) - 0.2) < 0.05


# ------------------------------------------------------------------------------- flow, warping, losses


def test_warping_moves_pixels_by_a_known_shift() -> None:
    image = texture(48, 40)
    flow = np.zeros((40, 48, 2), np.float32)
    flow[..., 0], flow[..., 1] = 3.0, -2.0
    warped = warp(image, flow)  # warped(x, y) = image(x + 3, y - 2)
    np.testing.assert_allclose(warped[5:30, 0:40], image[3:28, 3:43], atol=1e-5)
    tensor = torch.from_numpy(image).permute(2, 0, 1)[None]
    moved = warp_torch(tensor, torch.from_numpy(flow))[0].permute(1, 2, 0).numpy()
    np.testing.assert_allclose(moved[5:30, 0:40], image[3:28, 3:43], atol=1e-5)


def test_dis_flow_recovers_the_sub_pixel_pan() -> None:
    base = texture(160, 128)
    first, second = frame_at(0, 128, 96, base), frame_at(1, 128, 96, base)
    backward = FlowEstimator()(second, first)  # second(x) ≈ first(x + backward(x))
    inner = backward[16:40, 70:120].reshape(-1, 2)  # away from the occluder and the borders
    np.testing.assert_allclose(np.median(inner, axis=0), [-SHIFT[0], -SHIFT[1]], atol=0.15)


def test_consistency_mask_flags_where_forward_and_backward_disagree() -> None:
    backward = np.full((20, 30, 2), 1.5, np.float32)
    forward = -backward
    assert consistency_mask(backward, forward).all()
    forward[5:10, 10:20] = 4.0  # an occluder moving differently
    mask = consistency_mask(backward, forward)
    assert not mask[6:9, 9:18].any()
    assert mask[15:, :].all()


def test_temporal_loss_is_masked_and_its_gradient_pulls_towards_the_warped_frame() -> None:
    warped = torch.rand(1, 3, 8, 10)
    image = (warped + 0.5).requires_grad_()
    mask = torch.zeros(1, 1, 8, 10)
    mask[..., :, :5] = 1
    loss = temporal_loss(image, warped, mask)
    assert loss.item() == pytest.approx(0.25, rel=1e-5)  # mean over masked pixels and channels
    loss.backward()
    assert image.grad is not None
    assert (image.grad[..., :5] > 0).all()  # descending the gradient moves the image to the target
    assert (image.grad[..., 5:] == 0).all()  # nothing pulls where the flow is not trusted
    term = TemporalTerm(
        warped=warped, mask=mask, weight=2.0, long_warped=warped, long_mask=mask, long_weight=1.0
    )
    small = torch.full((1, 3, 4, 5), 0.5, requires_grad=True)  # a coarser scale than the targets
    value = term(small)
    value.backward()
    assert value.item() > 0 and small.grad is not None and small.grad.abs().sum() > 0


# ----------------------------------------------------------------------------------------------- flicker


def test_temporal_blending_flickers_less_than_independent_frames(clip: Path, tmp_path: Path) -> None:
    errors = {}
    for blend in (0.0, DEFAULT_BLEND):
        output = tmp_path / f"frames_{round(blend * 100)}"  # PNG frames: no coding noise in the measure
        stylize_video(clip, [], output, painter=FlickerPainter(), temporal_blend=blend)
        inputs = (frame.rgb for frame in read_frames(clip))
        errors[blend] = warping_error(output_frames(output), inputs)
    assert errors[DEFAULT_BLEND] < 0.5 * errors[0.0]
    # ... and not by washing the painting out: each frame's picture (its grain aside) stays its own
    # painting's, and its fine grain keeps most of its strength (a plain blend keeps about 60 %)
    for steady, single in zip(
        output_frames(tmp_path / f"frames_{round(DEFAULT_BLEND * 100)}"),
        output_frames(tmp_path / "frames_0"),
        strict=True,
    ):
        steady_f, single_f = (steady / 255.0).astype(np.float32), (single / 255.0).astype(np.float32)
        coarse = cv2.GaussianBlur(steady_f, (0, 0), 2.0) - cv2.GaussianBlur(single_f, (0, 0), 2.0)
        assert np.abs(coarse).mean() < 0.03
        assert _fine_strength(steady_f) > 0.8 * _fine_strength(single_f)


# --------------------------------------------------------------------------------------------- resuming


def test_resume_after_sigkill_loses_nothing_and_repaints_no_finished_frame(
    clip: Path, tmp_path: Path
) -> None:
    output = tmp_path / "killed"
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(TESTS)!r})
        from video_clips import FlickerPainter
        from brushwork.video import stylize_video
        stylize_video({str(clip)!r}, [], {str(output)!r}, painter=FlickerPainter(delay=0.25))
        """
    )
    process = subprocess.Popen([sys.executable, "-c", script])
    work = work_folder_for(output)
    deadline = time.monotonic() + 60
    while len(list(work.glob("frame_*.png"))) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    finished = len(list(work.glob("frame_*.png")))
    assert 4 <= finished < 12 and not output.exists()

    painter = FlickerPainter()
    result = stylize_video(clip, [], output, painter=painter)
    assert painter.calls == 12 - finished == result.painted
    assert result.reused == finished

    uninterrupted = tmp_path / "whole"
    stylize_video(clip, [], uninterrupted, painter=FlickerPainter())
    for resumed, whole in zip(output_frames(output), output_frames(uninterrupted), strict=True):
        np.testing.assert_array_equal(resumed, whole)


def test_different_settings_are_refused_until_restart(clip: Path, tmp_path: Path) -> None:
    output = tmp_path / "out.mp4"
    stylize_video(clip, [], output, painter=FlickerPainter(), duration=0.1, keep_frames=True)
    output.unlink()
    with pytest.raises(SettingsError, match=r"different video.temporal_blend; pass --restart"):
        stylize_video(clip, [], output, painter=FlickerPainter(), duration=0.1, temporal_blend=0.3)
    assert not output.exists()
    painter = FlickerPainter()
    stylize_video(clip, [], output, painter=painter, duration=0.1, temporal_blend=0.3, restart=True)
    assert painter.calls == 3 and output.exists()


# ------------------------------------------------------------------------------------- the command line


@pytest.mark.parametrize(
    ("options", "method"),
    [
        ([], "fast"),
        (["--method", "optimize", "--steps", "1", "--coarse-steps", "1", "--seed", "1"], "optimize"),
    ],
)
def test_command_line_paints_with_the_engines(
    options: list[str], method: str, tmp_path: Path, style_image: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "short.mp4"
    make_clip(source, frames=3)
    output = tmp_path / "out.mp4"
    code = main(
        ["video", str(source), str(style_image), "-o", str(output), "--size", "32", "--json", *options]
    )
    assert code == 0
    record = json.loads(capsys.readouterr().out)
    assert record["frames"] == 3 and record["size"] == [32, 24] and record["method"] == method
    assert len(_times(output)) == 3
    with av.open(str(output)) as container:
        first = next(container.decode(container.streams.video[0])).to_ndarray(format="rgb24")
    photo = next(read_frames(source)).rgb
    assert np.abs(first.astype(float) - cv2.resize(photo, (32, 24)).astype(float)).mean() > 10  # painted


def _bad_inputs(tmp_path: Path) -> dict[str, Path]:
    text = tmp_path / "notes.mp4"
    text.write_text("not a video\n")
    audio_only = tmp_path / "sound.m4a"
    with av.open(str(audio_only), "w") as container:
        stream = container.add_stream("aac", rate=48000)
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="flt", layout="mono")
        frame.sample_rate, frame.pts = 48000, 0
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    empty = tmp_path / "empty.mkv"
    with av.open(str(empty), "w") as container:
        stream = container.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        container.start_encoding()
    whole = tmp_path / "whole.mkv"
    make_clip(whole)
    truncated = tmp_path / "truncated.mkv"
    truncated.write_bytes(whole.read_bytes()[: whole.stat().st_size * 2 // 5])
    cut_mp4 = tmp_path / "cut.mp4"
    make_clip(cut_mp4)
    cut_mp4.write_bytes(cut_mp4.read_bytes()[: cut_mp4.stat().st_size // 2])
    unknown_codec = tmp_path / "unknown_codec.mkv"  # Matroska's codec ID changed to one FFmpeg does not know
    unknown_codec.write_bytes(whole.read_bytes().replace(b"V_MPEG4/ISO/AVC", b"V_BRUSHWORK/XYZ"))
    return {
        "not a video": text,
        "unreadable codec": unknown_codec,
        "no video stream": audio_only,
        "no frames": empty,
        "truncated mkv": truncated,
        "truncated mp4": cut_mp4,
        "missing": tmp_path / "missing.mp4",
    }


def test_bad_inputs_get_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    painted = tmp_path / "painted"
    painted.mkdir()
    for what, path in _bad_inputs(tmp_path).items():
        output = painted / "out.mp4"
        code = main(["video", str(path), str(TESTS / "data" / "starry_night.jpg"), "-o", str(output), "-q"])
        err = capsys.readouterr().err
        assert code == 2, what
        assert err.startswith("brushwork: error: cannot read") and err.count("\n") == 1, (what, err)
        assert list(painted.iterdir()) == [], what  # nothing half-written, no work folder left


def test_bad_outputs_get_one_line_and_exit_2(
    clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    style = str(TESTS / "data" / "starry_night.jpg")
    for output, message in (
        (tmp_path / "out.xyz", "no video encoder for '.xyz'"),
        (clip, "it is also an input"),
        (tmp_path / "missing" / "out.mp4", "does not exist"),
    ):
        assert main(["video", str(clip), style, "-o", str(output), "-q"]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_scene_cut_starts_afresh_and_a_steady_shot_does_not() -> None:
    estimator = FlowEstimator()
    shot = [frame_at(i, 64, 48, texture(96, 80, seed=1)) for i in range(2)]
    other = frame_at(0, 64, 48, texture(96, 80, seed=2))
    painted = np.full((48, 64, 3), 0.5, np.float32)
    previous_output = np.zeros((48, 64, 3), np.uint8)
    stabilizer = Stabilizer(0.6)
    for scale in (1.0, 0.5):
        _, fresh = stabilizer(painted, carry(estimator, shot[0], shot[1], scale), previous_output)
        assert not fresh
        assert carry(estimator, shot[1], other, scale) is None  # a scene cut
        image, fresh = stabilizer(painted, None, previous_output)
        assert fresh and np.array_equal(image, painted)


def _strokes(seed: int, size: int = 96) -> np.ndarray:
    """Fine random 'brush strokes' around mid grey: what two paintings that do not line up look like."""
    rng = np.random.default_rng(seed)
    return np.asarray(0.5 + 0.2 * (rng.random((size, size, 3)) - 0.5), np.float32)


def _fine_strength(image: np.ndarray) -> float:
    return float((image - cv2.GaussianBlur(image, (0, 0), 1.0)).std())


def test_blending_two_unaligned_paintings_keeps_the_fresh_frames_fine_detail() -> None:
    fresh, carried = _strokes(1), _strokes(2)
    still = Carry(backward=np.zeros((96, 96, 2), np.float32), trust=np.ones((96, 96), np.float32))
    plain, _ = Stabilizer(DEFAULT_BLEND, max_gain=1.0)(fresh, still, carried)
    kept, _ = Stabilizer(DEFAULT_BLEND)(fresh, still, carried)
    assert _fine_strength(plain) < 0.85 * _fine_strength(fresh)  # the plain blend averages strokes away
    assert _fine_strength(kept) == pytest.approx(_fine_strength(fresh), rel=0.1)

    # ... while the coarse picture is still the blend's (steady), not the fresh frame's
    def coarse(image: np.ndarray) -> np.ndarray:
        return np.asarray(cv2.GaussianBlur(image, (0, 0), 3.0))

    assert np.abs(coarse(kept) - coarse(plain)).max() < 0.01


def test_restoring_changes_nothing_where_the_carried_painting_agrees() -> None:
    """A still scene: the fresh painting and the carried one are the same picture; nothing is sharpened."""
    fresh = _strokes(3)
    restored = restored_detail(fresh.copy(), fresh)
    assert np.abs(restored - fresh).max() < 1e-5
    # a flat fresh frame never adds detail, and the gain is capped: a blend with weak detail is raised
    # to at most twice its strength
    flat = np.full_like(fresh, 0.5)
    assert np.abs(restored_detail(fresh.copy(), flat) - fresh).max() < 1e-5
    faint = np.asarray(0.5 + 0.1 * (fresh - 0.5), np.float32)
    raised = restored_detail(faint.copy(), fresh, max_gain=2.0)
    assert _fine_strength(raised) == pytest.approx(2 * _fine_strength(faint), rel=0.05)


def test_the_default_steadiness_is_the_same_in_the_library_the_cli_and_the_web_app() -> None:
    import inspect

    from brushwork.server import media_routes
    from brushwork.video import cli as video_cli

    assert video_cli.DEFAULT_BLEND == DEFAULT_BLEND
    source = inspect.getsource(media_routes)
    assert f"] = {DEFAULT_BLEND}," in source.split("temporal_blend: Annotated[", 1)[1][:400]
    page = (Path(media_routes.__file__).parent / "static" / "index.html").read_text()
    assert f'id="video-blend" min="0" max="0.95" step="0.05" value="{DEFAULT_BLEND}"' in page


def test_flow_at_half_size_carries_the_pan_as_full_size_flow_does() -> None:
    """The blending's flow, worked out on frames shrunk to half size, still moves the previous frame
    onto the current one (the known pan of the test texture) almost as well as full-size flow."""
    base = texture(160, 128, seed=3)
    frames = [frame_at(i, 128, 96, base) for i in range(2)]
    errors = {}
    for scale in (1.0, 0.5):
        moved = carry(FlowEstimator(), frames[0], frames[1], scale)
        assert moved is not None and moved.backward.shape == (96, 128, 2)
        assert 0.3 < float(moved.trust.mean()) <= 1.0
        warped = warp(frames[0].astype(np.float32) / 255, moved.backward)
        inner = (slice(8, -8), slice(8, -8))
        errors[scale] = float(np.abs(warped - frames[1].astype(np.float32) / 255)[inner].mean())
    still = float(np.abs(frames[0].astype(np.float32) - frames[1]).mean() / 255)
    assert errors[0.5] < 0.5 * still  # it follows the motion
    assert errors[0.5] < errors[1.0] + 0.01


def test_optimizer_method_starts_from_the_warped_frame_and_gets_the_temporal_term(
    clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import brushwork.api
    from brushwork.features import to_caffe

    calls: list[dict[str, object]] = []

    def fake_stylize(content, styles, *, settings, device, weights, extra_loss=None):  # type: ignore[no-untyped-def]
        start = None if settings.start in ("content", "fast") else read_image(settings.start).rgb
        calls.append({"pyramid": settings.pyramid, "start": start, "term": extra_loss})
        return SimpleNamespace(image=1.0 - content)

    monkeypatch.setattr(brushwork.api, "stylize", fake_stylize)
    output = tmp_path / "frames"
    stylize_video(
        clip, [TESTS / "data" / "starry_night.jpg"], output, settings=Settings(method="optimize", steps=3)
    )
    assert len(calls) == 12
    assert calls[0]["pyramid"] and calls[0]["start"] is None and calls[0]["term"] is None
    painted = list(output_frames(output))
    shift = np.empty((48, 64, 2), np.float32)
    shift[...] = (-SHIFT[0], -SHIFT[1])  # the pan, as a backward flow
    for index, call in enumerate(calls[1:], start=1):
        assert not call["pyramid"] and isinstance(call["term"], TemporalTerm)
        start = call["start"]
        assert isinstance(start, np.ndarray)
        # above the occluder, the start is the previous output moved by the pan
        previous = painted[index - 1].astype(np.float32) / 255
        moved = warp(previous, shift)
        top = (slice(2, 14), slice(4, 60))
        assert np.abs(start - moved)[top].mean() < 0.5 * np.abs(start - previous)[top].mean()
    term = calls[11]["term"]
    assert isinstance(term, TemporalTerm) and term.long_warped is not None  # frame 11 looks 10 back
    image = to_caffe(torch.from_numpy(painted[11].astype(np.float32) / 255).permute(2, 0, 1)[None])
    image.requires_grad_()
    loss = term(image)
    loss.backward()
    assert loss.item() > 0 and image.grad is not None and image.grad.abs().sum() > 0


class _StopAt(FlickerPainter):
    """Raises KeyboardInterrupt (as Ctrl-C does) when asked for frame number ``stop`` (1-based)."""

    def __init__(self, stop: int) -> None:
        super().__init__()
        self.stop = stop

    def __call__(self, frame: np.ndarray) -> np.ndarray:  # type: ignore[type-arg]
        if self.calls + 1 == self.stop:
            raise KeyboardInterrupt
        return super().__call__(frame)


def test_ctrl_c_keeps_finished_frames_and_the_same_command_continues(clip: Path, tmp_path: Path) -> None:
    output = tmp_path / "out.mp4"
    seen: list[tuple[str, int, int | None]] = []
    with pytest.raises(KeyboardInterrupt):
        stylize_video(
            clip, [], output, painter=_StopAt(6), callback=lambda p: seen.append((p.stage, p.done, p.total))
        )
    assert seen == [("painting", n, 12) for n in range(1, 6)]
    assert not output.exists() and len(list(work_folder_for(output).glob("frame_*.png"))) == 5
    painter = FlickerPainter()
    # the name of the painter is part of the manifest: a subclass is a different painter
    with pytest.raises(SettingsError, match=r"video\.painter"):
        stylize_video(clip, [], output, painter=painter)
    result = stylize_video(clip, [], output, painter=_StopAt(99))
    assert (result.reused, result.painted) == (5, 7) and output.exists()


def test_command_line_answers_ctrl_c_with_130_and_where_the_frames_are(
    clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import brushwork.video.api

    def interrupted(*args: object, **kwargs: object) -> None:
        work_folder_for(tmp_path / "out.mp4").mkdir()
        raise KeyboardInterrupt

    monkeypatch.setattr(brushwork.video.api, "stylize_video", interrupted)
    code = main(
        ["video", str(clip), str(TESTS / "data" / "starry_night.jpg"), "-o", str(tmp_path / "out.mp4")]
    )
    assert code == 130
    assert "run the same command again to continue" in capsys.readouterr().err


def test_video_eval_reports_flicker_of_output_and_input_beside_the_style(
    clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    steady, single = tmp_path / "steady", tmp_path / "single"
    stylize_video(clip, [], steady, painter=FlickerPainter())
    stylize_video(clip, [], single, painter=FlickerPainter(), temporal_blend=0)
    style = str(TESTS / "data" / "starry_night.jpg")
    records = {}
    for output in (steady, single):
        assert (
            main(["video-eval", str(output), "-i", str(clip), "-s", style, "--samples", "2", "--json"]) == 0
        )
        records[output.name] = json.loads(capsys.readouterr().out)
    floor = warping_error((f.rgb for f in read_frames(clip)), (f.rgb for f in read_frames(clip)))
    for record in records.values():
        assert record["frames"] == 12 and record["sampled"] == [0, 11]
        assert record["input_warping_error"] == pytest.approx(floor, rel=1e-4)
        assert record["style_gram"] > 0 and record["content_error"] > 0
    assert records["steady"]["warping_error"] < records["single"]["warping_error"]
    expected = warping_error(output_frames(steady), (f.rgb for f in read_frames(clip)))
    assert records["steady"]["warping_error"] == pytest.approx(expected, rel=1e-4)
    # a clip and an output of different lengths are refused in one line
    assert main(["video-eval", str(steady), "-i", str(clip), "-s", style, "--duration", "0.2"]) == 2
    assert "more frames" in capsys.readouterr().err


def test_one_run_at_a_time_in_a_work_folder(tmp_path: Path) -> None:
    from brushwork.errors import UserInputError
    from brushwork.video.resume import WorkFolder

    first = WorkFolder(tmp_path / "out.mp4.brushwork-frames", {"input": "a"})
    first.save(0, np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(UserInputError, match="another brushwork run is using"):
        WorkFolder(first.path, {"input": "a"}, restart=True)
    assert first.has(0)  # the running one's frames are untouched
    first.close()
    again = WorkFolder(first.path, {"input": "a"})
    assert again.finished() == 1
    again.close()
    fresh = WorkFolder(first.path, {"input": "b"}, restart=True)
    assert fresh.finished() == 0
    fresh.remove()
    assert not first.path.exists()


@pytest.mark.parametrize(
    ("extension", "codec"), [(".mkv", "h264"), (".webm", "vp9"), (".avi", "mpeg4"), (".gif", "gif")]
)
def test_each_output_container_keeps_every_frame(
    clip: Path, tmp_path: Path, extension: str, codec: str
) -> None:
    output = tmp_path / f"out{extension}"
    stylize_video(clip, [], output, painter=FlickerPainter())
    with av.open(str(output)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == codec
        frames = list(container.decode(stream))
    assert len(frames) == 12
    # relative times as in the input, to the container's precision (Matroska: 1 ms, GIF: 10 ms)
    times = [float(f.pts * f.time_base) for f in frames]
    step = 0.011 if extension == ".gif" else 0.0011
    assert all(abs((t - times[0]) - i / 24) < step for i, t in enumerate(times))


def test_a_failed_encode_keeps_the_painted_frames(
    clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import brushwork.video.api
    from brushwork.errors import UserInputError

    def disk_full(*args: object, **kwargs: object) -> list[str]:
        raise UserInputError("cannot write 'out.mp4': No space left on device")

    output = tmp_path / "out.mp4"
    with monkeypatch.context() as patch:
        patch.setattr(brushwork.video.api, "encode", disk_full)
        with pytest.raises(UserInputError, match="No space left"):
            stylize_video(clip, [], output, painter=FlickerPainter())
    assert not output.exists() and len(list(work_folder_for(output).glob("frame_*.png"))) == 12
    painter = FlickerPainter()
    result = stylize_video(clip, [], output, painter=painter)
    assert painter.calls == 0 and result.reused == 12 and output.exists()


def test_finishing_applies_to_frames_and_geometry_changes_are_refused(clip: Path, tmp_path: Path) -> None:
    from brushwork import Settings

    style = TESTS / "data" / "starry_night.jpg"
    with pytest.raises(SettingsError, match="--crop cannot be used on a video"):
        stylize_video(clip, [style], tmp_path / "out.mp4", settings=Settings(method="fast", crop="0,0,8,8"))
    means = []
    for name, brightness in (("plain", 1.0), ("bright", 1.5)):
        folder = tmp_path / name
        settings = Settings(method="fast", brightness=brightness)
        stylize_video(clip, [style], f"{folder}/", settings=settings, duration=0.1, temporal_blend=0)
        means.append(np.mean([np.asarray(Image.open(p), np.float32) for p in sorted(folder.glob("*.png"))]))
    assert means[1] > means[0] + 10
