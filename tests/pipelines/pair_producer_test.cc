// The parallel pair producer (pipelines/pair_producer.h) against the sequential loader
// (vision::load_video_input): the same pixel values, bit for bit, and the same timestamps, for one
// and several decoders and any look-ahead; errors from any worker reach the caller; destroying a
// producer mid-video joins its workers.
#include <gtest/gtest.h>

#include <cstring>

#include "pipelines/pair_producer.h"
#include "tests/vision/test_clips.h"
#include "vision/preprocess/video_input.h"

namespace vamba::pipelines {
namespace {

const std::string& clip() {
  static const std::string path = testing::testsrc_clip();
  return path;
}

#define REQUIRE_CLIP() \
  if (clip().empty()) GTEST_FAIL() << "the ffmpeg CLI could not make the test clip"

DecoderFactory reopen(const std::string& path) {
  return [path]() { return vision::VideoDecoder::open_file(path); };
}

vision::VideoPatches sequential(int frames, const PreprocessorConfig& config) {
  auto decoder = vision::VideoDecoder::open_file(clip());
  EXPECT_TRUE(decoder.ok()) << decoder.status().to_string();
  vision::VideoInputOptions options;
  options.sampling = {vision::SampleMode::kUniform, frames};
  options.pre_resize = vision::PreResizeOptions{112, 224};
  auto input = vision::load_video_input(**decoder, options, config);
  EXPECT_TRUE(input.ok()) << input.status().to_string();
  return std::move(input->patches);
}

StatusOr<vision::VideoPatches> parallel(int frames, int workers, int max_ahead,
                                        const PreprocessorConfig& config) {
  VAMBA_ASSIGN_OR_RETURN(auto decoder, vision::VideoDecoder::open_file(clip()));
  VAMBA_ASSIGN_OR_RETURN(auto samples,
                         vision::sample_frames(decoder->info().frame_count, decoder->info().fps,
                                               {vision::SampleMode::kUniform, frames}));
  PairProducerOptions options;
  options.workers = workers;
  options.max_ahead = max_ahead;
  options.pre_resize = vision::PreResizeOptions{112, 224};
  VAMBA_ASSIGN_OR_RETURN(auto producer, PairProducer::start(std::move(decoder), reopen(clip()),
                                                            std::move(samples), config, options));
  std::vector<vision::VideoPatches> pairs;
  for (int64_t i = 0; i < producer->pair_count(); ++i) {
    VAMBA_ASSIGN_OR_RETURN(vision::VideoPatches p, producer->next());
    if (p.grid_t != 1) return internal_error("a pair with grid_t " + std::to_string(p.grid_t));
    pairs.push_back(std::move(p));
  }
  if (producer->next().ok()) return internal_error("a pair past the last");
  if (producer->decode_seconds() <= 0) return internal_error("decode time not recorded");
  if (producer->frames_decoded() < frames / 2 * 2) return internal_error("frames not counted");
  return join_pairs(pairs);
}

void expect_same(const vision::VideoPatches& a, const vision::VideoPatches& b) {
  ASSERT_EQ(a.grid_t, b.grid_t);
  ASSERT_EQ(a.grid_h, b.grid_h);
  ASSERT_EQ(a.grid_w, b.grid_w);
  ASSERT_EQ(a.pixel_values.shape(), b.pixel_values.shape());
  EXPECT_EQ(0, std::memcmp(a.pixel_values.raw_data(), b.pixel_values.raw_data(),
                           a.pixel_values.nbytes()));
  EXPECT_EQ(a.timestamps, b.timestamps);
}

TEST(PairProducer, EqualsTheSequentialLoaderForAnyWorkerCount) {
  REQUIRE_CLIP();
  const PreprocessorConfig config;
  const vision::VideoPatches want = sequential(24, config);
  for (int workers : {1, 3}) {
    for (int ahead : {1, 64}) {
      SCOPED_TRACE("workers " + std::to_string(workers) + ", ahead " + std::to_string(ahead));
      auto got = parallel(24, workers, ahead, config);
      ASSERT_TRUE(got.ok()) << got.status().to_string();
      expect_same(*got, want);
    }
  }
}

TEST(PairProducer, AnOddLastFrameIsDroppedAsTheProcessorDrops) {
  REQUIRE_CLIP();
  const PreprocessorConfig config;
  const vision::VideoPatches want = sequential(7, config);
  auto got = parallel(7, 2, 4, config);
  ASSERT_TRUE(got.ok()) << got.status().to_string();
  EXPECT_EQ(got->grid_t, 3);
  expect_same(*got, want);
}

TEST(PairProducer, AWorkerErrorReachesTheCaller) {
  REQUIRE_CLIP();
  auto decoder = vision::VideoDecoder::open_file(clip());
  ASSERT_TRUE(decoder.ok());
  auto samples = vision::sample_frames((*decoder)->info().frame_count, (*decoder)->info().fps,
                                       {vision::SampleMode::kUniform, 40});
  ASSERT_TRUE(samples.ok());
  PairProducerOptions options;
  options.workers = 3;
  DecoderFactory broken = []() -> StatusOr<std::unique_ptr<vision::VideoDecoder>> {
    return vision::VideoDecoder::open_file("/nonexistent/video.mp4");
  };
  auto producer = PairProducer::start(std::move(*decoder), broken, std::move(*samples),
                                      PreprocessorConfig{}, options);
  ASSERT_TRUE(producer.ok());
  Status st;
  for (int i = 0; i < 20 && st.ok(); ++i) st = (*producer)->next().status();
  EXPECT_EQ(st.code(), StatusCode::kNotFound) << st.to_string();
}

TEST(PairProducer, TooFewFramesIsInvalidArgument) {
  REQUIRE_CLIP();
  auto decoder = vision::VideoDecoder::open_file(clip());
  ASSERT_TRUE(decoder.ok());
  auto producer = PairProducer::start(std::move(*decoder), reopen(clip()),
                                      {vision::FrameSample{0, 0.0}}, PreprocessorConfig{}, {});
  EXPECT_EQ(producer.status().code(), StatusCode::kInvalidArgument);
}

TEST(PairProducer, DestroyingMidVideoJoinsTheWorkers) {
  REQUIRE_CLIP();
  auto decoder = vision::VideoDecoder::open_file(clip());
  ASSERT_TRUE(decoder.ok());
  auto samples = vision::sample_frames((*decoder)->info().frame_count, (*decoder)->info().fps,
                                       {vision::SampleMode::kUniform, 60});
  ASSERT_TRUE(samples.ok());
  PairProducerOptions options;
  options.workers = 2;
  options.max_ahead = 2;
  auto producer = PairProducer::start(std::move(*decoder), reopen(clip()), std::move(*samples),
                                      PreprocessorConfig{}, options);
  ASSERT_TRUE(producer.ok());
  ASSERT_TRUE((*producer)->next().ok());
  producer->reset();  // workers blocked on the look-ahead bound must wake and exit
  SUCCEED();
}

}  // namespace
}  // namespace vamba::pipelines
