"""`vdeblur synth`: make blurred/sharp training pairs from sharp videos, frame folders or photographs."""

from __future__ import annotations

import argparse

from vdeblur.commands.argtypes import non_negative_int, positive_int
from vdeblur.synth.config import TARGETS, SynthConfig
from vdeblur.synth.pipeline import synthesize


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `vdeblur synth`."""
    defaults = SynthConfig()
    parser.add_argument("sources", nargs="+", metavar="SOURCE",
                        help="video files, photographs, folders of frames (one clip each), or folders of videos")
    parser.add_argument("--output", "-o", required=True, help="dataset folder (GOPRO layout) to write into")
    parser.add_argument("--split", choices=("train", "test"), default="train", help="split folder (default: train)")
    # numpy's generators take non-negative seeds only; refusing others here keeps the error a usage error.
    parser.add_argument("--seed", type=non_negative_int, default=0,
                        help="base seed, 0 or more; the same seed gives the same data")
    parser.add_argument("--workers", type=positive_int, default=1, help="sequences rendered in parallel (default: 1)")
    parser.add_argument("--overwrite", action="store_true", help="remake sequences that already exist")
    strength = parser.add_argument_group("strength and variety")
    strength.add_argument("--frames", type=int, default=defaults.frames, help="frames per sequence")
    strength.add_argument("--sequences-per-source", type=int, default=defaults.sequences_per_source,
                          help="sequences made from each source (different segments and motions)")
    strength.add_argument("--size", type=int, default=defaults.long_side, dest="long_side",
                          help="longest side of written frames in pixels (sources are never enlarged)")
    strength.add_argument("--blur-min", type=float, default=defaults.blur_min,
                          help="shortest per-sequence median blur length, pixels of the written frames")
    strength.add_argument("--blur-max", type=float, default=defaults.blur_max,
                          help="longest per-sequence median blur length, pixels of the written frames")
    strength.add_argument("--exposure", type=float, nargs=2, default=(defaults.exposure_min, defaults.exposure_max),
                          metavar=("MIN", "MAX"), help="range of the shutter-open fraction of a frame interval")
    strength.add_argument("--objects", type=float, default=defaults.object_probability, dest="object_probability",
                          help="probability of pasted moving objects in a sequence")
    strength.add_argument("--objects-from", nargs="+", default=[], metavar="PHOTO",
                          help="more photographs (or folders of them) to cut moving objects from")
    strength.add_argument("--max-objects", type=int, default=defaults.max_objects, help="moving objects at most")
    strength.add_argument("--parallax", type=float, default=defaults.parallax_probability,
                          dest="parallax_probability", help="probability of depth parallax on a photograph")
    strength.add_argument("--highlights", type=float, default=defaults.highlight_probability,
                          dest="highlight_probability", help="probability of boosted, saturating highlights")
    strength.add_argument("--shake", type=float, default=defaults.shake_probability, dest="shake_probability",
                          help="probability of camera shake on top of footage")
    strength.add_argument("--noise", type=float, default=defaults.noise, help="sensor noise scale (0: none)")
    strength.add_argument("--camera-response", type=float, default=defaults.camera_response, metavar="P",
                          help="probability that a sequence's camera encodes with a random tone curve, not sRGB")
    strength.add_argument("--codec", default=defaults.codec, metavar="{none,jpeg,h264,mixed}",
                          help="compression of blurred frames (mixed: one of the three at random per sequence; "
                               "names separated by commas, e.g. none,jpeg: one of those)")
    strength.add_argument("--max-source-frames", type=int, default=defaults.max_source_frames,
                          help="frames decoded from each video at most")
    strength.add_argument("--target", choices=TARGETS, default=defaults.target,
                          help="sharp frame: the scene at the exposure's middle (instant, GOPRO's convention) or every "
                               "moving layer at its mean pose over the exposure (centroid: where the blur is centred)")
    parser.add_argument("--across-cuts", dest="within_shots", action="store_false",
                        help="let a sequence of footage span the scene cuts of its source (by default it keeps "
                             "to the longest shot of its segment: interpolating across a cut blends two shots)")


def run(args: argparse.Namespace) -> int:
    """Build the configuration from the arguments and synthesize."""
    config = SynthConfig(
        frames=args.frames, sequences_per_source=args.sequences_per_source, long_side=args.long_side,
        blur_min=args.blur_min, blur_max=args.blur_max, exposure_min=args.exposure[0],
        exposure_max=args.exposure[1], object_probability=args.object_probability, max_objects=args.max_objects,
        parallax_probability=args.parallax_probability, highlight_probability=args.highlight_probability,
        shake_probability=args.shake_probability, noise=args.noise, camera_response=args.camera_response,
        codec=args.codec, max_source_frames=args.max_source_frames, within_shots=args.within_shots,
        target=args.target,
    )
    made = synthesize(args.sources, args.output, split=args.split, seed=args.seed, config=config,
                      workers=args.workers, overwrite=args.overwrite, object_sources=args.objects_from)
    print(f"Wrote {len(made)} sequences to {args.output}/{args.split}.")
    return 0
