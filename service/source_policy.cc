#include "service/source_policy.h"

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "vision/decode/video_decoder.h"

namespace vamba::service {
namespace {

namespace fs = std::filesystem;

Status permission_denied(std::string message) {
  return Status(StatusCode::kPermissionDenied, std::move(message));
}

// True when `child` is `root` or lies under it, comparing whole components.
bool is_within(const fs::path& child, const fs::path& root) {
  auto [r, c] = std::mismatch(root.begin(), root.end(), child.begin(), child.end());
  return r == root.end();
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

const std::vector<std::string>& SourcePolicy::url_schemes() {
  static const std::vector<std::string> schemes = {"http",  "https", "rtsp",
                                                   "rtsps", "rtmp",  "rtmps"};
  return schemes;
}

StatusOr<SourcePolicy> SourcePolicy::create(const std::vector<std::string>& allowed_roots,
                                            bool allow_remote_urls) {
  SourcePolicy policy;
  policy.allow_remote_urls_ = allow_remote_urls;
  for (const std::string& root : allowed_roots) {
    if (root.empty()) return invalid_argument("an allowed root is an empty path");
    std::error_code ec;
    const fs::path canonical = fs::canonical(root, ec);
    if (ec) return invalid_argument("allowed root " + root + ": " + ec.message());
    if (!fs::is_directory(canonical, ec)) {
      return invalid_argument("allowed root " + root + " is not a directory");
    }
    policy.roots_.push_back(canonical.string());
  }
  return policy;
}

StatusOr<std::string> SourcePolicy::resolve(const std::string& uri) const {
  if (vision::is_url(uri)) {
    const std::string scheme = lower(uri.substr(0, uri.find("://")));
    const auto& allowed = url_schemes();
    if (std::find(allowed.begin(), allowed.end(), scheme) == allowed.end()) {
      std::string list;
      for (const auto& s : allowed) list += (list.empty() ? "" : ", ") + s;
      return permission_denied("video.uri scheme '" + scheme +
                               "' is not allowed; this server opens " + list +
                               " URLs and local paths inside its allowed roots");
    }
    if (!allow_remote_urls_) {
      return permission_denied(
          "this server does not open remote URLs (allow_remote_urls is off); send the video's "
          "bytes or upload it");
    }
    return uri;
  }

  std::string local = uri;
  if (local.rfind("file://", 0) == 0) local = local.substr(7);
  if (local.empty()) return invalid_argument("video.uri names no file");
  if (roots_.empty()) {
    return permission_denied(
        "this server opens no local files (no allowed roots: see --allow-path); send the "
        "video's bytes, upload it, or give a URL");
  }
  std::error_code ec;
  fs::path path(local);
  if (path.is_relative()) path = fs::current_path(ec) / path;
  // Symlinks of the part that exists are resolved; the rest is normalised lexically ("..").
  const fs::path resolved = ec ? fs::path() : fs::weakly_canonical(path, ec);
  if (ec) return permission_denied("video.uri '" + uri + "' cannot be resolved: " + ec.message());
  const bool inside = std::any_of(roots_.begin(), roots_.end(), [&](const std::string& root) {
    return is_within(resolved, fs::path(root));
  });
  // Outside: the same answer whether the file exists or not, so nothing is learnt about it.
  if (!inside) {
    return permission_denied("video.uri '" + uri +
                             "' is outside the directories this server may read (its allowed "
                             "roots, after resolving symlinks and '..')");
  }
  if (!fs::exists(resolved, ec)) return not_found("no such video file: " + uri);
  return resolved.string();
}

}  // namespace vamba::service
