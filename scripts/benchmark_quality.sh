#!/usr/bin/env bash
# The quality comparison of BENCHMARKS.md: the shipped CPU models, and the equal-step snapshots of their runs.
# Usage: scripts/benchmark_quality.sh [RUNS_FOLDER]   (run directories as the training commands left them)
set -euo pipefail
cd "$(dirname "$0")/.."
R="${1:-/work/runs}"  # the run directories of the equal-step comparison
.venv/bin/python benchmarks/quality.py --data /work/data/vdeblur-bench --tune-data /work/data/vdeblur-train --bf16 \
  --model "sta-wide (shipped default)=sta-wide" \
  --model "sta-cpu (shipped)=sta-cpu" \
  --model "sta-fullres (shipped)=sta-fullres" \
  --model "single-frame (shipped)=single-frame" \
  --model "dblrnet-cpu (shipped)=dblrnet-cpu" \
  --model "dblrgan-cpu (shipped)=dblrgan-cpu" \
  --model "sta-cpu @6000=$R/sta-cpu/best.safetensors" \
  --model "sta-cpu @2000=$R/sta-cpu/snap_2000.safetensors" \
  --model "single-frame @2000=$R/single-frame/snap_2000.safetensors" \
  --model "dblrnet-cpu @2000=$R/dblrnet-cpu/snap_2000.safetensors" \
  --model "sta-cpu + local fusion at 1/2 @2000=$R/sta-cpu-l012/snap_2000.safetensors" \
  --model "sta-fullres @2027=$R/sta-cpu-fr/snap_2027.safetensors" \
  --model "sta-wide 6000 + 8294 (the sixth session's default)=$R/sta-wide-ext/best.safetensors" \
  --model "sta-wide @6000 (the fourth session's default)=$R/sta-wide/best.safetensors" \
  --model "dblrnet-cpu, second stage as sta-wide's (best of its 8,294 steps)=$R/dblrnet-cpu-ext/best.safetensors" \
  --model "sta-wide @2000=$R/sta-wide/snap_2000.safetensors" \
  --model "sta-wide on one frame (ablation)=$R/sta-wide-single/best.safetensors" \
  --model "sta-wide on one frame @2000=$R/sta-wide-single/snap_2000.safetensors"
