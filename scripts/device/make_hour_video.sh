#!/usr/bin/env bash
# The end-to-end test video, made at run time: SECONDS of 1080p30 H.264 (testsrc2, a keyframe every
# 2 s = 60 frames, yuv420p), encoded in JOBS parallel segments of whole GOPs (testsrc2 and one x264
# each are single-threaded, so segments use every core) and joined without re-encoding.
#   scripts/device/make_hour_video.sh OUT.mp4 [SECONDS=3600] [JOBS=nproc]
set -euo pipefail
out=${1:?usage: make_hour_video.sh OUT.mp4 [SECONDS] [JOBS]}
seconds=${2:-3600}
jobs=${3:-$(nproc)}
ffmpeg=${FFMPEG:-ffmpeg}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
start=$(date +%s%N)
# Segment length: whole GOPs (2 s), about seconds / jobs.
seg=$(( (seconds / jobs + 1) / 2 * 2 )); [ "$seg" -ge 2 ] || seg=2
n=$(( (seconds + seg - 1) / seg ))
for ((i = 0; i < n; i++)); do
  len=$(( i == n - 1 ? seconds - i * seg : seg ))
  # Each segment's picture starts at 0 (seeking a lavfi source would generate and drop frames);
  # the concat demuxer makes the timestamps continuous.
  echo "$ffmpeg -v error -y -f lavfi -i testsrc2=size=1920x1080:rate=30 -t $len \
    -c:v libx264 -preset ultrafast -g 60 -keyint_min 60 -sc_threshold 0 -pix_fmt yuv420p \
    -threads 1 $work/seg$(printf %04d "$i").mp4"
  echo "file '$work/seg$(printf %04d "$i").mp4'" >>"$work/list.txt"
done | xargs -P "$jobs" -I{} sh -c '{}'
"$ffmpeg" -v error -y -f concat -safe 0 -i "$work/list.txt" -c copy "$out"
end=$(date +%s%N)
ms=$(( (end - start) / 1000000 ))
printf 'make_hour_video: %s, %s s of 1080p30 in %d.%03d s (%d segments, %d jobs), %s bytes\n' \
  "$out" "$seconds" $((ms / 1000)) $((ms % 1000)) "$n" "$jobs" "$(stat -c %s "$out")"
