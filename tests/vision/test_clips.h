// Video fixtures made at test time with the ffmpeg CLI in a per-process temporary folder, and small
// helpers the vision tests share.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "vision/decode/video_frame.h"

namespace vamba::testing {

// A fresh temporary folder for this test process (removed at exit).
const std::string& scratch_dir();

// Runs the ffmpeg CLI with `args` (output silenced); false when it fails or is missing.
bool run_ffmpeg(const std::string& args);
bool ffmpeg_available();

// Clips (cached per process; "" when ffmpeg could not make them):
// 300 frames of testsrc, 320x240 at 30 fps, H.264 with a keyframe every 10 frames and B-frames.
std::string testsrc_clip();
// The same bitstream with a display matrix asking for a 90-degree clockwise rotation.
std::string rotated_clip();
// 60 frames: 30 at 30 fps (0 .. 0.967 s), then 30 at 10 fps (1.0 .. 3.9 s).
std::string vfr_clip();
// magic.mp4 remuxed with the moov atom first, so a truncated copy still opens.
std::string faststart_magic();

std::vector<uint8_t> read_bytes(const std::string& path);
bool write_bytes(const std::string& path, const std::vector<uint8_t>& bytes);

// Largest absolute difference between two byte images of equal size (255 + 1 when sizes differ),
// and how many bytes differ.
struct ByteDiff {
  int max_abs = 0;
  int64_t count = 0;
};
ByteDiff byte_diff(const uint8_t* a, const uint8_t* b, size_t n);

// All frames of a file by sequential decoding (the reference answer for sparse fetches).
std::vector<vision::VideoFrame> decode_all(const std::string& path);

}  // namespace vamba::testing
