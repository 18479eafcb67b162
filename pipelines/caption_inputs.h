// Which videos a batch captioning run covers, and which of them belong to this machine's shard.
//
// The input is a folder (searched recursively for files with a video extension), a list file (a
// .txt/.lst/.list file: one path per line, blank lines and lines starting with '#' skipped,
// relative paths taken relative to the list's folder), or a glob pattern (containing * ? or [).
// The result is sorted and free of duplicates, so every machine that reads the same input gets
// the same list.
//
// Shards: --shard I/N (1 <= I <= N) keeps the paths whose stable 64-bit FNV-1a hash is I−1 modulo
// N. The hash depends only on the path text, so a path stays in its shard when other videos are
// added to or removed from the list (a re-run after the list grew re-does nothing), and the N
// shards together are exactly the whole list.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/core/status.h"

namespace vamba::pipelines {

StatusOr<std::vector<std::string>> list_caption_inputs(const std::string& input);

// Lower-case extensions (with the dot) that a folder search takes as videos.
bool has_video_extension(const std::string& path);

struct Shard {
  int index = 1;  // 1-based
  int count = 1;
};
// "I/N"; INVALID_ARGUMENT unless 1 <= I <= N.
StatusOr<Shard> parse_shard(const std::string& text);
uint64_t stable_path_hash(const std::string& path);
bool in_shard(const std::string& path, const Shard& shard);
std::vector<std::string> shard_paths(const std::vector<std::string>& paths, const Shard& shard);

}  // namespace vamba::pipelines
