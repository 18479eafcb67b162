#!/usr/bin/env bash
# Makes the bundled demo model: a complete Vamba-Qwen2-VL checkpoint folder in the Hugging Face layout
# (config.json, model.safetensors, tokenizer.json, tokenizer_config.json, preprocessor_config.json) at
# tiny sizes with deterministic random weights, plus a short test video, demo.mp4 (ffmpeg's testsrc2).
# The weights are random: answers are noise by design (see scripts/tiny-model/README.md).
#   scripts/make_tiny_checkpoint.sh [OUT_DIR]      default build/models/vamba-tiny-random
# Environment: VAMBA (the vamba binary; default $BUILD_DIR/bin/vamba, BUILD_DIR default build/release),
# SEED (default 0: the same bytes every time).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-build/models/vamba-tiny-random}
vamba=${VAMBA:-${BUILD_DIR:-build/release}/bin/vamba}
seed=${SEED:-0}
src=scripts/tiny-model

if [ ! -x "$vamba" ]; then
  echo "make_tiny_checkpoint: no vamba binary at $vamba (build first, or set VAMBA or BUILD_DIR)" >&2
  exit 1
fi
command -v ffmpeg >/dev/null || { echo "make_tiny_checkpoint: needs the ffmpeg CLI (scripts/setup.sh)" >&2; exit 1; }
mkdir -p "$out"

# Weights (and config.json), written atomically by vamba itself.
"$vamba" random-checkpoint --config "$src/config.json" --out "$out" --seed "$seed"
for f in preprocessor_config.json tokenizer.json tokenizer_config.json LICENSE.tokenizer; do
  cp "$src/$f" "$out/$f.tmp" && mv -f "$out/$f.tmp" "$out/$f"
done

# 4 s of 640x360 at 30 fps, H.264 with a keyframe every second; made once, then reused.
if [ ! -s "$out/demo.mp4" ]; then
  ffmpeg -nostdin -loglevel error -y -f lavfi -i testsrc2=size=640x360:rate=30 -t 4 \
    -c:v libx264 -pix_fmt yuv420p -g 30 -f mp4 "$out/demo.mp4.tmp"
  mv -f "$out/demo.mp4.tmp" "$out/demo.mp4"
fi
echo "make_tiny_checkpoint: checkpoint and demo.mp4 in $out"
