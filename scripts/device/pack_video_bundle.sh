#!/usr/bin/env bash
# Packs binaries that need FFmpeg and OpenCV for the GPU machine, which has neither:
#   scripts/device/pack_video_bundle.sh build/ci/bin/e2e_bench [more binaries]
# -> .device/video.tar.xz: video/bin/<binaries> + ffmpeg (the minimal build), video/lib/<every
# shared library they need that is not glibc, libstdc++/libgcc or CUDA>, video/env.sh (puts the
# minimal FFmpeg first on LD_LIBRARY_PATH, so Debian's FFmpeg sonames resolve to it).
set -euo pipefail
cd "$(dirname "$0")/../.."
[ $# -ge 1 ] || { echo "usage: $0 BINARY..." >&2; exit 2; }
bash scripts/device/build_ffmpeg_min.sh >/dev/null
ff=$PWD/build/ffmpeg-min
stage=.device/video
rm -rf "$stage" && mkdir -p "$stage/bin" "$stage/lib"
cp "$@" "$ff/bin/ffmpeg" "$stage/bin/"
cp -P "$ff"/lib/*.so* "$stage/lib/"
# Everything else the binaries load (resolved with the minimal FFmpeg first), except what every
# Linux with a CUDA driver has.
skip='linux-vdso|ld-linux|/libc\.so|/libm\.so|/libdl\.so|/librt\.so|/libpthread\.so|libstdc\+\+|libgcc_s|libcuda|libcudart|libcublas|libnvidia'
for b in "$stage"/bin/*; do
  LD_LIBRARY_PATH="$ff/lib" ldd "$b" | awk '/=>/ {print $3}'
done | sort -u | grep -vE "$skip" | grep -v "^$ff" | while read -r lib; do
  [ -f "$lib" ] && cp -Ln "$lib" "$stage/lib/" 2>/dev/null || true
done
strip --strip-unneeded "$stage"/bin/* "$stage"/lib/*.so* 2>/dev/null || true
cat >"$stage/env.sh" <<'ENV'
# source this: the bundle's libraries first (the minimal FFmpeg keeps Debian's sonames).
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export PATH="$here/bin:$PATH"
export LD_LIBRARY_PATH="$here/lib:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
ENV
# Check: every binary resolves every library and symbol from the bundle alone.
for b in "$stage"/bin/*; do
  if LD_LIBRARY_PATH="$stage/lib" ldd "$b" | grep -q "not found"; then
    echo "pack_video_bundle: $b misses libraries:" >&2
    LD_LIBRARY_PATH="$stage/lib" ldd "$b" | grep "not found" >&2
    exit 1
  fi
done
tar -C .device -cJf .device/video.tar.xz video && rm -rf "$stage"
du -h .device/video.tar.xz
