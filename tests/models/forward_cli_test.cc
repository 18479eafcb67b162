// `vamba forward` end to end on the golden inputs: writes an inputs file (input_ids,
// video_grid_thw, and vision_embeds or pixel_values_videos from golden.safetensors), runs the
// binary, and checks its outputs against the golden logits, hidden states and greedy ids.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <sys/wait.h>

#include "engine/model/safetensors.h"
#include "tests/testing/golden.h"
#include "tests/testing/golden_tensors.h"

namespace vamba {
namespace {

namespace fs = std::filesystem;

constexpr double kTolerance = 1e-4;  // fp32 engine vs the fp32 reference (golden README)

class ForwardCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        fs::temp_directory_path() /
        ("vamba_forward_cli_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
         "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Runs `vamba forward` with extra arguments; returns the exit code.
  int run(const std::string& inputs, const std::string& out, const std::string& extra = "") {
    const std::string cmd = std::string(VAMBA_CLI_PATH) + " forward --model " +
                            testing::golden_path("vamba-tiny") + " --inputs " + inputs + " --out " +
                            out + " " + extra + " 2>" + (dir_ / "stderr.txt").string();
    const int rc = std::system(cmd.c_str());
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  }

  Tensor golden(const std::string& name) {
    auto t = testing::golden_tensor(name);
    EXPECT_TRUE(t.ok()) << t.status().to_string();
    return t.ok() ? *t : Tensor();
  }

  std::string read_stderr() const {
    std::ifstream in(dir_ / "stderr.txt");
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }

  // Checks a forward's outputs against the golden fp32 run (README: fp32 engine within 1e-4,
  // greedy ids equal).
  void expect_golden_outputs(const std::string& out) {
    auto file = SafetensorsFile::open(out);
    ASSERT_TRUE(file.ok()) << file.status().to_string();
    auto logits = (*file)->tensor("logits_last");
    auto hidden = (*file)->tensor("last_hidden_state");
    auto greedy = (*file)->tensor("greedy_ids");
    ASSERT_TRUE(logits.ok() && hidden.ok() && greedy.ok());
    EXPECT_EQ(logits->dtype(), DType::kF32);
    EXPECT_EQ(hidden->shape(), testing::golden_shape("last_hidden_state"));
    EXPECT_EQ(greedy->dtype(), DType::kI64);
    const double logits_err =
        testing::rel_l2(*logits->to_float_vector(), testing::golden_floats("logits_last"));
    const double hidden_err =
        testing::rel_l2(*hidden->to_float_vector(), testing::golden_floats("last_hidden_state"));
    std::printf("[ metric ] logits_last rel L2 %.3g, last_hidden_state rel L2 %.3g\n", logits_err,
                hidden_err);
    EXPECT_LE(logits_err, kTolerance);
    EXPECT_LE(hidden_err, kTolerance);
    const int64_t* g = greedy->data<int64_t>();
    EXPECT_EQ(std::vector<int64_t>(g, g + greedy->numel()), testing::golden_ints("greedy_ids"));
  }

  fs::path dir_;
};

TEST_F(ForwardCli, GoldenInputsGiveGoldenOutputs) {
  const std::string in = (dir_ / "in.safetensors").string();
  const std::string out = (dir_ / "out.safetensors").string();
  // vision_embeds in bf16 would lose precision; write the golden f32 as given.
  ASSERT_TRUE(write_safetensors(in, {{"input_ids", golden("input_ids")},
                                     {"video_grid_thw", golden("video_grid_thw")},
                                     {"vision_embeds", golden("vision_embeds")}})
                  .ok());
  const int64_t tokens = testing::golden_shape("greedy_ids")[0];
  ASSERT_EQ(run(in, out, "--device cpu --new-tokens " + std::to_string(tokens)), 0);
  expect_golden_outputs(out);
}

// The processor's output instead of the tower's: `vamba forward` runs the vision tower first.
TEST_F(ForwardCli, PixelValuesGiveGoldenOutputs) {
  const std::string in = (dir_ / "in.safetensors").string();
  const std::string out = (dir_ / "out.safetensors").string();
  ASSERT_TRUE(write_safetensors(in, {{"input_ids", golden("input_ids")},
                                     {"video_grid_thw", golden("video_grid_thw")},
                                     {"pixel_values_videos", golden("pixel_values_videos")}})
                  .ok());
  const int64_t tokens = testing::golden_shape("greedy_ids")[0];
  ASSERT_EQ(run(in, out, "--device cpu --new-tokens " + std::to_string(tokens)), 0)
      << read_stderr();
  expect_golden_outputs(out);
}

TEST_F(ForwardCli, BatchedIdsAndFewerTokens) {
  const std::string in = (dir_ / "in.safetensors").string();
  const std::string out = (dir_ / "out.safetensors").string();
  auto ids = golden("input_ids").reshape({1, 28});
  ASSERT_TRUE(ids.ok());
  auto bf16 = golden("vision_embeds").to_dtype_cpu(DType::kBF16);
  ASSERT_TRUE(bf16.ok());
  ASSERT_TRUE(write_safetensors(in, {{"input_ids", *ids}, {"vision_embeds", *bf16}}).ok());
  ASSERT_EQ(run(in, out, "--new-tokens 3"), 0);
  auto file = SafetensorsFile::open(out);
  ASSERT_TRUE(file.ok());
  auto greedy = (*file)->tensor("greedy_ids");
  ASSERT_TRUE(greedy.ok());
  EXPECT_EQ(greedy->numel(), 3);
}

TEST_F(ForwardCli, PixelValuesWithoutGridIsAClearError) {
  const std::string in = (dir_ / "in.safetensors").string();
  ASSERT_TRUE(write_safetensors(in, {{"input_ids", golden("input_ids")},
                                     {"pixel_values_videos", golden("pixel_values_videos")}})
                  .ok());
  EXPECT_EQ(run(in, (dir_ / "out.safetensors").string()), 2);
  EXPECT_NE(read_stderr().find("video_grid_thw"), std::string::npos) << read_stderr();
  EXPECT_FALSE(fs::exists(dir_ / "out.safetensors"));
}

TEST_F(ForwardCli, PixelValuesDisagreeingWithGridAreRejected) {
  const std::string in = (dir_ / "in.safetensors").string();
  std::vector<int64_t> grid = testing::golden_ints("video_grid_thw");
  ASSERT_EQ(grid.size(), 3u);
  grid[2] /= 2;  // half the patch columns: the rows no longer match the grid
  auto grid_tensor = Tensor::from_int64({1, 3}, grid);
  ASSERT_TRUE(grid_tensor.ok());
  ASSERT_TRUE(write_safetensors(in, {{"input_ids", golden("input_ids")},
                                     {"video_grid_thw", *grid_tensor},
                                     {"pixel_values_videos", golden("pixel_values_videos")}})
                  .ok());
  EXPECT_EQ(run(in, (dir_ / "out.safetensors").string()), 2);
  EXPECT_NE(read_stderr().find("pixel_values_videos"), std::string::npos) << read_stderr();
  EXPECT_FALSE(fs::exists(dir_ / "out.safetensors"));
}

TEST_F(ForwardCli, GridDisagreeingWithEmbedsIsRejected) {
  const std::string in = (dir_ / "in.safetensors").string();
  auto grid = Tensor::from_int64({1, 3}, {4, 8, 8});  // 64 tokens, not 128
  ASSERT_TRUE(grid.ok());
  ASSERT_TRUE(write_safetensors(in, {{"input_ids", golden("input_ids")},
                                     {"video_grid_thw", *grid},
                                     {"vision_embeds", golden("vision_embeds")}})
                  .ok());
  EXPECT_EQ(run(in, (dir_ / "out.safetensors").string()), 2);
}

// --kv-store fp8 keeps the video's K/V in fp8 e4m3: within the bound tests/models/
// kv_fp8_golden_test.cc derives (2^-5 relative L2), greedy ids unchanged; a bad name is a usage
// error that names the flag.
TEST_F(ForwardCli, Fp8KvStoreAndBadStoreName) {
  const std::string in = (dir_ / "in.safetensors").string();
  const std::string out = (dir_ / "out.safetensors").string();
  ASSERT_TRUE(write_safetensors(in, {{"input_ids", golden("input_ids")},
                                     {"vision_embeds", golden("vision_embeds")}})
                  .ok());
  const int64_t tokens = testing::golden_shape("greedy_ids")[0];
  ASSERT_EQ(run(in, out, "--kv-store fp8 --new-tokens " + std::to_string(tokens)), 0)
      << read_stderr();
  auto file = SafetensorsFile::open(out);
  ASSERT_TRUE(file.ok()) << file.status().to_string();
  auto logits = (*file)->tensor("logits_last");
  auto greedy = (*file)->tensor("greedy_ids");
  ASSERT_TRUE(logits.ok() && greedy.ok());
  const double err =
      testing::rel_l2(*logits->to_float_vector(), testing::golden_floats("logits_last"));
  std::printf("[ metric ] --kv-store fp8: logits_last rel L2 %.3g\n", err);
  EXPECT_LE(err, 1.0 / 32);
  EXPECT_GT(err, kTolerance);  // the fp8 store was actually used
  const int64_t* g = greedy->data<int64_t>();
  EXPECT_EQ(std::vector<int64_t>(g, g + greedy->numel()), testing::golden_ints("greedy_ids"));

  fs::remove(out);
  EXPECT_EQ(run(in, out, "--kv-store fp4"), 2);
  EXPECT_NE(read_stderr().find("--kv-store fp4"), std::string::npos) << read_stderr();
  EXPECT_FALSE(fs::exists(out));
}

}  // namespace
}  // namespace vamba
