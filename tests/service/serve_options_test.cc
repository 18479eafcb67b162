// `vamba serve` options from a JSON config file and the command line (service/serve_options.h):
// the file fills what the flags left unset, with the flags' own validators, and unknown keys are
// errors that name the key.
#include "service/serve_options.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

namespace vamba::service {
namespace {

namespace fs = std::filesystem;

class ServeOptionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "vamba_serveopts_XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::string write(const std::string& name, const std::string& text) {
    const std::string path = (fs::path(dir_) / name).string();
    std::ofstream(path) << text;
    return path;
  }

  // Parses `args` like `vamba serve args...` and applies the config; the settings or the error.
  Status run(std::vector<std::string> args, ServeSettings* out) {
    CLI::App app("serve");
    add_serve_options(app, out);
    std::vector<const char*> argv = {"serve"};
    for (const auto& a : args) argv.push_back(a.c_str());
    try {
      app.parse(static_cast<int>(argv.size()), argv.data());
    } catch (const CLI::ParseError& e) {
      return invalid_argument(std::string("command line: ") + e.what());
    }
    return finish_serve_settings(app, out);
  }

  std::string dir_;
};

TEST_F(ServeOptionsTest, FileSetsEveryKindOfValue) {
  const std::string token = write("token.txt", "s3cret\n");
  fs::create_directories(fs::path(dir_) / "videos");
  const std::string cfg = write("serve.json", R"({
    // comments are allowed
    "model": "models/tiny",
    "device": "cpu",
    "host": "127.0.0.1",
    "port": 6000,
    "max_message_mb": 32,
    "cache_mb": 512,
    "max_queue": 7,
    "token_budget": 9000,
    "max_frames": 64,
    "default_frames": 16,
    "max_tokens": 300,
    "default_max_tokens": 100,
    "auth_token_file": "token.txt",
    "metrics_port": 9100,
    "allowed_roots": ["videos", "/srv/media"],
    "allow_remote_urls": false,
    "shutdown_grace": 2.5,
    "log_level": "warn"   /* block comments too */
  })");
  ServeSettings s;
  Status st = run({"--config", cfg}, &s);
  ASSERT_TRUE(st.ok()) << st.to_string();
  EXPECT_EQ(s.model, (fs::path(dir_) / "models/tiny").string()) << "relative to the file";
  EXPECT_EQ(s.device, "cpu");
  EXPECT_EQ(s.server.host, "127.0.0.1");
  EXPECT_EQ(s.server.port, 6000);
  EXPECT_EQ(s.server.max_message_mb, 32);
  EXPECT_EQ(s.server.cache_mb, 512u);
  EXPECT_EQ(s.server.worker.max_queue, 7u);
  EXPECT_EQ(s.server.worker.max_reserved_tokens, 9000);
  EXPECT_EQ(s.server.limits.max_frames, 64);
  EXPECT_EQ(s.server.limits.default_frames, 16);
  EXPECT_EQ(s.server.limits.max_tokens, 300);
  EXPECT_EQ(s.server.limits.default_max_tokens, 100);
  EXPECT_EQ(s.server.auth_token, "s3cret") << "read from the file, newline trimmed";
  EXPECT_EQ(s.server.metrics_port, 9100);
  EXPECT_EQ(s.server.allowed_roots,
            (std::vector<std::string>{(fs::path(dir_) / "videos").string(), "/srv/media"}));
  EXPECT_FALSE(s.server.allow_remote_urls);
  EXPECT_DOUBLE_EQ(s.server.shutdown_grace_s, 2.5);
  EXPECT_EQ(s.log_level, "warn");
}

TEST_F(ServeOptionsTest, CommandLineWinsOverTheFile) {
  const std::string cfg = write("serve.json", R"({"model": "/m", "port": 6000, "cache_mb": 512,
    "allowed_roots": ["/a", "/b"]})");
  ServeSettings s;
  Status st = run({"--port", "7000", "--config", cfg, "--allow-path", "/c"}, &s);
  ASSERT_TRUE(st.ok()) << st.to_string();
  EXPECT_EQ(s.server.port, 7000);
  EXPECT_EQ(s.server.cache_mb, 512u) << "keys the command line left unset come from the file";
  EXPECT_EQ(s.server.allowed_roots, std::vector<std::string>{"/c"});
  EXPECT_EQ(s.model, "/m");
}

TEST_F(ServeOptionsTest, UnknownKeyIsAnErrorNamingIt) {
  const std::string cfg = write("serve.json", R"({"model": "/m", "prot": 6000})");
  ServeSettings s;
  Status st = run({"--config", cfg}, &s);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("unknown key 'prot'"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("port"), std::string::npos) << "the known keys are listed";
  // "config" and "help" are command-line only.
  const std::string nested = write("nested.json", R"({"model": "/m", "config": "other.json"})");
  EXPECT_NE(run({"--config", nested}, &s).message().find("unknown key 'config'"),
            std::string::npos);
}

TEST_F(ServeOptionsTest, ValuesAreCheckedLikeFlags) {
  struct Case {
    const char* json;
    const char* key;
  };
  for (const Case& c :
       {Case{R"({"model": "/m", "port": 70000})", "port"},
        Case{R"({"model": "/m", "port": "abc"})", "port"},
        Case{R"({"model": "/m", "port": [1, 2]})", "port"},
        Case{R"({"model": "/m", "cache_mb": {"a": 1}})", "cache_mb"},
        Case{R"({"model": "/m", "log_level": "loud"})", "log_level"},
        Case{R"({"model": "/m", "allow_remote_urls": "perhaps"})", "allow_remote_urls"},
        Case{R"({"model": "/m", "max_queue": null})", "max_queue"}}) {
    const std::string cfg = write("bad.json", c.json);
    ServeSettings s;
    Status st = run({"--config", cfg}, &s);
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << c.json;
    EXPECT_NE(st.message().find(std::string("'") + c.key + "'"), std::string::npos)
        << c.json << " -> " << st.message();
  }
}

TEST_F(ServeOptionsTest, BrokenFilesAndMissingModel) {
  ServeSettings s;
  Status st = run({"--config", write("broken.json", "{\"model\": \"/m\",")}, &s);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("not valid JSON"), std::string::npos) << st.message();
  st = run({"--config", write("list.json", "[1, 2]")}, &s);
  EXPECT_NE(st.message().find("JSON object"), std::string::npos) << st.message();
  ServeSettings none;
  st = run({}, &none);
  EXPECT_NE(st.message().find("--model"), std::string::npos) << st.message();
  ServeSettings both;
  st = run({"--model", "/m", "--auth-token", "a", "--auth-token-file", write("t.txt", "b")}, &both);
  EXPECT_NE(st.message().find("auth_token_file"), std::string::npos) << st.message();
  ServeSettings empty_token;
  st = run({"--model", "/m", "--auth-token-file", write("empty.txt", "\n")}, &empty_token);
  EXPECT_NE(st.message().find("empty"), std::string::npos) << st.message();
}

TEST_F(ServeOptionsTest, ExampleConfigInTheRepositoryParses) {
  // docker/serve.example.json documents every key: it must parse and name only known keys.
  ServeSettings s;
  Status st = run({"--config", VAMBA_SERVE_EXAMPLE_CONFIG}, &s);
  ASSERT_TRUE(st.ok()) << st.to_string();
  CLI::App app("serve");
  ServeSettings unused;
  add_serve_options(app, &unused);
  std::ifstream in(VAMBA_SERVE_EXAMPLE_CONFIG);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto entries = parse_config_json(text, "example");
  ASSERT_TRUE(entries.ok()) << entries.status().to_string();
  std::vector<std::string> in_example;
  for (const auto& e : *entries) in_example.push_back(e.key);
  std::sort(in_example.begin(), in_example.end());
  EXPECT_EQ(in_example, serve_config_keys(app)) << "the example should show every key";
}

}  // namespace
}  // namespace vamba::service
