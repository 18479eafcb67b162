// The grid predicted from the container alone (vision/preprocess/video_grid.h) equals the grid the
// loader then produces by decoding, pre-resizing and preprocessing the frames, over clips of
// several sizes and aspect ratios (made with the ffmpeg CLI), a rotated one, with and without
// Vamba's pre-resize, an odd sample count, and two processor configs (the golden tiny model's and
// the Qwen2-VL defaults). The memory planner sizes a video from this prediction before decoding it.
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "tests/testing/golden.h"
#include "tests/vision/test_clips.h"
#include "vision/preprocess/video_grid.h"
#include "vision/preprocess/video_input.h"

namespace vamba::vision {
namespace {

// A 12-frame clip of `size` (WxH), made once per size.
std::string clip_of_size(const std::string& size) {
  const std::string path = testing::scratch_dir() + "/grid_" + size + ".mp4";
  if (!testing::run_ffmpeg("-f lavfi -i testsrc2=size=" + size +
                           ":rate=12 -frames:v 12 -c:v libx264 -pix_fmt yuv420p \"" + path +
                           "\"")) {
    return "";
  }
  return path;
}

void expect_prediction_matches(const std::string& path, int64_t frames,
                               const std::optional<PreResizeOptions>& pre_resize,
                               const PreprocessorConfig& config) {
  auto decoder = VideoDecoder::open_file(path);
  ASSERT_TRUE(decoder.ok()) << decoder.status().to_string();
  auto predicted = predict_video_grid((*decoder)->info(), frames, pre_resize, config);
  ASSERT_TRUE(predicted.ok()) << predicted.status().to_string();
  VideoInputOptions options;
  options.sampling = {SampleMode::kUniform, frames};
  options.pre_resize = pre_resize;
  auto input = load_video_input(**decoder, options, config);
  ASSERT_TRUE(input.ok()) << input.status().to_string();
  EXPECT_EQ(predicted->grid_t, input->patches.grid_t);
  EXPECT_EQ(predicted->grid_h, input->patches.grid_h);
  EXPECT_EQ(predicted->grid_w, input->patches.grid_w);
  EXPECT_EQ(predicted->patches(), input->patches.pixel_values.dim(0));
}

TEST(VideoGrid, PredictionMatchesTheLoader) {
  ASSERT_TRUE(testing::ffmpeg_available()) << "the ffmpeg CLI is needed to make the test clips";
  auto tiny =
      PreprocessorConfig::from_file(testing::golden_path("vamba-tiny/preprocessor_config.json"));
  ASSERT_TRUE(tiny.ok()) << tiny.status().to_string();
  const PreprocessorConfig qwen2vl;  // min 56², max 28²·1280 pixels
  std::vector<std::string> clips;
  // Landscape, portrait, a wide strip, one below the processor's minimum, and an HD frame (over the
  // tiny config's maximum without the pre-resize).
  for (const char* size : {"320x240", "200x356", "640x72", "48x40", "1280x720"}) {
    clips.push_back(clip_of_size(size));
    ASSERT_FALSE(clips.back().empty()) << "ffmpeg could not make a " << size << " clip";
  }
  clips.push_back(testing::rotated_clip());
  ASSERT_FALSE(clips.back().empty());
  const std::optional<PreResizeOptions> resizes[] = {std::nullopt, PreResizeOptions{256, 480},
                                                     PreResizeOptions{112, 224}};
  for (const std::string& clip : clips) {
    for (const auto& resize : resizes) {
      for (const PreprocessorConfig* config :
           {static_cast<const PreprocessorConfig*>(&*tiny), &qwen2vl}) {
        for (int64_t frames : {int64_t{4}, int64_t{7}}) {
          SCOPED_TRACE(clip +
                       (resize ? " pre-resize " + std::to_string(resize->shortest) + "/" +
                                     std::to_string(resize->longest)
                               : " no pre-resize") +
                       (config == &qwen2vl ? " qwen2-vl defaults" : " tiny config") + ", " +
                       std::to_string(frames) + " frames");
          expect_prediction_matches(clip, frames, resize, *config);
        }
      }
    }
  }
}

TEST(VideoGrid, RejectsAVideoWithoutASize) {
  VideoInfo info;
  info.frame_count = 10;
  info.fps = 10;
  EXPECT_EQ(predict_video_grid(info, 8, std::nullopt, PreprocessorConfig()).status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace vamba::vision
