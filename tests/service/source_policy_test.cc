// Which video URIs the server opens (service/source_policy.h), on a scratch tree with a root, a
// sibling whose name extends the root's, and symlinks pointing in and out.
#include "service/source_policy.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

namespace vamba::service {
namespace {

namespace fs = std::filesystem;

class SourcePolicyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "vamba_policy_XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    base_ = fs::canonical(pattern);
    root_ = base_ / "root";
    fs::create_directories(root_ / "sub");
    fs::create_directories(base_ / "root2");  // shares the root's name as a prefix
    fs::create_directories(base_ / "outside");
    touch(root_ / "sub" / "in.mp4");
    touch(base_ / "root2" / "sibling.mp4");
    touch(base_ / "outside" / "secret.mp4");
    fs::create_symlink(base_ / "outside" / "secret.mp4", root_ / "escape.mp4");
    fs::create_symlink(base_ / "outside", root_ / "escape_dir");
    fs::create_symlink(root_ / "sub" / "in.mp4", root_ / "alias.mp4");
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(base_, ec);
  }
  static void touch(const fs::path& p) { std::ofstream(p) << "x"; }

  SourcePolicy policy(bool urls = true) {
    auto p = SourcePolicy::create({root_.string()}, urls);
    EXPECT_TRUE(p.ok()) << p.status().to_string();
    return p.ok() ? *p : SourcePolicy{};
  }

  fs::path base_, root_;
};

TEST_F(SourcePolicyTest, PathsInsideTheRootResolveToTheirCanonicalPath) {
  const SourcePolicy p = policy();
  const std::string in = (root_ / "sub" / "in.mp4").string();
  auto r = p.resolve(in);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(*r, in);
  r = p.resolve("file://" + in);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(*r, in);
  // ".." that stays inside, and a symlink to a file inside, are fine; the symlink is resolved.
  r = p.resolve((root_ / "sub" / ".." / "sub" / "in.mp4").string());
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(*r, in);
  r = p.resolve((root_ / "alias.mp4").string());
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(*r, in);
}

TEST_F(SourcePolicyTest, EscapesArePermissionDenied) {
  const SourcePolicy p = policy();
  for (const fs::path& path :
       {base_ / "outside" / "secret.mp4", root_ / ".." / "outside" / "secret.mp4",
        root_ / "sub" / ".." / ".." / "outside" / "secret.mp4", root_ / "escape.mp4",
        root_ / "escape_dir" / "secret.mp4", base_ / "root2" / "sibling.mp4",
        fs::path("/etc/passwd")}) {
    auto r = p.resolve(path.string());
    EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied) << path;
    EXPECT_NE(r.status().message().find("allowed roots"), std::string::npos)
        << r.status().message();
  }
  EXPECT_EQ(p.resolve("file://" + (root_ / "escape.mp4").string()).status().code(),
            StatusCode::kPermissionDenied);
}

TEST_F(SourcePolicyTest, MissingFilesAreNotFoundInsideAndDeniedOutside) {
  const SourcePolicy p = policy();
  EXPECT_EQ(p.resolve((root_ / "nope.mp4").string()).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(p.resolve((base_ / "outside" / "nope.mp4").string()).status().code(),
            StatusCode::kPermissionDenied);
}

TEST_F(SourcePolicyTest, RelativePathsAreTakenFromTheWorkingDirectory) {
  const SourcePolicy p = policy();
  const fs::path cwd = fs::current_path();
  fs::current_path(root_);
  auto inside = p.resolve("sub/in.mp4");
  auto outside = p.resolve("../outside/secret.mp4");
  fs::current_path(cwd);
  ASSERT_TRUE(inside.ok()) << inside.status().to_string();
  EXPECT_EQ(*inside, (root_ / "sub" / "in.mp4").string());
  EXPECT_EQ(outside.status().code(), StatusCode::kPermissionDenied);
}

TEST_F(SourcePolicyTest, NoRootsMeansNoLocalFiles) {
  auto p = SourcePolicy::create({}, true);
  ASSERT_TRUE(p.ok());
  auto r = p->resolve((root_ / "sub" / "in.mp4").string());
  EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(r.status().message().find("--allow-path"), std::string::npos) << r.status().message();
}

TEST_F(SourcePolicyTest, RootsThatAreSymlinksAreCanonicalised) {
  fs::create_symlink(root_, base_ / "root_link");
  auto p = SourcePolicy::create({(base_ / "root_link").string()}, true);
  ASSERT_TRUE(p.ok()) << p.status().to_string();
  EXPECT_EQ(p->roots(), std::vector<std::string>{root_.string()});
  EXPECT_TRUE(p->resolve((root_ / "sub" / "in.mp4").string()).ok());
  EXPECT_TRUE(p->resolve((base_ / "root_link" / "sub" / "in.mp4").string()).ok());
}

TEST_F(SourcePolicyTest, BadRootsAreInvalidArgument) {
  EXPECT_EQ(SourcePolicy::create({(base_ / "missing").string()}, true).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(SourcePolicy::create({(root_ / "sub" / "in.mp4").string()}, true).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(SourcePolicyTest, UrlsFollowTheSwitchAndTheSchemeList) {
  const SourcePolicy on = policy(true);
  const SourcePolicy off = policy(false);
  for (const std::string url : {"http://example.invalid/v.mp4", "HTTPS://example.invalid/v.mp4",
                                "rtsp://camera.invalid/stream"}) {
    auto r = on.resolve(url);
    ASSERT_TRUE(r.ok()) << url << ": " << r.status().to_string();
    EXPECT_EQ(*r, url);
    auto denied = off.resolve(url);
    EXPECT_EQ(denied.status().code(), StatusCode::kPermissionDenied) << url;
    EXPECT_NE(denied.status().message().find("allow_remote_urls"), std::string::npos);
  }
  // FFmpeg protocols that read local files or descriptors are refused even with URLs on.
  for (const std::string url : {"concat:///etc/passwd", "pipe://0", "fd://3", "subfile://x",
                                "crypto://file.mp4", "gopher://example.invalid/"}) {
    auto r = on.resolve(url);
    EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied) << url;
    EXPECT_NE(r.status().message().find("scheme"), std::string::npos) << r.status().message();
  }
}

}  // namespace
}  // namespace vamba::service
