// Decoded AVFrame -> packed RGB24 (H, W, 3), then the stream's display rotation. Internal to
// vision/decode.
//
// The conversion is swscale with SWS_BICUBIC and the source's own YUV matrix and range (the frame's
// colorspace / color_range), exactly as the ffmpeg CLI's scale filter sets it up: with Debian's
// FFmpeg 5.1 this reproduces the reference's decoded frames bit for bit (golden
// frame0_decoded_rgb). swscale's built-in default matrix (BT.601) is off by up to 11 levels on
// BT.709 video, and accurate_rnd / full_chroma_int by up to 17.
#pragma once

#include <cstdint>
#include <vector>

#include "vision/decode/ffmpeg_util.h"

struct SwsContext;

namespace vamba::vision::ffmpeg {

class RgbConverter {
 public:
  RgbConverter() = default;
  ~RgbConverter();
  RgbConverter(const RgbConverter&) = delete;
  RgbConverter& operator=(const RgbConverter&) = delete;

  // Converts `frame` (software or hardware; hardware frames are downloaded first) to RGB24 and
  // rotates it clockwise by `rotation` degrees (0, 90, 180 or 270). Output size after rotation.
  Status convert(const AVFrame* frame, int rotation, std::vector<uint8_t>* rgb, int* width,
                 int* height);

 private:
  SwsContext* sws_ = nullptr;
  FramePtr staging_;   // the packed, 32-byte-aligned RGB frame swscale writes into
  FramePtr download_;  // hardware frames land here first
};

}  // namespace vamba::vision::ffmpeg
