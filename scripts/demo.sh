#!/usr/bin/env bash
# The quick start: sets up the machine, builds vamba, and runs the main job on the bundled default:
# a question about a video, answered by the tiny Vamba checkpoint (random weights, so the answer is
# noise; point --model at a real Vamba-Qwen2-VL-7B folder for real answers).
#   scripts/demo.sh [--model DIR] [--video FILE|URL] [--question TEXT] [--device cpu|cuda]
set -euo pipefail
cd "$(dirname "$0")/.."
here=$PWD
model=${VAMBA_MODEL:-$here/../shared/golden/vamba-tiny}
video=""
question="Describe the magic trick in detail."
device=cpu
while [ $# -gt 0 ]; do
  case "$1" in
    --model) model=$2; shift 2 ;;
    --video) video=$2; shift 2 ;;
    --question) question=$2; shift 2 ;;
    --device) device=$2; shift 2 ;;
    *) echo "demo: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -n "$video" ] || video=$model/magic.mp4

scripts/setup.sh
scripts/build.sh release
vamba=build/release/bin/vamba

echo "== vamba info"
$vamba info
if [ ! -f "$model/config.json" ]; then
  echo "demo: no checkpoint at $model (set --model DIR or VAMBA_MODEL to a Vamba-Qwen2-VL folder)" >&2
  exit 1
fi
echo "== vamba inspect --model $model"
$vamba inspect --model "$model"
if $vamba --help | grep -q '^  ask'; then
  echo "== vamba ask --model $model --video $video --device $device"
  # The golden data's settings (8 frames, edges 112/224) keep the CPU demo to seconds; a real
  # checkpoint on a GPU takes Vamba's defaults (512 frames, edges 256/480) when these are left out.
  $vamba ask --model "$model" --video "$video" --device "$device" \
      --frames 8 --shortest-edge 112 --longest-edge 224 --max-new-tokens 32 "$question"
else
  echo "demo: this build has no 'ask' subcommand yet; ran info and inspect only"
fi
