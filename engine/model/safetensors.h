// Reading and writing safetensors files. Reading mmaps the file and hands out tensors that point
// into the mapping (no copy); the mapping lives as long as any tensor from it. Every malformed
// input (truncated file, header length past EOF, bad JSON, offsets out of bounds or overlapping,
// dtype or shape inconsistent with the byte range, duplicate names) is an error naming the file and
// tensor. Alignment: files from write_safetensors or the Python library put every tensor at a
// multiple of its element size (8-byte-padded header); a foreign file may not, so code that needs
// aligned loads should copy (Tensor::to) rather than assume.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine/core/tensor.h"

namespace vamba {

struct SafetensorsEntry {
  std::string name;
  DType dtype;
  Shape shape;
  size_t begin = 0;  // byte offsets into the data section
  size_t end = 0;
};

class SafetensorsFile {
 public:
  // mmaps `path` and validates its header.
  static StatusOr<std::shared_ptr<SafetensorsFile>> open(const std::string& path);
  // Validates a header from memory (the fuzz target; also used by open()).
  static StatusOr<std::shared_ptr<SafetensorsFile>> from_buffer(std::string label,
                                                                std::shared_ptr<const void> owner,
                                                                const uint8_t* data, size_t size);

  const std::string& path() const { return path_; }
  const std::vector<SafetensorsEntry>& entries() const { return entries_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  bool contains(const std::string& name) const;
  const SafetensorsEntry* find(const std::string& name) const;
  // A CPU tensor viewing the mapped bytes (read-only by contract).
  StatusOr<Tensor> tensor(const std::string& name) const;

 private:
  std::string path_;
  std::shared_ptr<const void> owner_;  // keeps the mapping alive
  const uint8_t* data_ = nullptr;      // start of the data section
  size_t data_size_ = 0;
  std::vector<SafetensorsEntry> entries_;
  std::map<std::string, size_t> index_;
  std::map<std::string, std::string> metadata_;
};

// A checkpoint's tensors across one file (`model.safetensors`) or the shards named by
// `model.safetensors.index.json`. Other *.safetensors files in the folder are never read.
class TensorStore {
 public:
  static StatusOr<TensorStore> open_checkpoint(const std::string& dir);
  static StatusOr<TensorStore> open_file(const std::string& path);

  bool contains(const std::string& name) const;
  StatusOr<Tensor> get(const std::string& name) const;
  const SafetensorsEntry* find(const std::string& name) const;
  std::vector<std::string> names() const;
  // Names never fetched through get(): reported at load so a wrong checkpoint is noticed.
  std::vector<std::string> unused() const;

  // The file holding `name` (for error messages); the store's label when absent.
  std::string file_of(const std::string& name) const;
  // The folder (or single file) this store was opened from.
  const std::string& label() const { return label_; }
  const std::vector<std::shared_ptr<SafetensorsFile>>& files() const { return files_; }
  // Bytes of tensor data across all names.
  size_t total_bytes() const;

 private:
  std::string label_;
  std::vector<std::shared_ptr<SafetensorsFile>> files_;
  std::map<std::string, size_t> where_;  // tensor name -> file index
  mutable std::map<std::string, bool> used_;
  // get() may run on several threads; shared so the store stays movable.
  std::shared_ptr<std::mutex> used_mu_ = std::make_shared<std::mutex>();
};

// Writes tensors (any device; copied to host) to `path` atomically: a temporary file in the same
// folder, fsync, then rename, so a crash never leaves a half-written file. Data is laid out like
// the Python library (larger element sizes first, then by name) behind a header padded to 8 bytes.
Status write_safetensors(const std::string& path,
                         const std::vector<std::pair<std::string, Tensor>>& tensors,
                         const std::map<std::string, std::string>& metadata = {});

}  // namespace vamba
