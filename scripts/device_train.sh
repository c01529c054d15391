#!/usr/bin/env bash
# Train a model on a lent GPU machine in one call of the device tool (issue 15), and leave its weights in OUT_DIR.
#
#   Here, first:  scripts/device_bundle.sh        # the training photographs into .device/ (about 21 MB)
#                 and a dry run on the CPU (tests/scripts/test_device_train.py runs one on two small photographs)
#   There:        the device tool's run, carry [".device"], timeout_s 590, command:
#                     scripts/device_train.sh "$OUT"
#   Back here:    OUT_DIR/last.safetensors (the EMA weights at the last step, float16), log.csv, config.yaml and
#                 summary.txt; score them on the CPU: vdeblur eval --model OUT_DIR/last.safetensors --data ...
#
# The machine starts bare and only 64 MiB travel (the repository's files are about 37 MiB), so it renders its
# training set itself, on its 16 cores, from the photographs that vdeblur-train-plus was rendered from: SEQUENCES
# sequences of each instead of the CPU sets' 2, since a GPU sees far more samples and the variety of blur is what
# the models lack (BENCHMARKS.md, "What limits it"). Footage is left out and the blurred frames are compressed as
# JPEG or not at all, never as H.264: both need PyAV, which the machine's image lacks and whose 36 MB wheel does not
# fit. Then it runs WARMUP steps, all inside the recipe's warm-up (whose learning rates do not depend on the run's
# length), times the last third of them (the first steps draw on batches the loaders queued in advance and pay for
# cuDNN's algorithm search), and resumes the run with as many steps as the time left before DEADLINE holds, so
# that the cosine schedule ends with the time.
#
# Environment: PYTHON (python3), DEVICE (cuda), DEADLINE in seconds from the start, for everything (530: the tool's
# 590 less a margin), SEQUENCES per photograph (4), FRAMES per sequence (20), CONFIG (configs/sta-wide-device.yaml),
# TRAIN_ARGS (more `vdeblur train` options, e.g. a smaller batch for a dry run), WARMUP steps (100, the recipe's
# warm-up), BUNDLE (.device), WORK (scratch folder, /tmp/vdeblur-device; emptied first).
set -euo pipefail

out="${1:?usage: scripts/device_train.sh OUT_DIR}"
repo="$(cd "$(dirname "$0")/.." && pwd)"
python="${PYTHON:-python3}"
device="${DEVICE:-cuda}"
deadline="${DEADLINE:-530}"
sequences="${SEQUENCES:-4}"
frames="${FRAMES:-20}"
config="${CONFIG:-$repo/configs/sta-wide-device.yaml}"
read -r -a train_args <<< "${TRAIN_ARGS:-}"
warmup="${WARMUP:-100}"
bundle="${BUNDLE:-$repo/.device}"
work="${WORK:-/tmp/vdeblur-device}"
cores="$(nproc)"
loaders=$((cores > 3 ? cores - 2 : 1))  # the training process and its GPU feeding keep two cores
# What the resumed run needs besides its steps: starting (imports, loaders, cuDNN's search), the final validation
# and checkpoint, and the weights' conversion.
reserve=45
# The machine has no installed vdeblur: run it from the repository's source.
export PYTHONPATH="$repo/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1

if [ ! -s "$bundle/validation.txt" ]; then
    echo "No photographs in $bundle: run scripts/device_bundle.sh here and carry .device to the machine." >&2
    exit 2
fi
started=$(date +%s)
rm -rf "$work"
mkdir -p "$out" "$work"
data="$work/data"
run="$work/run"

# Whatever stops the run, bring back what it has written: its log and settings, and the last EMA weights in float16
# as the package ships them (sta-wide's float32 file is 16.8 MB, over the 16 MiB a returned file may have).
collect() {
    for name in log.csv config.yaml; do
        if [ -f "$run/$name" ]; then cp "$run/$name" "$out/" || true; fi
    done
    if [ -f "$run/last.safetensors" ]; then
        "$python" "$repo/scripts/ship_weights.py" "$run/last.safetensors" last --float16 --folder "$out" \
            || echo "Could not convert $run/last.safetensors to float16." >&2
    fi
}
trap collect EXIT

# 1. The data: the training split from every photograph, the validation split from the same few as on the CPU.
mapfile -t photos < <(find "$bundle/photos" -type f | sort)
mapfile -t validation < <(sed "s|^|$bundle/photos/|" "$bundle/validation.txt")
"$python" -m vdeblur synth "${photos[@]}" --output "$data" --split train --seed 1 --frames "$frames" \
    --sequences-per-source "$sequences" --size 640 --workers "$cores" --codec none,jpeg
"$python" -m vdeblur synth "${validation[@]}" --output "$data" --split test --seed 4 --frames 8 --size 640 \
    --workers "$cores" --codec none,jpeg
rendered=$(date +%s)

# 2. Time a step on this machine, inside the warm-up.
"$python" -m vdeblur train --config "$config" --data "$data" --run-dir "$run" --device "$device" \
    --workers "$loaders" --stop-at "$warmup" "${train_args[@]}"
seconds_per_step=$("$python" - "$run" "$warmup" <<'EOF'
import csv
import sys
from pathlib import Path

import yaml

run, warmup = Path(sys.argv[1]), int(sys.argv[2])
warmup_steps = yaml.safe_load((run / "config.yaml").read_text())["optim"]["warmup_steps"]
if warmup > warmup_steps:
    sys.exit(f"WARMUP {warmup} passes the recipe's {warmup_steps} warm-up steps, whose learning rates alone do not "
             "depend on the run's length; make it at most that.")
# Training rows only (validation rows have no loss), from the last third of the warm-up.
times = {int(row["step"]): float(row["elapsed_s"]) for row in csv.DictReader((run / "log.csv").open()) if row["loss"]}
timed = sorted(step for step in times if step >= warmup - warmup // 3)
if len(timed) < 2:
    sys.exit(f"log.csv times {len(timed)} steps in the last third of the warm-up; make WARMUP at least three times "
             "train.log_every.")
print((times[timed[-1]] - times[timed[0]]) / (timed[-1] - timed[0]))
EOF
)
timed=$(date +%s)
train_seconds=$((started + deadline - timed - reserve))
steps=$("$python" -c "print($warmup + max(1, int($train_seconds / $seconds_per_step)))")

# 3. The run itself: as many steps as the time left holds, validated once at the end. The time limit is a backstop
#    that keeps the call inside the tool's limit should the steps turn out slower than the timed ones.
"$python" -m vdeblur train --run-dir "$run" --max-steps "$steps" --set train.stop_at=null \
    --set train.val_every="$steps" --time-limit "$("$python" -c "print(max(0.1, ($train_seconds + 20) / 60))")"
finished=$(date +%s)

"$python" - "$run" "$steps" <<'EOF' | tee "$out/summary.txt"
import csv
import sys
from pathlib import Path

run, planned = Path(sys.argv[1]), int(sys.argv[2])
rows = list(csv.DictReader((run / "log.csv").open()))
last = max(int(row["step"]) for row in rows)
ended = "as planned" if last == planned else f"at step {last}, stopped by the time limit before the schedule's end"
validation = [row for row in rows if row["val_psnr"]]
print(f"trained {last} steps of {planned} planned: {ended}")
if validation:
    print(f"validation at step {validation[-1]['step']}: {float(validation[-1]['val_psnr']):.2f} dB PSNR, "
          f"SSIM {float(validation[-1]['val_ssim']):.4f}")
EOF
{
    echo "device $device; $cores cores, $loaders loader processes"
    echo "rendered $((${#photos[@]} * sequences)) training sequences in $((rendered - started)) s"
    echo "a step took $seconds_per_step s over the last third of $warmup warm-up steps," \
        "done $((timed - started)) s after the start"
    echo "the run took $((finished - timed)) s; everything $((finished - started)) s of the $deadline s deadline"
} | tee -a "$out/summary.txt"
