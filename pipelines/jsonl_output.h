// The output file of a batch run: JSON lines, one per finished item, appended so that nothing is
// lost and nothing is written twice across crashes and re-runs.
//
//  - Each line goes out in one write() of the complete line on an O_APPEND descriptor, then
//    fdatasync(): a line is either wholly in the file or (after a crash mid-write, or a power loss
//    before the sync) at worst a torn last line.
//  - open() repairs that case: a last line without its newline is cut off the file (ftruncate), and
//    complete lines are read back, so the caller can skip what is already done. Lines that do not
//    parse are reported and ignored.
//  - An exclusive flock() is held around the repair and around each append, so several processes
//    may share one output file on a local file system (one per line, never interleaved or cut).
#pragma once

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

#include "engine/core/status.h"

namespace vamba::pipelines {

class JsonlOutput {
 public:
  // Opens (creating it and its folder if needed) `path` for appending, after the repair above.
  static StatusOr<std::unique_ptr<JsonlOutput>> open(const std::string& path);
  ~JsonlOutput();
  JsonlOutput(const JsonlOutput&) = delete;
  JsonlOutput& operator=(const JsonlOutput&) = delete;

  // The complete lines found by open(), in file order.
  const std::vector<nlohmann::json>& existing() const { return existing_; }
  // Bytes of a torn last line that open() removed (0 when the file ended cleanly).
  size_t repaired_bytes() const { return repaired_bytes_; }
  // Lines that were not valid JSON (ignored).
  size_t invalid_lines() const { return invalid_lines_; }

  // Appends `record` as one line, durable when this returns.
  Status append(const nlohmann::json& record);

  const std::string& path() const { return path_; }

 private:
  JsonlOutput() = default;
  std::string path_;
  int fd_ = -1;
  std::vector<nlohmann::json> existing_;
  size_t repaired_bytes_ = 0;
  size_t invalid_lines_ = 0;
};

}  // namespace vamba::pipelines
