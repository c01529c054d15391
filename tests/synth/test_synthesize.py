"""`vdeblur synth` end to end: GOPRO layout, reader round trip, determinism, degradations, errors."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from importlib.resources import files

import cv2
import numpy as np
import pytest
import skimage.data
from PIL import Image

from vdeblur.cli import main
from vdeblur.data import VideoDeblurDataset, find_sequences
from vdeblur.errors import ConfigError, UserError
from vdeblur.io.images import write_image
from vdeblur.synth import SynthConfig, synthesize
from vdeblur.synth.degrade import add_sensor_noise, h264_roundtrip
from vdeblur.synth.masks import grabcut_mask

SMALL = SynthConfig(frames=3, long_side=96, blur_min=2.0, blur_max=6.0, codec="none", max_source_frames=12)


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    """A photograph and a short clip of frames (a real photo panned by 2 px per frame)."""
    root = tmp_path_factory.mktemp("sources")
    photo = skimage.data.astronaut()
    write_image(root / "astronaut.png", photo[::2, ::2])
    coffee = skimage.data.coffee()[::3, ::3]
    for i in range(8):
        write_image(root / "pan" / f"{i:03d}.png", np.ascontiguousarray(coffee[:, 2 * i : 2 * i + 150]))
    return [root / "astronaut.png", root / "pan"]


def test_synth_writes_gopro_pairs_the_reader_returns_exactly(tmp_path, sources):
    made = synthesize(sources, tmp_path / "out", split="train", seed=4, config=SMALL)
    assert sorted(made) == ["astronaut_00", "pan_00"]
    sequences = find_sequences(tmp_path / "out", split="train")
    assert [s.name for s in sequences] == ["astronaut_00", "pan_00"]
    dataset = VideoDeblurDataset(sequences, num_frames=1)
    assert len(dataset) == sum(len(s) for s in sequences) == 6
    for index in range(len(dataset)):
        item = dataset[index]
        sequence_name, stem = item["key"].split("/")
        folder = tmp_path / "out" / "train" / sequence_name
        for kind, tensor in (("blur", item["blur"][0]), ("sharp", item["sharp"])):
            written = np.asarray(Image.open(folder / kind / f"{stem}.png"), np.float32) / 255
            np.testing.assert_array_equal(tensor.numpy().transpose(1, 2, 0), written)
        assert not np.array_equal(item["blur"][0], item["sharp"])  # something was blurred


def test_same_seed_same_bytes_other_seed_other_data(tmp_path, sources):
    for name, seed in (("a", 9), ("b", 9), ("c", 10)):
        synthesize(sources[:1], tmp_path / name, seed=seed, config=SMALL)
    frame = "train/astronaut_00/blur/000001.png"
    assert (tmp_path / "a" / frame).read_bytes() == (tmp_path / "b" / frame).read_bytes()
    assert (tmp_path / "a" / frame).read_bytes() != (tmp_path / "c" / frame).read_bytes()


def test_camera_response_changes_the_curve_and_nothing_else(tmp_path, sources):
    clean = dataclasses.replace(SMALL, noise=0.0, object_probability=0.0)
    synthesize(sources, tmp_path / "srgb", seed=3, config=clean)
    synthesize(sources, tmp_path / "curve", seed=3, config=dataclasses.replace(clean, camera_response=1.0))
    for name in ("astronaut_00", "pan_00"):
        srgb, curve = tmp_path / "srgb" / "train" / name, tmp_path / "curve" / "train" / name
        facts = {path: json.loads((path / "synth.json").read_text()) for path in (srgb, curve)}
        assert facts[srgb].pop("camera_response") == "srgb"
        assert set(facts[curve].pop("camera_response")) == {"gamma", "offset", "contrast"}
        assert facts[srgb] == facts[curve]  # the same paths, exposure and degradation: only the curve differs
        for index in range(SMALL.frames):
            # The target is the source decoded and encoded again by one curve, so it keeps the source's tones
            # either way; only sub-pixel resampling in another linear space moves edge pixels (the 96-pixel frames
            # here are mostly edges). The curve itself is checked on a known edge in test_tone_curves.py.
            sharp = [np.asarray(Image.open(path / "sharp" / f"{index:06d}.png"), np.int16) for path in (srgb, curve)]
            gap = np.abs(sharp[0] - sharp[1])
            assert np.median(gap) == 0 and gap.mean() < 2


def test_existing_sequences_are_kept_and_partial_ones_ignored(tmp_path, sources):
    synthesize(sources[:1], tmp_path, seed=1, config=SMALL)
    (tmp_path / "train" / ".pan_00.partial" / "blur").mkdir(parents=True)  # as left by an interrupted run
    assert synthesize(sources[:1], tmp_path, seed=1, config=SMALL) == []
    assert [s.name for s in find_sequences(tmp_path, layout="gopro")] == ["astronaut_00"]


def test_a_stopped_build_leaves_no_hidden_folder(tmp_path, sources, monkeypatch, capsys, stop):
    from vdeblur.synth import pipeline

    stop.at_call(monkeypatch, pipeline, "write_image", call=3)  # the second frame pair of the first sequence
    out = tmp_path / "out"
    assert main(["synth", str(sources[0]), "--output", str(out), "--frames", "2", "--size", "80"]) == stop.status
    assert capsys.readouterr().err.endswith(f"vdeblur synth: {stop.message}\n")
    assert [p.relative_to(out).as_posix() for p in out.rglob("*")] == ["train"]


def test_command_line_and_its_errors(tmp_path, sources, capsys):
    assert main(["synth", str(sources[0]), "--output", str(tmp_path), "--frames", "2", "--size", "80",
                 "--blur-max", "4", "--split", "test", "--codec", "jpeg", "--target", "centroid"]) == 0
    assert len(find_sequences(tmp_path, split="test")[0]) == 2
    assert {json.loads(f.read_text())["target"] for f in tmp_path.glob("test/*/synth.json")} == {"centroid"}
    assert main(["synth", str(tmp_path / "missing.mp4"), "--output", str(tmp_path)]) == 2
    assert "Source not found" in capsys.readouterr().err
    assert main(["synth", str(sources[0]), "--output", str(tmp_path), "--blur-min", "9", "--blur-max", "3"]) == 2
    for codec in ("mpeg2", "jpeg,mpeg2", "jpeg,jpeg", "none,", "mixed,jpeg"):
        with pytest.raises(ConfigError, match="codec"):
            SynthConfig(codec=codec)
    assert main(["synth", str(sources[0]), "--output", str(tmp_path), "--codec", "none,h265"]) == 2
    assert "Unknown or repeated codec in 'none,h265'" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="target"):
        SynthConfig(target="middle")
    with pytest.raises(UserError, match="split"):
        synthesize(sources, tmp_path, split="valid")


@pytest.mark.parametrize(("option", "value", "message"),
                         [("--seed", "-1", "must be 0 or more, not -1"), ("--workers", "0", "must be 1 or more, not 0")])
def test_bad_count_is_a_usage_error(tmp_path, capsys, option, value, message):
    with pytest.raises(SystemExit) as stop:
        main(["synth", str(tmp_path / "in.mp4"), "-o", str(tmp_path / "out"), option, value])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and f"argument {option}: {message}" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [("--max-source-frames", "1", "max_source_frames must be at least 2, got 1."),
     ("--frames", "0", "frames must be at least 1, got 0."),
     ("--max-objects", "-1", "max_objects must be at least 0, got -1."),
     ("--camera-response", "1.5", "camera_response must lie in [0, 1], got 1.5.")],
)
def test_out_of_range_settings_state_their_range(tmp_path, capsys, option, value, message):
    # The settings are checked before any source is opened, so a missing one does not matter here.
    assert main(["synth", str(tmp_path / "in.mp4"), "-o", str(tmp_path / "out"), option, value]) == 2
    assert capsys.readouterr().err.strip() == f"vdeblur synth: error: {message}"


def test_frame_folder_is_read_in_natural_order(tmp_path):
    from vdeblur.synth.sources import Source, load_clip

    for i in range(11):  # unpadded names: f10 sorts before f2 as text
        write_image(tmp_path / f"f{i}.png", np.full((8, 8, 3), 20 * i, np.uint8))
    frames = load_clip(Source(tmp_path, "frames"), long_side=64, max_frames=100)
    assert [int(frame[0, 0, 0]) for frame in frames] == [20 * i for i in range(11)]
    write_image(tmp_path / "f11.png", np.zeros((8, 10, 3), np.uint8))  # a photo, not a frame of this clip
    with pytest.raises(UserError, match="f11.png differs in size from f0.png; pass photographs as separate files"):
        load_clip(Source(tmp_path, "frames"), long_side=64, max_frames=100)


def test_output_that_is_a_file_is_a_user_error(tmp_path, sources):
    (tmp_path / "out.txt").write_text("")
    with pytest.raises(UserError, match="is a file"):
        synthesize(sources[:1], tmp_path / "out.txt", config=SMALL)


def test_codec_draws_keep_mixed_sets_reproducible_and_subsets_within_their_names():
    from vdeblur.synth.pipeline import draw_degradation

    def codecs(codec: str, seed: int) -> list[str]:
        rng = np.random.default_rng(seed)
        return [draw_degradation(rng, SynthConfig(codec=codec)).codec for _ in range(2000)]

    # `mixed` must draw as it always has, or rebuilding the sets would change them: the same draws as a direct
    # choice among the three at 0.4/0.3/0.3, made after the same noise draws.
    rng = np.random.default_rng(5)
    reference = []
    for _ in range(2000):
        if rng.random() < 0.85:  # noisy: shot and read levels
            rng.uniform()
            rng.uniform()
        reference.append(str(rng.choice(["none", "jpeg", "h264"], p=[0.4, 0.3, 0.3])))
        rng.integers(60, 96) if reference[-1] == "jpeg" else rng.integers(16, 29)  # quality or CRF
    assert codecs("mixed", 5) == reference
    # A subset keeps the weights' ratio: none 0.4 against jpeg 0.3, so 4/7 of the sequences are uncompressed.
    drawn = codecs("none,jpeg", 6)
    assert set(drawn) == {"none", "jpeg"}
    assert abs(drawn.count("none") / len(drawn) - 4 / 7) < 0.03
    assert set(codecs("jpeg", 7)) == {"jpeg"}


def test_sensor_noise_variance_follows_shot_and_read_terms():
    rng = np.random.default_rng(0)
    for level in (0.05, 0.4):
        image = np.full((200, 200, 3), level, np.float32)
        noisy = add_sensor_noise(image, rng, shot=4e-3, read=0.01)
        assert abs(noisy.var() / (4e-3 * level + 1e-4) - 1) < 0.05
        assert abs(noisy.mean() - level) < 2e-3


def test_h264_roundtrip_keeps_frames_close():
    frames = [np.ascontiguousarray(skimage.data.chelsea()[:96, 10 * i : 10 * i + 128]) for i in range(4)]
    decoded = h264_roundtrip(frames, crf=20)
    assert len(decoded) == 4 and decoded[0].shape == frames[0].shape
    for original, result in zip(frames, decoded):
        mse = np.mean((original.astype(float) - result.astype(float)) ** 2)
        assert 10 * np.log10(255**2 / mse) > 30


def test_h264_sequences_are_byte_identical_across_processes(tmp_path):
    # A rebuilt dataset must equal the first build. With x264's macroblock tree on, the bundled x264 reads an
    # uninitialised value, and two processes wrote different H.264 frames for this very command (4 of 4 pairs).
    sample = files("vdeblur.samples") / "bikes_sharp.mp4"
    command = [sys.executable, "-m", "vdeblur", "synth", "--codec", "h264", "--frames", "6", "--size", "320"]
    command += ["--sequences-per-source", "2", "--seed", "3", str(sample), "--output"]
    for name in ("first", "second"):
        subprocess.run([*command, str(tmp_path / name)], check=True, capture_output=True)
    written = sorted(path.relative_to(tmp_path / "first") for path in (tmp_path / "first").rglob("*.png"))
    assert len(written) == 2 * 2 * 6
    for path in written:
        assert (tmp_path / "first" / path).read_bytes() == (tmp_path / "second" / path).read_bytes(), path


def test_small_photo_keeps_its_size_and_calms_the_shake(tmp_path):
    from vdeblur.synth.build import plan_still

    photo = tmp_path / "small.png"
    write_image(photo, skimage.data.coffee()[:300, :400])
    strong = SynthConfig(frames=4, blur_min=40.0, blur_max=40.0, parallax_probability=0.0, object_probability=0.0)
    plan = plan_still(np.random.default_rng(0), photo, [], strong)
    width, height = plan.scene.camera.out_size
    assert min(width, height) >= 0.8 * 300 - 2  # 80% of the photo, less rounding to even sizes
    assert 0 < plan.facts["blur"] < 40.0  # calmed, and recorded as calmed
    # The shaking camera never looks past the canvas: every output corner stays inside it at every instant.
    canvas_h, canvas_w = plan.scene.background.canvas.shape[:2]
    corners = np.array([[0, 0, 1], [width, 0, 1], [0, height, 1], [width, height, 1]], np.float64).T
    for t in np.linspace(-0.5, 3.5, 33):
        to_canvas = np.linalg.inv(np.vstack([plan.scene.camera.matrix(float(t)), [0, 0, 1]]))
        points = (to_canvas @ corners)[:2]
        assert points.min() >= -0.5 and points[0].max() <= canvas_w + 0.5 and points[1].max() <= canvas_h + 0.5


def test_footage_sequences_keep_to_the_longest_shot_of_their_segment(tmp_path):
    """A clip that cuts from a short pan over one photograph to a longer pan over another: its sequence is made
    from the longer shot only, every sharp frame showing that photograph; `--across-cuts` keeps the segment."""
    coffee, astronaut = skimage.data.coffee()[::3, ::3], skimage.data.astronaut()[::3, ::3]
    height = min(coffee.shape[0], astronaut.shape[0])
    shots = [coffee[:height]] * 4 + [astronaut[:height]] * 8
    for i, photo in enumerate(shots):
        write_image(tmp_path / "clip" / f"{i:03d}.png", np.ascontiguousarray(photo[:, 2 * i : 2 * i + 140]))
    config = dataclasses.replace(SMALL, frames=4, shake_probability=0.0)
    synthesize([tmp_path / "clip"], tmp_path / "out", seed=1, config=config)
    sequence = tmp_path / "out" / "train" / "clip_00"
    assert json.loads((sequence / "synth.json").read_text())["shot_frames"] == [4, 12]
    colour = {name: photo[:height].reshape(-1, 3).mean(axis=0) / 255 for name, photo in
              (("coffee", coffee), ("astronaut", astronaut))}
    for frame in sorted((sequence / "sharp").glob("*.png")):
        mean = np.asarray(Image.open(frame), np.float32).reshape(-1, 3).mean(axis=0) / 255
        assert np.abs(mean - colour["astronaut"]).sum() < np.abs(mean - colour["coffee"]).sum()
    main(["synth", str(tmp_path / "clip"), "-o", str(tmp_path / "across"), "--frames", "4", "--size", "96",
          "--across-cuts"])
    assert json.loads((tmp_path / "across" / "train" / "clip_00" / "synth.json").read_text())["shot_frames"] == [0, 12]


def test_footage_of_nothing_but_cuts_is_refused_with_the_way_out(tmp_path):
    """A folder of unrelated photographs of one size read as footage has no shot of two frames to blur along."""
    height, width = 120, 140
    for i, photo in enumerate([skimage.data.coffee(), skimage.data.astronaut(), skimage.data.chelsea()]):
        write_image(tmp_path / "slides" / f"{i}.png", np.ascontiguousarray(photo[:height, :width]))
    with pytest.raises(UserError, match="no two consecutive frames of one shot.*--across-cuts"):
        synthesize([tmp_path / "slides"], tmp_path / "out", config=dataclasses.replace(SMALL, frames=2))


def test_grabcut_masks_do_not_depend_on_what_the_process_ran_before():
    # GrabCut seeds its colour models with OpenCV's per-thread RNG, whose state carries over from earlier calls:
    # a worker that had rendered other sequences cut a different object, so one seed gave different sets.
    photo = skimage.data.astronaut()[::2, ::2].astype(np.float32) / 255
    rect = (60, 20, 120, 200)
    first = grabcut_mask(photo, rect)
    cv2.randu(np.zeros((64, 64), np.float32), 0, 1)  # moves the RNG on, as an earlier sequence's work does
    grabcut_mask(skimage.data.coffee().astype(np.float32) / 255, (100, 50, 200, 250))
    np.testing.assert_array_equal(grabcut_mask(photo, rect), first)
