// Helpers for the checkpoint tests: scratch folders and hand-built (possibly malformed) files.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vamba::testing {

// A fresh folder under $TMPDIR, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  // Names of the entries in the folder, sorted.
  std::vector<std::string> list() const;

 private:
  std::string path_;
};

void write_bytes(const std::string& path, const std::string& bytes);
std::string read_bytes(const std::string& path);

// A safetensors image from raw header text (not validated) and a data section.
std::string safetensors_bytes(const std::string& header, const std::string& data);
// The same with an explicit 8-byte header length field (to lie about it).
std::string safetensors_bytes_with_length(uint64_t header_len, const std::string& header,
                                          const std::string& data);

}  // namespace vamba::testing
