#!/usr/bin/env python3
"""Rewrites CUDA kernel sources (.cu) into host C++ for the CPU emulation in emu.h.

Three textual changes, nothing else: every `kernel<<<cfg>>>(args);` launch becomes
`::emu::launch_kernel([&] { kernel(args); }, cfg);`, the dynamic `extern __shared__` buffer (of any
element type) becomes `::emu::dyn_smem()`, and each static `__shared__ T name[n];` becomes a per-block arena slot. The
kernel bodies are compiled unchanged, so the emulation checks the real indexing.

usage: emu_transform.py OUT_DIR FILE...   (paths relative to the repository root)
A .cu becomes OUT_DIR/<path>.emu.cc; a .cuh keeps its path under OUT_DIR, which goes first on the
include path so the rewritten header replaces the original.
"""
import os
import re
import sys

LAUNCH = re.compile(
    r"([A-Za-z_][\w:]*(?:<[^<>;]*>)?)\s*<<<(.*?)>>>\s*\((.*?)\)\s*;", re.DOTALL)
DYN_SMEM = re.compile(
    r"extern\s+__shared__\s+(?:__align__\(\d+\)\s+)?(unsigned\s+char|[\w:]+)\s+(\w+)\[\]\s*;")
STATIC_SMEM = re.compile(
    r"__shared__\s+(?:__align__\(\d+\)\s+)?([\w:]+)\s+(\w+)\[([^\]]+)\]\s*;")


def transform(text):
    text = DYN_SMEM.sub(
        lambda m: "%s* %s = reinterpret_cast<%s*>(::emu::dyn_smem());" % (
            m.group(1), m.group(2), m.group(1)), text)
    text = STATIC_SMEM.sub(r"\1* \2 = ::emu::shared_alloc<\1>(\3);", text)
    text = LAUNCH.sub(
        lambda m: "::emu::launch_kernel([&] { %s(%s); }, %s);" % (
            m.group(1), m.group(3), m.group(2)), text)
    if "<<<" in text or "__shared__" in text:
        raise SystemExit("emu_transform: an unhandled launch or __shared__ declaration remains")
    return text


def main():
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    for path in sys.argv[2:]:
        with open(path) as f:
            text = transform(f.read())
        if path.endswith(".cu"):
            out = os.path.join(out_dir, path[:-3] + ".emu.cc")
            text = '#include "tests/kernels_cuda/emu/emu.h"\n' + text
        else:
            out = os.path.join(out_dir, path)
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with open(out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
