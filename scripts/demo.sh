#!/usr/bin/env bash
# The quick start: sets up the machine, builds vamba, makes the bundled tiny model and a test video,
# and asks a question about the video. The bundled model has random weights, so its answer is noise
# by design; point --model at a real Vamba-Qwen2-VL-7B folder for real answers. Needs nothing
# outside this checkout.
#   scripts/demo.sh [--model DIR] [--video FILE|URL] [--question TEXT] [--device cpu|cuda]
# BUILD_DIR (default build/release): a build already configured there is reused and only `vamba` is
# rebuilt; otherwise the release preset (or a Release build at BUILD_DIR) is configured first.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build/release}
jobs=${VAMBA_JOBS:-$(nproc)}
model=""
video=""
question="What is shown in this video?"
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

echo "== setup"
scripts/setup.sh
echo "== build ($build_dir)"
if [ ! -f "$build_dir/CMakeCache.txt" ]; then
  if [ "$build_dir" = build/release ]; then
    cmake --preset release >/dev/null
  else
    cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  fi
fi
cmake --build "$build_dir" --target vamba -j "$jobs"
vamba=$build_dir/bin/vamba

ask_settings=()
if [ -z "$model" ]; then
  model=build/models/vamba-tiny-random
  echo "== scripts/make_tiny_checkpoint.sh $model"
  VAMBA=$vamba scripts/make_tiny_checkpoint.sh "$model"
  [ -n "$video" ] || video=$model/demo.mp4
  # 8 frames with edges 112/224 keep the CPU demo to seconds; a real checkpoint takes Vamba's
  # defaults (512 frames, edges 256/480).
  ask_settings=(--frames 8 --shortest-edge 112 --longest-edge 224 --max-new-tokens 32)
  echo "demo: the bundled checkpoint has RANDOM weights: the answer below is noise by design"
fi
if [ -z "$video" ]; then
  echo "demo: --video FILE|URL is needed with --model" >&2
  exit 2
fi

echo "== vamba info"
"$vamba" info
echo "== vamba ask --model $model --video $video --device $device \"$question\""
"$vamba" ask --model "$model" --video "$video" --device "$device" "${ask_settings[@]}" "$question"
