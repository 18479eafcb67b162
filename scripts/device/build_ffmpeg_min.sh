#!/usr/bin/env bash
# A minimal FFmpeg for the GPU machine, which has no FFmpeg and receives at most 64 MiB per run.
#
# Built from Debian's own source package of the FFmpeg this machine has (5.1.x), so the libraries
# keep Debian's sonames (libavcodec.so.59, ...) and ABI: binaries built here against Debian's
# libraries run there against these through LD_LIBRARY_PATH. Only what the end-to-end run needs is
# enabled: H.264/HEVC decoding (CPU, and NVDEC through FFmpeg's CUDA hwaccel, which loads the
# driver's libraries at run time), MP4/Matroska demuxing, and for making the test video the
# testsrc2 source, libx264 and the MP4 muxer.
#
#   scripts/device/build_ffmpeg_min.sh        # -> build/ffmpeg-min/{bin/ffmpeg,lib/*.so.*}
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
out=$root/build/ffmpeg-min
if [ -x "$out/bin/ffmpeg" ] && [ -f "$out/lib/libavcodec.so.59" ]; then
  echo "build_ffmpeg_min: $out already built"; exit 0
fi
sudo_() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

version=$(dpkg-query -W -f='${Version}' libavcodec59 2>/dev/null || true)
[ -n "$version" ] || { echo "build_ffmpeg_min: libavcodec59 is not installed" >&2; exit 1; }
# Debian's source package, from the same suites as the binary packages.
if ! apt-cache showsrc ffmpeg 2>/dev/null | grep -q "^Version: ${version}$"; then
  sudo_ tee /etc/apt/sources.list.d/vamba-ffmpeg-src.sources >/dev/null <<SRC
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  sudo_ apt-get update -qq
fi
sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dpkg-dev nasm pkg-config \
  libx264-dev libffmpeg-nvenc-dev >/dev/null

src=$root/build/ffmpeg-src
mkdir -p "$src"
if [ ! -d "$src/ffmpeg-${version#*:}" ] && ! ls -d "$src"/ffmpeg-5.1*/ >/dev/null 2>&1; then
  (cd "$src" && apt-get source -qq "ffmpeg=${version}" >/dev/null)
fi
dir=$(ls -d "$src"/ffmpeg-5.1*/ | head -1)
cd "$dir"
# Component names: `./configure --list-decoders` etc.
./configure --prefix="$out" --enable-shared --disable-static --disable-doc --disable-debug \
  --disable-everything --enable-gpl --enable-libx264 --disable-autodetect \
  --enable-ffnvcodec --enable-nvdec --enable-cuvid \
  --disable-ffplay --disable-ffprobe --enable-ffmpeg \
  --enable-avdevice --disable-postproc --disable-swresample \
  --enable-avfilter --enable-filter=testsrc2,format,scale,null,fps,setpts,trim \
  --enable-decoder=h264,hevc,rawvideo --enable-decoder=h264_cuvid,hevc_cuvid \
  --enable-hwaccel=h264_nvdec,hevc_nvdec \
  --enable-encoder=libx264,rawvideo --enable-parser=h264,hevc \
  --enable-demuxer=mov,matroska,concat,h264,hevc,mpegts,lavfi --enable-muxer=mp4,mov,matroska,null \
  --enable-bsf=h264_mp4toannexb,hevc_mp4toannexb,extract_extradata,null \
  --enable-protocol=file,pipe,concat --enable-indev=lavfi \
  --extra-cflags=-O2 --extra-ldflags="-Wl,-rpath,\$ORIGIN/../lib" >"$out.configure.log" 2>&1 ||
  { tail -20 "$out.configure.log"; exit 1; }
nice -n 10 make -j"$(nproc)" >"$out.make.log" 2>&1 || { tail -30 "$out.make.log"; exit 1; }
make install >/dev/null
ls -la "$out/lib"/*.so.* "$out/bin/ffmpeg"
