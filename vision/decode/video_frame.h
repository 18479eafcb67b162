// What the decoder hands out: RGB frames with their place in the video, and what a probe learns.
// Plain structs with no FFmpeg types, so sample/ and preprocess/ (and their callers) stay free of
// it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vamba::vision {

struct VideoFrame {
  std::vector<uint8_t> rgb;  // (height, width, 3) packed RGB24, rotation already applied
  int width = 0;
  int height = 0;
  int64_t index = -1;      // frame number in presentation order at the nominal frame rate
  double timestamp = 0.0;  // seconds since the stream's first frame
};

struct VideoInfo {
  double duration = 0.0;  // seconds; the video stream's own duration where the container has it
  double fps = 0.0;       // avg_frame_rate, else r_frame_rate
  int fps_num = 0;        // fps as the container states it (e.g. 60000 / 1001)
  int fps_den = 1;
  int64_t frame_count = 0;  // nb_frames, else round(duration * fps)
  bool frame_count_estimated = false;
  int width = 0;  // display size: after rotation
  int height = 0;
  int coded_width = 0;  // size of the decoded pictures, before rotation
  int coded_height = 0;
  int rotation = 0;         // clockwise degrees applied to every frame: 0, 90, 180 or 270
  double start_time = 0.0;  // seconds; the first frame's timestamp in the container
  std::string codec;        // "h264"
  std::string container;    // "mov,mp4,m4a,3gp,3g2,mj2"
  bool seekable = true;     // false for live streams and pipes: frames are read forward only
};

}  // namespace vamba::vision
