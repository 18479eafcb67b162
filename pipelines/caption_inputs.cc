#include "pipelines/caption_inputs.h"

#include <glob.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <set>

namespace vamba::pipelines {
namespace {

namespace fs = std::filesystem;

bool is_glob(const std::string& s) { return s.find_first_of("*?[") != std::string::npos; }

bool is_list_file(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return ext == ".txt" || ext == ".lst" || ext == ".list";
}

std::string trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

StatusOr<std::vector<std::string>> from_folder(const fs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  fs::recursive_directory_iterator it(dir, fs::directory_options::follow_directory_symlink, ec);
  if (ec) return invalid_argument("cannot list " + dir.string() + ": " + ec.message());
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) return invalid_argument("cannot list " + dir.string() + ": " + ec.message());
    std::error_code fec;
    if (it->is_regular_file(fec) && has_video_extension(it->path().string())) {
      out.push_back(it->path().string());
    }
  }
  return out;
}

StatusOr<std::vector<std::string>> from_list(const fs::path& list) {
  std::ifstream in(list);
  if (!in) return not_found("cannot read the list file " + list.string());
  const fs::path base = list.parent_path();
  std::vector<std::string> out;
  std::string line;
  while (std::getline(in, line)) {
    line = trim(line);
    if (line.empty() || line[0] == '#') continue;
    fs::path p(line);
    out.push_back(p.is_absolute() || base.empty() ? p.string() : (base / p).string());
  }
  return out;
}

StatusOr<std::vector<std::string>> from_glob(const std::string& pattern) {
  glob_t g{};
  const int rc = ::glob(pattern.c_str(), 0, nullptr, &g);
  std::vector<std::string> out;
  if (rc == 0) {
    for (size_t i = 0; i < g.gl_pathc; ++i) {
      std::error_code ec;
      if (fs::is_regular_file(g.gl_pathv[i], ec)) out.emplace_back(g.gl_pathv[i]);
    }
  }
  globfree(&g);
  if (rc != 0 && rc != GLOB_NOMATCH) return invalid_argument("cannot expand " + pattern);
  return out;
}

}  // namespace

bool has_video_extension(const std::string& path) {
  static const std::set<std::string> kExtensions = {
      ".mp4", ".m4v", ".mov",  ".mkv", ".webm", ".avi", ".ts",  ".mts", ".m2ts",
      ".flv", ".mpg", ".mpeg", ".wmv", ".3gp",  ".ogv", ".mxf", ".vob"};
  std::string ext = fs::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return kExtensions.count(ext) > 0;
}

StatusOr<std::vector<std::string>> list_caption_inputs(const std::string& input) {
  if (input.empty()) return invalid_argument("--input is empty");
  std::vector<std::string> paths;
  std::error_code ec;
  const auto status = fs::status(input, ec);
  if (!ec && fs::is_directory(status)) {
    VAMBA_ASSIGN_OR_RETURN(paths, from_folder(input));
  } else if (!ec && fs::is_regular_file(status) && is_list_file(input)) {
    VAMBA_ASSIGN_OR_RETURN(paths, from_list(input));
  } else if (!ec && fs::is_regular_file(status)) {
    paths.push_back(input);  // one video
  } else if (is_glob(input)) {
    VAMBA_ASSIGN_OR_RETURN(paths, from_glob(input));
  } else {
    return not_found("--input " + input + " is not a folder, a list file, a video or a pattern");
  }
  std::sort(paths.begin(), paths.end());
  paths.erase(std::unique(paths.begin(), paths.end()), paths.end());
  if (paths.empty()) return invalid_argument("--input " + input + " names no videos");
  return paths;
}

StatusOr<Shard> parse_shard(const std::string& text) {
  const Status bad =
      invalid_argument("--shard '" + text + "' must be I/N with 1 <= I <= N (e.g. 2/8)");
  const size_t slash = text.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 >= text.size()) return bad;
  auto digits = [](const std::string& s) {
    return !s.empty() && s.size() <= 6 &&
           std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
  };
  const std::string i = text.substr(0, slash), n = text.substr(slash + 1);
  if (!digits(i) || !digits(n)) return bad;
  Shard shard{std::stoi(i), std::stoi(n)};
  if (shard.count < 1 || shard.index < 1 || shard.index > shard.count) return bad;
  return shard;
}

uint64_t stable_path_hash(const std::string& path) {
  uint64_t h = 14695981039346656037ull;  // FNV-1a 64
  for (unsigned char c : path) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

bool in_shard(const std::string& path, const Shard& shard) {
  return stable_path_hash(path) % static_cast<uint64_t>(shard.count) ==
         static_cast<uint64_t>(shard.index - 1);
}

std::vector<std::string> shard_paths(const std::vector<std::string>& paths, const Shard& shard) {
  std::vector<std::string> out;
  for (const auto& p : paths) {
    if (in_shard(p, shard)) out.push_back(p);
  }
  return out;
}

}  // namespace vamba::pipelines
