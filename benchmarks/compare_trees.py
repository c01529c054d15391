"""Before/after a change: a model's streaming cost per frame from two (or more) vdeblur source trees.

Each tree's ``src`` runs in fresh processes, one per round and tree, interleaved, so a change in the machine's
load hits all trees alike. A process builds the model (random weights: speed does not depend on them), holds
it and the frames channels-last as the inference engine does, and times what streaming costs per output frame:
``encode_frame`` of one new frame plus ``decode_window`` of one window, under bf16 autocast (or float32).

Make the "before" tree with ``git archive``:

    mkdir -p /tmp/before && git archive <commit> src | tar -x -C /tmp/before
    python benchmarks/compare_trees.py --tree before=/tmp/before/src --tree after=src --model sta-cpu

Every tree runs with freed memory kept, as the ``vdeblur`` command sets it (``vdeblur.allocator``; here through
glibc's environment variables, which older trees understand too); ``--allocator-default`` adds each tree with
glibc's default behaviour as an extra variant.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys

_CHILD = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
import torch
from vdeblur.bench.timing import time_runs
from vdeblur.layout import to_channels_last
from vdeblur.models import create_model
try:
    from vdeblur.models.streaming import streams
except ImportError:  # a tree from before the StreamingModel protocol, whose contract was the flag alone
    def streams(model):
        return bool(getattr(model, "supports_feature_cache", False))
name, kwargs = sys.argv[2], json.loads(sys.argv[3])
height, width, precision, repeats = int(sys.argv[4]), int(sys.argv[5]), sys.argv[6], int(sys.argv[7])
model = create_model(name, **kwargs).eval()
if not streams(model):
    sys.exit(f"{name} has no encode_frame/decode_window; this script times streaming models only.")
multiple = model.size_multiple
height, width = height // multiple * multiple, width // multiple * multiple  # the engine pads; we crop
to_channels_last(model)
frame = torch.rand(1, 3, height, width).contiguous(memory_format=torch.channels_last)
with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
    window = [model.encode_frame(frame) for _ in range(model.num_frames)]

    def stream_one_frame():
        model.encode_frame(frame)
        model.decode_window(window, frame)

    print(json.dumps(time_runs(stream_one_frame, repeats).median))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", action="append", required=True, metavar="LABEL=SRC_DIR",
                        help="a source tree's src folder under a label (repeat)")
    parser.add_argument("--model", default="sta-cpu")
    parser.add_argument("--kwargs", default="{}", help="JSON model overrides")
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--precision", choices=("bf16", "fp32"), default="bf16")
    parser.add_argument("--threads", type=int, default=None, help="OMP_NUM_THREADS for the children")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3, help="timed frames per process (median taken)")
    parser.add_argument("--allocator-default", action="store_true")
    args = parser.parse_args()

    width, height = (int(v) for v in args.size.split("x"))
    # glibc's tunables, equivalent to what keep_freed_memory sets with mallopt.
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    base_env |= {"MALLOC_MMAP_MAX_": "0", "MALLOC_TRIM_THRESHOLD_": str(2**31 - 1)}
    if args.threads is not None:
        base_env["OMP_NUM_THREADS"] = str(args.threads)
    variants: dict[str, tuple[str, dict[str, str]]] = {}
    for spec in args.tree:
        label, _, path = spec.partition("=")
        variants[label] = (path, base_env)
        if args.allocator_default:  # glibc's defaults: M_MMAP_MAX 65536, dynamic trim threshold
            default_env = {k: v for k, v in base_env.items() if not k.startswith("MALLOC_")}
            variants[f"{label}, glibc default allocator"] = (path, default_env)
    seconds: dict[str, list[float]] = {label: [] for label in variants}
    for _ in range(args.rounds):
        for label, (path, env) in variants.items():
            command = [sys.executable, "-c", _CHILD, path, args.model, args.kwargs, str(height), str(width),
                       args.precision, str(args.repeats)]
            done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                reason = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}"
                sys.exit(f"{label} failed: {reason}")
            seconds[label].append(float(done.stdout.strip().splitlines()[-1]))
    first = statistics.median(seconds[next(iter(seconds))])
    print(f"{args.model} {args.kwargs} at {args.size}, {args.precision}, median of {args.rounds} rounds "
          f"(load average now {os.getloadavg()[0]:.2f})")
    print("| variant | ms per frame | speed-up over the first |\n|---|---:|---:|")
    for label, values in seconds.items():
        median = statistics.median(values)
        print(f"| {label} | {1000 * median:.0f} | {first / median:.2f}× |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
