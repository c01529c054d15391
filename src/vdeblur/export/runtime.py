"""Running exported ONNX graphs with ONNX Runtime behind the interface of a vdeblur model.

:class:`OnnxRuntimeModel` has ``forward``, ``num_frames``, ``size_multiple`` and, when the encoder and decoder
graphs were exported, ``supports_feature_cache`` with ``encode_frame`` / ``decode_window``; so
:class:`vdeblur.infer.engine.WindowEngine` and :class:`vdeblur.Deblurrer` run it like a torch model (in
float32: ONNX Runtime's CPU kernels ignore torch's autocast). Tensors cross to ONNX Runtime as NumPy arrays
that share memory with them; only CPU tensors are supported.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from torch import nn

from vdeblur.errors import UserError
from vdeblur.export.graphs import DECODER, ENCODER, WINDOW, GraphInfo, part_path
from vdeblur.export.onnx_export import export_onnx, read_onnx_info
from vdeblur.models.layers.shapes import check_frame, pad_to_multiple
from vdeblur.models.streaming import streams

Features = tuple[torch.Tensor, ...]


def _session(path: Path, role: str, threads: int | None) -> tuple[ort.InferenceSession, GraphInfo]:
    if not path.is_file():
        raise UserError(f"ONNX model not found: {path}.")
    try:
        proto = onnx.load(str(path))
    except Exception as exc:  # onnx raises DecodeError, ValueError or its own errors for a corrupt file
        raise UserError(f"Cannot read {path}: not a valid ONNX model ({exc}).") from exc
    info = read_onnx_info(proto, path)
    if info.role != role:
        raise UserError(f"{path} holds the {info.role} graph where the {role} graph was expected.")
    options = ort.SessionOptions()
    if threads is not None:
        options.intra_op_num_threads = threads
    return ort.InferenceSession(proto.SerializeToString(), options, providers=["CPUExecutionProvider"]), info


def _array(tensor: torch.Tensor) -> np.ndarray:
    if tensor.device.type != "cpu":
        raise ValueError(f"ONNX Runtime runs on the CPU here; got a tensor on {tensor.device}")
    return tensor.detach().float().contiguous().numpy()


class OnnxRuntimeModel(nn.Module):
    """A deblurring model executed by ONNX Runtime from graphs written by :func:`export_onnx`.

    Args:
        window: the window graph's session and info.
        halves: the encoder's and the decoder's sessions and infos, for feature caching; None without.

    Shape:
        - clip: ``(B, T, 3, H, W)`` float32 on the CPU, any H and W (padded here, cropped back).
        - output: ``(B, 3, H, W)``.
    """

    def __init__(
        self,
        window: tuple[ort.InferenceSession, GraphInfo],
        halves: tuple[tuple[ort.InferenceSession, GraphInfo], tuple[ort.InferenceSession, GraphInfo]] | None = None,
    ) -> None:
        super().__init__()
        self._window, info = window
        self.num_frames = info.num_frames
        self.size_multiple = info.size_multiple
        self.model_name = info.model
        self.model_kwargs = info.model_kwargs
        self.supports_feature_cache = halves is not None
        self._encoder = self._decoder = None
        self._decoder_inputs: list[str] = []
        if halves is not None:
            (self._encoder, _), (self._decoder, _) = halves
            # The exporter drops inputs a graph never reads (features of levels that fuse nothing).
            self._decoder_inputs = [node.name for node in self._decoder.get_inputs()]

    @classmethod
    def load(cls, path: str | os.PathLike, threads: int | None = None) -> OnnxRuntimeModel:
        """Open an export: ``path`` (window graph) and, if present beside it, the encoder and decoder graphs.

        Args:
            path: the ``.onnx`` file given to ``export_onnx``.
            threads: ONNX Runtime intra-op threads (None: its default, one per physical core).

        Raises:
            UserError: a missing or unreadable file, or one not exported by vdeblur.
        """
        path = Path(path)
        window = _session(path, WINDOW, threads)
        encoder_path, decoder_path = part_path(path, ENCODER), part_path(path, DECODER)
        halves = None
        if encoder_path.is_file() and decoder_path.is_file():
            halves = (_session(encoder_path, ENCODER, threads), _session(decoder_path, DECODER, threads))
        return cls(window, halves)

    @classmethod
    def from_module(cls, model: nn.Module, threads: int | None = None) -> OnnxRuntimeModel:
        """Export ``model`` (with its halves, if it caches features) to a temporary folder and open it."""
        streaming = streams(model)
        side = 4 * int(getattr(model, "size_multiple", 1))
        with tempfile.TemporaryDirectory(prefix="vdeblur-onnx-") as folder:
            path = Path(folder) / "model.onnx"
            export_onnx(model.to("cpu"), path, side, side, streaming=streaming)
            return cls.load(path, threads)

    def forward(self, clip: torch.Tensor) -> torch.Tensor:
        """Restore the reference frame of ``clip``; see the class docstring for shapes."""
        padded, (height, width) = pad_to_multiple(clip, self.size_multiple)
        (out,) = self._window.run(None, {"clip": _array(padded)})
        return torch.from_numpy(out)[..., :height, :width]

    def encode_frame(self, frame: torch.Tensor) -> Features:
        """The frame's encoder features (the encoder graph's outputs); H and W multiples of ``size_multiple``."""
        if self._encoder is None:
            raise RuntimeError("this export has no encoder graph; export with streaming=True")
        check_frame(frame, size_multiple=self.size_multiple)
        return tuple(torch.from_numpy(leaf) for leaf in self._encoder.run(None, {"frame": _array(frame)}))

    def decode_window(self, features: Sequence[Features], reference_frame: torch.Tensor) -> torch.Tensor:
        """Restore ``reference_frame`` from the T frames' ``encode_frame`` outputs."""
        if self._decoder is None:
            raise RuntimeError("this export has no decoder graph; export with streaming=True")
        if len(features) != self.num_frames:
            raise ValueError(f"expected features of {self.num_frames} frames, got {len(features)}")
        feed = {"reference": reference_frame}
        for t, leaves in enumerate(features):
            feed.update({f"frame{t}_features_{i}": leaf for i, leaf in enumerate(leaves)})
        (out,) = self._decoder.run(None, {name: _array(feed[name]) for name in self._decoder_inputs})
        return torch.from_numpy(out)
