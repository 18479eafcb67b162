// `vamba random-checkpoint` on the bundled tiny config (scripts/tiny-model/config.json): it writes
// a checkpoint the loader accepts, with every tensor of the real layout under its real name and
// shape (the golden vamba-tiny checkpoint's weights_index.txt lists them for the same shapes), in
// bf16; the bytes depend on the seed only, never on the thread count; a bad config leaves nothing
// behind.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>

#include <sys/wait.h>

#include "engine/model/checkpoint.h"
#include "tests/testing/golden.h"

namespace vamba {
namespace {

namespace fs = std::filesystem;

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

class RandomCheckpointCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        fs::temp_directory_path() /
        ("vamba_random_ckpt_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
         "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  int run(const std::string& args) {
    const std::string cmd = std::string(VAMBA_CLI_PATH) + " random-checkpoint " + args + " 2>" +
                            (dir_ / "stderr.txt").string();
    const int rc = std::system(cmd.c_str());
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  }
  std::string stderr_text() const { return read_bytes(dir_ / "stderr.txt"); }

  // The tiny config bundled for the demo.
  static std::string tiny_config() {
    return std::string(VAMBA_SOURCE_DIR) + "/scripts/tiny-model/config.json";
  }

  fs::path dir_;
};

TEST_F(RandomCheckpointCli, WritesTheRealLayout) {
  const fs::path out = dir_ / "ckpt";
  ASSERT_EQ(run("--config " + tiny_config() + " --out " + out.string() + " --seed 7"), 0)
      << stderr_text();
  EXPECT_EQ(read_bytes(out / "config.json"), read_bytes(tiny_config()));
  auto ck = Checkpoint::open(out.string());
  ASSERT_TRUE(ck.ok()) << ck.status().to_string();
  EXPECT_TRUE(ck->unused.empty());

  // Names and shapes as in the real checkpoint of the same config ("name\t[d0, d1, ...]").
  std::ifstream index(testing::golden_path("vamba-tiny/weights_index.txt"));
  ASSERT_TRUE(index.good());
  std::map<std::string, std::string> expected;
  std::string line;
  while (std::getline(index, line)) {
    const size_t tab = line.find('\t');
    if (tab != std::string::npos) expected[line.substr(0, tab)] = line.substr(tab + 1);
  }
  ASSERT_FALSE(expected.empty());
  std::map<std::string, std::string> got;
  for (const std::string& name : ck->store.names()) {
    const SafetensorsEntry* e = ck->store.find(name);
    ASSERT_NE(e, nullptr) << name;
    std::ostringstream shape;
    shape << "[";
    for (size_t i = 0; i < e->shape.size(); ++i) shape << (i ? ", " : "") << e->shape[i];
    shape << "]";
    got[e->name] = shape.str();
    EXPECT_EQ(e->dtype, DType::kBF16) << e->name;
  }
  EXPECT_EQ(got, expected);
}

TEST_F(RandomCheckpointCli, SeedAloneDecidesTheBytes) {
  ASSERT_EQ(run("--config " + tiny_config() + " --out " + (dir_ / "a").string() +
                " --seed 3 --threads 1"),
            0)
      << stderr_text();
  ASSERT_EQ(run("--config " + tiny_config() + " --out " + (dir_ / "b").string() +
                " --seed 3 --threads 3"),
            0)
      << stderr_text();
  ASSERT_EQ(run("--config " + tiny_config() + " --out " + (dir_ / "c").string() + " --seed 4"), 0)
      << stderr_text();
  const std::string a = read_bytes(dir_ / "a" / "model.safetensors");
  ASSERT_FALSE(a.empty());
  EXPECT_TRUE(a == read_bytes(dir_ / "b" / "model.safetensors"));
  EXPECT_FALSE(a == read_bytes(dir_ / "c" / "model.safetensors"));
}

TEST_F(RandomCheckpointCli, BadConfigWritesNothing) {
  const fs::path config = dir_ / "config.json";
  std::ofstream(config) << "{\"hidden_size\": 100, \"num_attention_heads\": 3}";
  const fs::path out = dir_ / "out";
  EXPECT_EQ(run("--config " + config.string() + " --out " + out.string()), 2);
  EXPECT_NE(stderr_text().find("config.json"), std::string::npos) << stderr_text();
  EXPECT_FALSE(fs::exists(out / "model.safetensors"));
  EXPECT_FALSE(fs::exists(out / "config.json"));

  EXPECT_EQ(run("--config " + (dir_ / "missing.json").string() + " --out " + out.string()), 2);
  EXPECT_NE(stderr_text().find("missing.json"), std::string::npos) << stderr_text();
}

}  // namespace
}  // namespace vamba
