#!/usr/bin/env bash
# Prints, one per line, the packages that own the shared libraries a binary links directly: what
# the runtime stage of docker/Dockerfile installs (apt adds their dependencies), so its list cannot
# drift from the build. Libraries no package owns are an error, except the CUDA driver
# (libcuda.so.1), which the NVIDIA container runtime mounts at run time and which ldd does not find
# in a build container, and the dynamic loader (libc6's, present in every image).
#   docker/runtime-packages.sh build/release/bin/vamba
set -euo pipefail
bin=${1:?usage: runtime-packages.sh BINARY}

owner() {  # the package owning a library path; merged-/usr systems may list it under /usr or not
  local lib=$1 cand
  for cand in "$lib" "$(readlink -f "$lib")" "/usr$lib" "${lib#/usr}"; do
    if dpkg-query -S "$cand" >/dev/null 2>&1; then
      dpkg-query -S "$cand" | head -1 | cut -d: -f1
      return 0
    fi
  done
  return 1
}

missing=$(ldd "$bin" | awk '/not found/ {print $1}' | grep -v '^libcuda\.so' || true)
if [ -n "$missing" ]; then
  echo "runtime-packages: $bin needs libraries that are not installed: $missing" >&2
  exit 1
fi
# The libraries the binary names itself (DT_NEEDED); apt brings their own dependencies.
resolved=$(ldd "$bin")
objdump -p "$bin" | awk '$1 == "NEEDED" {print $2}' | grep -Ev '^(libcuda\.so|ld-linux)' | while read -r so; do
  lib=$(awk -v so="$so" '$1 == so && $2 == "=>" {print $3}' <<<"$resolved")
  [ -n "$lib" ] || { echo "runtime-packages: ldd does not resolve $so" >&2; exit 1; }
  owner "$lib" || { echo "runtime-packages: no package owns $lib" >&2; exit 1; }
done | sort -u
