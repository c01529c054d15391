#!/usr/bin/env bash
# Train a model on a lent GPU machine in one call of the device tool (issue 15), and leave its weights in OUT_DIR.
#
#   Here, first:  scripts/device_bundle.sh        # the training photographs into .device/ (about 21 MB)
#                 and a dry run on the CPU (tests/test_device_train.py runs one on two small photographs)
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
# fit. Then it times WARMUP steps, all inside the recipe's warm-up (whose learning rates do not depend on the run's
# length), and resumes the run with as many steps as MINUTES hold, so that the cosine schedule ends with the time.
#
# Environment: PYTHON (python3), DEVICE (cuda), MINUTES of training after the timed steps (5.5), SEQUENCES per
# photograph (4), FRAMES per sequence (20), CONFIG (configs/sta-wide-device.yaml), TRAIN_ARGS (more `vdeblur train`
# options, e.g. a smaller batch for a dry run), WARMUP timed steps (60), BUNDLE (.device), WORK (scratch folder,
# /tmp/vdeblur-device; emptied first).
set -euo pipefail

out="${1:?usage: scripts/device_train.sh OUT_DIR}"
repo="$(cd "$(dirname "$0")/.." && pwd)"
python="${PYTHON:-python3}"
device="${DEVICE:-cuda}"
minutes="${MINUTES:-5.5}"
sequences="${SEQUENCES:-4}"
frames="${FRAMES:-20}"
config="${CONFIG:-$repo/configs/sta-wide-device.yaml}"
read -r -a train_args <<< "${TRAIN_ARGS:-}"
warmup="${WARMUP:-60}"
bundle="${BUNDLE:-$repo/.device}"
work="${WORK:-/tmp/vdeblur-device}"
cores="$(nproc)"
loaders=$((cores > 3 ? cores - 2 : 1))  # the training process and its GPU feeding keep two cores
# The machine has no installed vdeblur: run it from the repository's source.
export PYTHONPATH="$repo/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1

if [ ! -f "$bundle/validation.txt" ]; then
    echo "No photographs in $bundle: run scripts/device_bundle.sh here and carry .device to the machine." >&2
    exit 2
fi
rm -rf "$work"
mkdir -p "$out" "$work"
data="$work/data"
run="$work/run"
started=$(date +%s)

# Whatever stops the run, bring back what it has written: the last EMA weights in float16, as the package ships
# them (sta-wide's float32 file is 16.8 MB, over the 16 MiB a returned file may have), its log and its settings.
collect() {
    if [ -f "$run/last.safetensors" ]; then
        "$python" "$repo/scripts/ship_weights.py" "$run/last.safetensors" last --float16 --folder "$out"
    fi
    for name in log.csv config.yaml; do
        if [ -f "$run/$name" ]; then cp "$run/$name" "$out/"; fi
    done
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
seconds_per_step=$("$python" - "$run/log.csv" "$warmup" <<'EOF'
import csv
import sys

rows = [row for row in csv.DictReader(open(sys.argv[1])) if row["step"]]
half = int(sys.argv[2]) // 2  # the first steps also pay for cuDNN's algorithm search and the loaders' start
timed = [row for row in rows if int(row["step"]) >= half]
if len(timed) < 2:
    sys.exit(f"log.csv holds {len(timed)} rows from step {half} on; make WARMUP at least twice train.log_every.")
first, last = timed[0], timed[-1]
print((float(last["elapsed_s"]) - float(first["elapsed_s"])) / max(1, int(last["step"]) - int(first["step"])))
EOF
)
steps=$("$python" -c "print($warmup + int($minutes * 60 / $seconds_per_step))")

# 3. The run itself: as many steps as the minutes hold, validated once at the end. The time limit is a backstop
#    that keeps the call inside the tool's limit should the timed steps have been faster than the rest.
"$python" -m vdeblur train --run-dir "$run" --max-steps "$steps" --set train.stop_at=null \
    --set train.val_every="$steps" --time-limit "$("$python" -c "print($minutes + 0.5)")"
finished=$(date +%s)

{
    echo "device: $device; $cores cores, $loaders loader processes"
    echo "rendered $((${#photos[@]} * sequences)) training sequences in $((rendered - started)) s"
    echo "a step took $seconds_per_step s over the timed warm-up; planned $steps steps"
    echo "trained $((finished - rendered)) s in all"
    tail -n 1 "$run/log.csv"
} | tee "$out/summary.txt"
