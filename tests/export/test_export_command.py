"""``vdeblur export`` from the command line: files, metadata and one-sentence errors."""

from __future__ import annotations

import json
from pathlib import Path

import onnx
import pytest
import torch

from vdeblur.checkpoint import save_weights
from vdeblur.cli import main
from vdeblur.errors import UserError
from vdeblur.export import export_model
from vdeblur.models import create_model

TINY = dict(width=4, growth=4, num_layers=1, num_spatial=2, num_temporal=2, num_frames=3)


@pytest.fixture(scope="module")
def tiny_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("weights") / "tiny.safetensors"
    save_weights(path, create_model("sta-cpu", **TINY))
    return path


def test_export_streaming_onnx_from_a_weights_file(tiny_weights: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "nested" / "tiny.onnx"
    assert main(["export", "--model", str(tiny_weights), "-o", str(out), "--streaming", "--height", "16",
                 "--width", "24"]) == 0
    names = sorted(p.name for p in out.parent.iterdir())
    assert names == ["tiny.decoder.onnx", "tiny.encoder.onnx", "tiny.onnx"]  # no temporary files left
    info = json.loads({e.key: e.value for e in onnx.load(str(out)).metadata_props}["vdeblur"])
    assert info["model"] == "sta-cpu" and info["model_kwargs"]["num_frames"] == 3 and info["size_multiple"] == 8
    difference = float(capsys.readouterr().out.rsplit(":", 1)[1])
    assert difference < 1e-4


def test_a_stopped_export_leaves_no_file(tiny_weights: Path, tmp_path: Path, monkeypatch, capsys, stop) -> None:
    from vdeblur.export import torchscript_export

    def stopping(module, path: Path, extra) -> None:
        path.write_bytes(b"half a model")
        stop.now()

    monkeypatch.setattr(torchscript_export, "_save", stopping)
    argv = ["export", "--model", str(tiny_weights), "--format", "torchscript", "-o", str(tmp_path / "m.pt")]
    assert main(argv) == stop.status
    assert capsys.readouterr().err == f"vdeblur export: {stop.message}\n"
    assert list(tmp_path.iterdir()) == []


def test_existing_output_needs_overwrite(tiny_weights: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "m.pt"
    out.write_bytes(b"keep")
    assert main(["export", "--model", str(tiny_weights), "--format", "torchscript", "-o", str(out)]) == 2
    assert "--overwrite" in capsys.readouterr().err and out.read_bytes() == b"keep"
    assert main(["export", "--model", str(tiny_weights), "--format", "torchscript", "-o", str(out), "--overwrite",
                 "--no-verify"]) == 0
    assert out.read_bytes() != b"keep"
    weights = tiny_weights.read_bytes()  # the weights being exported are never an output, even with --overwrite
    assert main(["export", "--model", str(tiny_weights), "--format", "torchscript", "-o", str(tiny_weights),
                 "--overwrite", "--no-verify"]) == 2
    assert "is the weights file being exported" in capsys.readouterr().err and tiny_weights.read_bytes() == weights
    run = tmp_path / "run"  # a run directory stands for its best.safetensors
    run.mkdir()
    (run / "best.safetensors").write_bytes(weights)
    assert main(["export", "--model", str(run), "--format", "torchscript", "-o", str(run / "best.safetensors"),
                 "--overwrite", "--no-verify"]) == 2
    assert "is the weights file being exported" in capsys.readouterr().err
    assert (run / "best.safetensors").read_bytes() == weights


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--model", "no-such-model"], "Unknown model"),
        (["--model", "missing/run"], "not found"),
        (["--model", "dblrnet-cpu", "--random-init", "--streaming"], "no feature caching"),
        (["--model", "sta-cpu", "--random-init", "--height", "20"], "multiple of 8"),
    ],
)
def test_bad_requests_fail_with_one_sentence(argv: list[str], message: str, tmp_path: Path, capsys) -> None:
    assert main(["export", *argv, "-o", str(tmp_path / "m.onnx"), "--no-verify"]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not list(tmp_path.iterdir())


def test_a_name_without_weights_needs_random_init(tmp_path: Path, monkeypatch, capsys) -> None:
    import vdeblur.checkpoint
    import vdeblur.export.model_spec

    for module in (vdeblur.checkpoint, vdeblur.export.model_spec):
        monkeypatch.setattr(module, "shipped_weights_path", lambda name: None)
    out = tmp_path / "m.onnx"
    assert main(["export", "--model", "dblrnet-cpu", "-o", str(out)]) == 2
    assert "No trained weights ship" in capsys.readouterr().err
    assert main(["export", "--model", "dblrnet-cpu", "--random-init", "-o", str(out), "--no-verify"]) == 0


def test_unwritable_path_is_a_user_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    model = create_model("dblrnet-cpu", channels=4, num_blocks=1, head_channels=4)
    with pytest.raises(UserError, match="Cannot write"):
        export_model(model, blocker / "m.onnx", "onnx", 8, 8)
    with pytest.raises(UserError, match="Cannot write"):
        export_model(model, blocker / "m.pt", "torchscript", 8, 8)
