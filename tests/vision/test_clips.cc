#include "tests/vision/test_clips.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>

#include "tests/testing/golden.h"
#include "vision/decode/video_decoder.h"

namespace vamba::testing {
namespace {

struct ScratchDir {
  std::string path;
  ScratchDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "vamba_vision_XXXXXX").string();
    if (mkdtemp(pattern.data())) path = pattern;
  }
  ~ScratchDir() {
    std::error_code ec;
    if (!path.empty()) std::filesystem::remove_all(path, ec);
  }
};

std::string make_once(std::once_flag& flag, std::string& cache, const std::string& name,
                      const std::string& args) {
  std::call_once(flag, [&] {
    const std::string out = scratch_dir() + "/" + name;
    if (run_ffmpeg(args + " \"" + out + "\"")) cache = out;
  });
  return cache;
}

}  // namespace

const std::string& scratch_dir() {
  static ScratchDir dir;
  return dir.path;
}

bool run_ffmpeg(const std::string& args) {
  const std::string cmd = std::string(VAMBA_FFMPEG_EXE) +
                          " -hide_banner -loglevel error -nostdin -y " + args + " >/dev/null 2>&1";
  return std::system(cmd.c_str()) == 0;
}

bool ffmpeg_available() {
  static const bool ok = run_ffmpeg("-version");
  return ok;
}

std::string testsrc_clip() {
  static std::once_flag flag;
  static std::string path;
  return make_once(flag, path, "testsrc.mp4",
                   "-f lavfi -i testsrc=size=320x240:rate=30 -frames:v 300 -c:v libx264 "
                   "-preset ultrafast -g 10 -keyint_min 10 -bf 2 -pix_fmt yuv420p");
}

std::string rotated_clip() {
  static std::once_flag flag;
  static std::string path;
  const std::string src = testsrc_clip();
  if (src.empty()) return "";
  return make_once(flag, path, "rotated.mp4",
                   "-i \"" + src + "\" -c copy -metadata:s:v:0 rotate=90");
}

std::string vfr_clip() {
  static std::once_flag flag;
  static std::string path;
  return make_once(flag, path, "vfr.mp4",
                   "-f lavfi -i testsrc=size=160x120:rate=30 -frames:v 60 "
                   "-vf \"setpts='if(lt(N,30),N/30,1+(N-30)/10)/TB'\" -fps_mode vfr "
                   "-video_track_timescale 90000 -c:v libx264 -preset ultrafast -g 15 "
                   "-pix_fmt yuv420p");
}

std::string faststart_magic() {
  static std::once_flag flag;
  static std::string path;
  return make_once(
      flag, path, "magic_faststart.mp4",
      "-i \"" + golden_path("vamba-tiny/magic.mp4") + "\" -c copy -movflags +faststart");
}

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)),
                              std::istreambuf_iterator<char>());
}

bool write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  return static_cast<bool>(out);
}

ByteDiff byte_diff(const uint8_t* a, const uint8_t* b, size_t n) {
  ByteDiff d;
  for (size_t i = 0; i < n; ++i) {
    const int diff = std::abs(static_cast<int>(a[i]) - static_cast<int>(b[i]));
    if (diff) {
      ++d.count;
      if (diff > d.max_abs) d.max_abs = diff;
    }
  }
  return d;
}

std::vector<vision::VideoFrame> decode_all(const std::string& path) {
  std::vector<vision::VideoFrame> frames;
  auto decoder = vision::VideoDecoder::open_file(path);
  EXPECT_TRUE(decoder.ok()) << decoder.status().to_string();
  if (!decoder.ok()) return frames;
  for (;;) {
    auto frame = (*decoder)->next_frame();
    EXPECT_TRUE(frame.ok()) << frame.status().to_string();
    if (!frame.ok() || !frame->has_value()) break;
    frames.push_back(std::move(**frame));
  }
  return frames;
}

}  // namespace vamba::testing
