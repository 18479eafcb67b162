// `vamba ask` refuses a video over its memory budget (--video-memory-mb) before decoding it: the
// error says the tokens, the memory needed and available and what to change, on stderr, with a
// non-zero exit status and nothing on stdout. The budget's size is checked in-process first, so the
// cap is known to be too small for the video rather than assumed.
#include <gtest/gtest.h>

#include "engine/model/config.h"
#include "pipelines/video_budget.h"
#include "tests/pipelines/cli_child.h"
#include "tests/testing/golden.h"
#include "tests/vision/test_clips.h"
#include "vision/decode/video_decoder.h"

namespace vamba {
namespace {

TEST(VideoBudgetCli, AskOverBudgetFailsWithTheReason) {
  const std::string clip = testing::testsrc_clip();
  ASSERT_FALSE(clip.empty()) << "the ffmpeg CLI could not make the test clip";
  const std::string model = testing::golden_path("vamba-tiny");
  auto config = VambaConfig::from_file(model + "/config.json");
  ASSERT_TRUE(config.ok()) << config.status().to_string();
  auto pre = PreprocessorConfig::from_file(model + "/preprocessor_config.json");
  ASSERT_TRUE(pre.ok()) << pre.status().to_string();
  auto decoder = vision::VideoDecoder::open_file(clip);
  ASSERT_TRUE(decoder.ok()) << decoder.status().to_string();

  // Every frame at the CLI's pre-resize: more than the 1 MiB cap below.
  const int64_t frames = (*decoder)->info().frame_count;
  pipelines::VideoEncodeOptions o;
  o.sampling.num_frames = frames;
  o.pre_resize = {256, 480};
  o.memory_limit_bytes = int64_t{1} << 40;
  auto budget =
      pipelines::plan_video_budget(*config, *pre, Device::cpu(), (*decoder)->info(), frames, o);
  ASSERT_TRUE(budget.ok()) << budget.status().to_string();
  ASSERT_GT(budget->plan.total_bytes(), int64_t{1} << 20) << "the cap must be too small";

  const testing::ChildResult r = testing::run_child({VAMBA_CLI_PATH,
                                                     "ask",
                                                     "--model",
                                                     model,
                                                     "--video",
                                                     clip,
                                                     "--device",
                                                     "cpu",
                                                     "--frames",
                                                     std::to_string(frames),
                                                     "--shortest-edge",
                                                     "256",
                                                     "--longest-edge",
                                                     "480",
                                                     "--video-memory-mb",
                                                     "1",
                                                     "--max-new-tokens",
                                                     "4",
                                                     "-q",
                                                     "What is shown?"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("RESOURCE_EXHAUSTED"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(std::to_string(budget->video_tokens) + " video tokens"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("1.0 MiB is available"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--kv-store fp8"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace vamba
