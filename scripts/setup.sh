#!/usr/bin/env bash
# Installs every Debian 12 package the build, the tests and the demo need. Idempotent: when all are
# present it changes nothing and needs no network. Runs as root, or through sudo when available.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config git python3 clang-format
  # video in: FFmpeg libraries + the ffmpeg CLI (tests make their clips with it), OpenCV core/imgproc
  ffmpeg libavformat-dev libavcodec-dev libswscale-dev libavutil-dev
  libopencv-core-dev libopencv-imgproc-dev
  # service: gRPC + Protobuf and their compilers; HTTP for metrics and the OpenAI-style endpoint
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc libcpp-httplib-dev
  # engine: JSON, CLI parsing, logging, Unicode (tokenizer)
  nlohmann-json3-dev libcli11-dev libspdlog-dev libfmt-dev libutf8proc-dev
  # tests and benchmarks (python3-grpcio: the service tests' external gRPC client)
  libgtest-dev libgmock-dev libbenchmark-dev python3-grpcio
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages present"
else
  echo "setup: installing ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "setup: need root or sudo to install packages" >&2; exit 1; }
    SUDO=sudo
  fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# CUDA is optional: nvcc in /usr/local/cuda turns the CUDA backend on; without it the build is CPU-only.
if [ -x /usr/local/cuda/bin/nvcc ]; then
  echo "setup: CUDA toolkit found ($(/usr/local/cuda/bin/nvcc --version | tail -1))"
else
  echo "setup: no CUDA toolkit at /usr/local/cuda: building the CPU backend only"
fi
