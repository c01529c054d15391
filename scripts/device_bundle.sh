#!/usr/bin/env bash
# Gather what scripts/device_train.sh needs on a lent GPU machine into .device/ (git-ignored; name it in the
# device tool's `carry`): the photographs that vdeblur-train-plus was rendered from, read off its synth.json files
# (so the list cannot drift from scripts/build_datasets.sh), and the names of those its validation split was
# rendered from. Needs the sets built: scripts/build_datasets.sh --more-content DATA_DIR.
#
#   scripts/device_bundle.sh [DATA_DIR]   (default /work/data)
#
# Fails when the repository's files and the bundle together exceed the 64 MiB that travel to the machine.
# Environment: PYTHON (default: the repository's .venv).
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
data="${1:-/work/data}"
python="${PYTHON:-$repo/.venv/bin/python}"
bundle="$repo/.device"

if [ ! -d "$data/vdeblur-train-plus/train" ]; then
    echo "No $data/vdeblur-train-plus/train; run scripts/build_datasets.sh --more-content $data first." >&2
    exit 1
fi
rm -rf "$bundle"
mkdir -p "$bundle/photos"
"$python" - "$data" "$bundle" <<'EOF'
import json
import shutil
import sys
from pathlib import Path

data, bundle = Path(sys.argv[1]), Path(sys.argv[2])


def photographs(split: Path) -> list[Path]:
    """The photographs (not footage) that the sequences under ``split`` were rendered from."""
    records = [json.loads(path.read_text()) for path in split.glob("*/synth.json")]
    return sorted({Path(record["source"]) for record in records if record["kind"] == "still"})


train = photographs(data / "vdeblur-train-plus" / "train")
validation = photographs(data / "vdeblur-train-plus" / "test")
if not train or not validation:
    sys.exit(f"No photograph sequences in {data}/vdeblur-train-plus's train or test split; run "
             f"scripts/build_datasets.sh --more-content {data} first.")
names = [path.name for path in train]
if len(set(names)) != len(names):
    sys.exit("Two training photographs share a file name; they would overwrite each other in the bundle.")
missing = [path.name for path in validation if path not in train]
if missing:
    sys.exit(f"Validation photographs {missing} are not training photographs; the bundle holds only those.")
for path in train:
    shutil.copyfile(path, bundle / "photos" / path.name)  # follows the links build_datasets.sh makes
(bundle / "validation.txt").write_text("".join(f"{path.name}\n" for path in validation))
print(f"{len(train)} training photographs, {len(validation)} of them for validation.")
EOF

# What travels: tracked files and untracked ones git does not ignore, plus the carried bundle.
cd "$repo"
git ls-files -z --cached --others --exclude-standard | "$python" -c '
import os, sys
from pathlib import Path
tree = sum(os.path.getsize(name) for name in sys.stdin.read().split("\0") if name and os.path.isfile(name))
bundle = sum(path.stat().st_size for path in Path(".device").rglob("*") if path.is_file())
mib = 1024 * 1024
print(f"Travels: {(tree + bundle) / mib:.1f} MiB (repository {tree / mib:.1f}, bundle {bundle / mib:.1f}) of 64 MiB.")
if tree + bundle > 64 * mib:
    sys.exit("Too much to travel to the device machine; the limit is 64 MiB.")
'
