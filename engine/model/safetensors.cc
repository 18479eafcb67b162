#include "engine/model/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>

#include "engine/core/device.h"

namespace vamba {
namespace {

using json = nlohmann::json;

// The Python library refuses headers above 100 MB; a real 7B checkpoint's header is ~100 KB.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

std::string quote(const std::string& s) { return "'" + s + "'"; }

std::string errno_text() { return std::strerror(errno); }

// nlohmann keeps the last of duplicate keys silently; this callback remembers the first duplicate
// (at any depth) so the caller can reject it. Depth 1 keys are the tensor names.
struct DuplicateKeyFinder {
  std::vector<std::set<std::string>> open_objects;
  std::string duplicate;
  bool duplicate_is_top_level = false;
  std::string current_top_key;  // the tensor whose entry is being parsed
  std::string duplicate_owner;  // the top-level key around a nested duplicate

  bool on_event(int depth, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
        open_objects.emplace_back();
        break;
      case json::parse_event_t::object_end:
        if (!open_objects.empty()) open_objects.pop_back();
        break;
      case json::parse_event_t::key:
        if (!open_objects.empty() && parsed.is_string()) {
          const std::string& key = parsed.get_ref<const std::string&>();
          if (open_objects.size() == 1) current_top_key = key;
          if (!open_objects.back().insert(key).second && duplicate.empty()) {
            duplicate = key;
            duplicate_is_top_level = open_objects.size() == 1;
            duplicate_owner = current_top_key;
          }
        }
        break;
      default:
        break;
    }
    return true;
  }
};

// Parses JSON text and rejects duplicate keys anywhere; `what` names the file in errors.
StatusOr<json> parse_json_strict(const char* begin, const char* end, const std::string& what,
                                 std::string* duplicate_out, bool* duplicate_top_level,
                                 std::string* duplicate_owner = nullptr) {
  DuplicateKeyFinder finder;
  json parsed;
  try {
    parsed = json::parse(
        begin, end,
        [&finder](int depth, json::parse_event_t event, json& value) {
          return finder.on_event(depth, event, value);
        },
        /*allow_exceptions=*/true);
  } catch (const json::exception& e) {
    return invalid_argument(what + ": malformed JSON: " + e.what());
  }
  *duplicate_out = finder.duplicate;
  *duplicate_top_level = finder.duplicate_is_top_level;
  if (duplicate_owner != nullptr) *duplicate_owner = finder.duplicate_owner;
  return parsed;
}

// Reads a non-negative JSON integer; false when `v` is not one.
bool as_nonneg_int(const json& v, uint64_t* out) {
  if (v.is_number_unsigned()) {
    *out = v.get<uint64_t>();
    return true;
  }
  if (v.is_number_integer()) {
    const int64_t s = v.get<int64_t>();
    if (s < 0) return false;
    *out = static_cast<uint64_t>(s);
    return true;
  }
  return false;
}

// a * b with overflow detection.
bool mul_overflows(uint64_t a, uint64_t b, uint64_t* out) {
  return __builtin_mul_overflow(a, b, out);
}

StatusOr<SafetensorsEntry> parse_entry(const std::string& label, const std::string& name,
                                       const json& value, size_t data_size) {
  const std::string where = label + ": tensor " + quote(name);
  if (!value.is_object()) return invalid_argument(where + ": header entry is not an object");
  auto dtype_it = value.find("dtype");
  if (dtype_it == value.end()) return invalid_argument(where + ": missing 'dtype'");
  if (!dtype_it->is_string()) return invalid_argument(where + ": 'dtype' is not a string");
  auto dtype = dtype_from_safetensors(dtype_it->get_ref<const std::string&>());
  if (!dtype.ok()) return invalid_argument(where + ": " + dtype.status().message());

  auto shape_it = value.find("shape");
  if (shape_it == value.end()) return invalid_argument(where + ": missing 'shape'");
  if (!shape_it->is_array()) return invalid_argument(where + ": 'shape' is not an array");
  SafetensorsEntry entry;
  entry.name = name;
  entry.dtype = *dtype;
  uint64_t numel = 1;
  bool numel_overflow = false;
  for (const json& d : *shape_it) {
    uint64_t dim = 0;
    if (d.is_number_integer() && !d.is_number_unsigned() && d.get<int64_t>() < 0) {
      return invalid_argument(where + ": negative dimension " + d.dump() + " in shape " +
                              shape_it->dump());
    }
    if (!as_nonneg_int(d, &dim) ||
        dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return invalid_argument(where + ": shape " + shape_it->dump() +
                              " holds a value that is not a non-negative integer");
    }
    entry.shape.push_back(static_cast<int64_t>(dim));
    numel_overflow = numel_overflow || mul_overflows(numel, dim, &numel);
  }

  auto off_it = value.find("data_offsets");
  if (off_it == value.end()) return invalid_argument(where + ": missing 'data_offsets'");
  uint64_t begin = 0, end = 0;
  if (!off_it->is_array() || off_it->size() != 2 || !as_nonneg_int((*off_it)[0], &begin) ||
      !as_nonneg_int((*off_it)[1], &end)) {
    return invalid_argument(where +
                            ": 'data_offsets' must be [begin, end] of non-negative integers, got " +
                            off_it->dump());
  }
  if (begin > end) {
    return invalid_argument(where + ": data_offsets " + off_it->dump() + " end before they begin");
  }
  if (end > data_size) {
    return out_of_range(where + ": data_offsets " + off_it->dump() +
                        " run past the data section (" + std::to_string(data_size) + " bytes)");
  }
  uint64_t nbytes = 0;
  if (numel_overflow || mul_overflows(numel, dtype_size(entry.dtype), &nbytes) ||
      nbytes != end - begin) {
    return invalid_argument(
        where + ": " + dtype_name(entry.dtype) + shape_to_string(entry.shape) + " needs " +
        (numel_overflow
             ? std::string("overflowing")
             : std::to_string(numel) + " elements × " + std::to_string(dtype_size(entry.dtype))) +
        " bytes, but data_offsets " + off_it->dump() + " hold " + std::to_string(end - begin));
  }
  entry.begin = begin;
  entry.end = end;
  return entry;
}

// Unmaps (or frees) the file mapping when the last tensor viewing it is gone.
struct Mapping {
  void* addr = nullptr;
  size_t size = 0;
  ~Mapping() {
    if (addr != nullptr && size > 0) munmap(addr, size);
  }
};

bool is_regular_file(const std::string& path) {
  std::error_code ec;
  return std::filesystem::is_regular_file(path, ec);
}

}  // namespace

StatusOr<std::shared_ptr<SafetensorsFile>> SafetensorsFile::open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT) return not_found(path + ": no such file");
    return Status(StatusCode::kPermissionDenied, path + ": cannot open: " + std::strerror(err));
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    const std::string msg = errno_text();
    ::close(fd);
    return internal_error(path + ": fstat failed: " + msg);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return invalid_argument(path + ": not a regular file");
  }
  const size_t size = static_cast<size_t>(st.st_size);
  if (size < 8) {
    ::close(fd);
    return invalid_argument(path + ": file is " + std::to_string(size) +
                            " bytes, shorter than the 8-byte header length");
  }
  void* addr = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  const int map_err = errno;
  ::close(fd);  // the mapping keeps the file alive
  if (addr == MAP_FAILED) {
    return internal_error(path + ": mmap of " + std::to_string(size) +
                          " bytes failed: " + std::strerror(map_err));
  }
  auto mapping = std::make_shared<Mapping>();
  mapping->addr = addr;
  mapping->size = size;
  return from_buffer(path, mapping, static_cast<const uint8_t*>(addr), size);
}

StatusOr<std::shared_ptr<SafetensorsFile>> SafetensorsFile::from_buffer(
    std::string label, std::shared_ptr<const void> owner, const uint8_t* data, size_t size) {
  if (size < 8 || data == nullptr) {
    return invalid_argument(label + ": file is " + std::to_string(size) +
                            " bytes, shorter than the 8-byte header length");
  }
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | data[i];  // little-endian
  if (header_len > kMaxHeaderBytes) {
    return invalid_argument(label + ": header length " + std::to_string(header_len) +
                            " is absurd (limit " + std::to_string(kMaxHeaderBytes) + " bytes)");
  }
  if (header_len > size - 8) {
    return invalid_argument(label + ": header length " + std::to_string(header_len) +
                            " runs past the end of the " + std::to_string(size) + "-byte file");
  }
  const char* hbegin = reinterpret_cast<const char*>(data + 8);
  std::string duplicate, duplicate_owner;
  bool duplicate_top = false;
  VAMBA_ASSIGN_OR_RETURN(
      json header, parse_json_strict(hbegin, hbegin + header_len, label + " header", &duplicate,
                                     &duplicate_top, &duplicate_owner));
  if (!header.is_object()) {
    return invalid_argument(label + ": header is a JSON " + std::string(header.type_name()) +
                            ", not an object");
  }
  if (!duplicate.empty()) {
    if (duplicate_top) {
      return invalid_argument(label + ": duplicate tensor name " + quote(duplicate) + " in header");
    }
    return invalid_argument(label + ": tensor " + quote(duplicate_owner) + ": duplicate key " +
                            quote(duplicate) + " in its header entry");
  }

  auto file = std::shared_ptr<SafetensorsFile>(new SafetensorsFile());
  file->path_ = std::move(label);
  file->owner_ = std::move(owner);
  file->data_ = data + 8 + header_len;
  file->data_size_ = size - 8 - header_len;
  const std::string& path = file->path_;

  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") {
      if (it->is_null()) continue;
      if (!it->is_object()) return invalid_argument(path + ": __metadata__ is not an object");
      for (auto m = it->begin(); m != it->end(); ++m) {
        if (!m->is_string()) {
          return invalid_argument(path + ": __metadata__ value " + quote(m.key()) +
                                  " is not a string");
        }
        file->metadata_[m.key()] = m->get<std::string>();
      }
      continue;
    }
    VAMBA_ASSIGN_OR_RETURN(SafetensorsEntry entry,
                           parse_entry(path, it.key(), *it, file->data_size_));
    file->index_[entry.name] = file->entries_.size();
    file->entries_.push_back(std::move(entry));
  }

  // Overlapping byte ranges would let two tensors alias; the Python library rejects them too.
  std::vector<const SafetensorsEntry*> by_offset;
  for (const auto& e : file->entries_) {
    if (e.end > e.begin) by_offset.push_back(&e);
  }
  std::sort(
      by_offset.begin(), by_offset.end(),
      [](const SafetensorsEntry* a, const SafetensorsEntry* b) { return a->begin < b->begin; });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    if (by_offset[i]->begin < by_offset[i - 1]->end) {
      return invalid_argument(
          path + ": tensors " + quote(by_offset[i - 1]->name) + " [" +
          std::to_string(by_offset[i - 1]->begin) + ", " + std::to_string(by_offset[i - 1]->end) +
          ") and " + quote(by_offset[i]->name) + " [" + std::to_string(by_offset[i]->begin) + ", " +
          std::to_string(by_offset[i]->end) + ") overlap");
    }
  }
  return file;
}

bool SafetensorsFile::contains(const std::string& name) const { return index_.count(name) > 0; }

const SafetensorsEntry* SafetensorsFile::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &entries_[it->second];
}

StatusOr<Tensor> SafetensorsFile::tensor(const std::string& name) const {
  const SafetensorsEntry* e = find(name);
  if (e == nullptr) return not_found(path_ + ": no tensor " + quote(name));
  // The mapping is read-only; Tensor has no const view, so the contract is documented instead.
  void* ptr = const_cast<uint8_t*>(data_ + e->begin);
  return Tensor::wrap(ptr, e->shape, e->dtype, Device::cpu(), owner_);
}

// ---------------------------------------------------------------------------------------------
// TensorStore

namespace {

StatusOr<std::string> read_text_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return not_found(path + ": no such file");
    return internal_error(path + ": cannot open: " + errno_text());
  }
  std::string text;
  char buf[65536];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      const std::string msg = errno_text();
      ::close(fd);
      return internal_error(path + ": read failed: " + msg);
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return text;
}

}  // namespace

StatusOr<TensorStore> TensorStore::open_file(const std::string& path) {
  VAMBA_ASSIGN_OR_RETURN(auto file, SafetensorsFile::open(path));
  TensorStore store;
  store.label_ = path;
  store.files_.push_back(file);
  for (const auto& e : file->entries()) {
    store.where_[e.name] = 0;
    store.used_[e.name] = false;
  }
  return store;
}

StatusOr<TensorStore> TensorStore::open_checkpoint(const std::string& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    return not_found(dir + ": checkpoint folder does not exist");
  }
  const std::string index_path = dir + "/model.safetensors.index.json";
  if (!is_regular_file(index_path)) {
    const std::string single = dir + "/model.safetensors";
    if (!is_regular_file(single)) {
      return not_found(dir + ": no model.safetensors or model.safetensors.index.json");
    }
    return open_file(single);
  }

  VAMBA_ASSIGN_OR_RETURN(std::string text, read_text_file(index_path));
  std::string duplicate;
  bool duplicate_top = false;
  VAMBA_ASSIGN_OR_RETURN(json index, parse_json_strict(text.data(), text.data() + text.size(),
                                                       index_path, &duplicate, &duplicate_top));
  if (!duplicate.empty()) {
    return invalid_argument(index_path + ": duplicate key " + quote(duplicate));
  }
  if (!index.is_object()) return invalid_argument(index_path + ": not a JSON object");
  auto map_it = index.find("weight_map");
  if (map_it == index.end() || !map_it->is_object()) {
    return invalid_argument(index_path + ": missing or non-object 'weight_map'");
  }

  TensorStore store;
  store.label_ = dir;
  std::map<std::string, size_t> file_of_shard;
  for (auto it = map_it->begin(); it != map_it->end(); ++it) {
    if (!it->is_string()) {
      return invalid_argument(index_path + ": weight_map entry for tensor " + quote(it.key()) +
                              " is not a file name");
    }
    const std::string& shard = it->get_ref<const std::string&>();
    // Shards live in the checkpoint folder; a path that climbs out of it is not a checkpoint.
    if (shard.empty() || shard.front() == '/' || shard.find("..") != std::string::npos) {
      return invalid_argument(index_path + ": tensor " + quote(it.key()) +
                              " maps to an invalid shard name " + quote(shard));
    }
    auto f = file_of_shard.find(shard);
    if (f == file_of_shard.end()) {
      const std::string shard_path = dir + "/" + shard;
      if (!is_regular_file(shard_path)) {
        return not_found(index_path + ": tensor " + quote(it.key()) + " maps to shard " +
                         quote(shard) + ", which does not exist (" + shard_path + ")");
      }
      VAMBA_ASSIGN_OR_RETURN(auto file, SafetensorsFile::open(shard_path));
      f = file_of_shard.emplace(shard, store.files_.size()).first;
      store.files_.push_back(std::move(file));
    }
    if (!store.files_[f->second]->contains(it.key())) {
      return not_found(index_path + ": tensor " + quote(it.key()) + " is missing from its shard " +
                       store.files_[f->second]->path());
    }
    store.where_[it.key()] = f->second;
    store.used_[it.key()] = false;
  }
  return store;
}

bool TensorStore::contains(const std::string& name) const { return where_.count(name) > 0; }

const SafetensorsEntry* TensorStore::find(const std::string& name) const {
  auto it = where_.find(name);
  return it == where_.end() ? nullptr : files_[it->second]->find(name);
}

StatusOr<Tensor> TensorStore::get(const std::string& name) const {
  auto it = where_.find(name);
  if (it == where_.end()) return not_found(label_ + ": no tensor " + quote(name));
  {
    std::lock_guard<std::mutex> lock(*used_mu_);
    used_[name] = true;
  }
  return files_[it->second]->tensor(name);
}

std::string TensorStore::file_of(const std::string& name) const {
  auto it = where_.find(name);
  return it == where_.end() ? label_ : files_[it->second]->path();
}

std::vector<std::string> TensorStore::names() const {
  std::vector<std::string> out;
  out.reserve(where_.size());
  for (const auto& [name, _] : where_) out.push_back(name);
  return out;
}

std::vector<std::string> TensorStore::unused() const {
  std::lock_guard<std::mutex> lock(*used_mu_);
  std::vector<std::string> out;
  for (const auto& [name, used] : used_) {
    if (!used) out.push_back(name);
  }
  return out;
}

size_t TensorStore::total_bytes() const {
  size_t total = 0;
  for (const auto& [name, _] : where_) {
    const SafetensorsEntry* e = find(name);
    if (e != nullptr) total += e->end - e->begin;
  }
  return total;
}

// ---------------------------------------------------------------------------------------------
// Writing

namespace {

Status write_all(int fd, const void* data, size_t n, const std::string& path) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return internal_error(path + ": write failed: " + errno_text());
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return ok_status();
}

}  // namespace

Status write_safetensors(const std::string& path,
                         const std::vector<std::pair<std::string, Tensor>>& tensors,
                         const std::map<std::string, std::string>& metadata) {
  // Validate everything before touching the disk.
  std::set<std::string> seen;
  for (const auto& [name, t] : tensors) {
    if (name.empty()) return invalid_argument(path + ": empty tensor name");
    if (name == "__metadata__") return invalid_argument(path + ": tensor named __metadata__");
    if (!seen.insert(name).second) {
      return invalid_argument(path + ": duplicate tensor name " + quote(name));
    }
    if (!t.defined()) return invalid_argument(path + ": tensor " + quote(name) + " is undefined");
  }

  // Layout like the Python library: larger element sizes first, then by name, so that every tensor
  // starts at a multiple of its element size (the header is padded to 8 bytes).
  std::vector<size_t> order(tensors.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const size_t sa = dtype_size(tensors[a].second.dtype());
    const size_t sb = dtype_size(tensors[b].second.dtype());
    if (sa != sb) return sa > sb;
    return tensors[a].first < tensors[b].first;
  });

  json header = json::object();
  if (!metadata.empty()) {
    json meta = json::object();
    for (const auto& [k, v] : metadata) meta[k] = v;
    header["__metadata__"] = meta;
  }
  size_t offset = 0;
  for (size_t i : order) {
    const auto& [name, t] = tensors[i];
    json shape = json::array();
    for (int64_t d : t.shape()) shape.push_back(d);
    header[name] = {{"dtype", dtype_to_safetensors(t.dtype())},
                    {"shape", shape},
                    {"data_offsets", {offset, offset + t.nbytes()}}};
    offset += t.nbytes();
  }
  std::string header_text = header.dump();
  header_text.append((8 - header_text.size() % 8) % 8, ' ');
  uint8_t len_bytes[8];
  uint64_t len = header_text.size();
  for (int i = 0; i < 8; ++i) len_bytes[i] = static_cast<uint8_t>(len >> (8 * i));

  const std::filesystem::path target(path);
  const std::string dir = target.has_parent_path() ? target.parent_path().string() : ".";
  std::string tmp = dir + "/." + target.filename().string() + ".tmp.XXXXXX";
  const int fd = mkstemp(tmp.data());
  if (fd < 0) return internal_error(path + ": cannot create a temporary file: " + errno_text());

  auto fail = [&](Status s) {
    ::close(fd);
    ::unlink(tmp.c_str());
    return s;
  };
  Status s = write_all(fd, len_bytes, 8, path);
  if (s.ok()) s = write_all(fd, header_text.data(), header_text.size(), path);
  for (size_t i : order) {
    if (!s.ok()) break;
    const Tensor& t = tensors[i].second;
    if (t.nbytes() == 0) continue;
    if (t.device().is_cpu()) {
      s = write_all(fd, t.raw_data(), t.nbytes(), path);
    } else {
      auto host = t.to(Device::cpu());
      if (!host.ok()) {
        s = host.status().with_context(path + ": copying tensor " + quote(tensors[i].first));
      } else {
        s = write_all(fd, host->raw_data(), host->nbytes(), path);
      }
    }
  }
  if (!s.ok()) return fail(s);
  if (fchmod(fd, 0644) != 0) return fail(internal_error(path + ": fchmod failed: " + errno_text()));
  if (fsync(fd) != 0) return fail(internal_error(path + ": fsync failed: " + errno_text()));
  if (::close(fd) != 0) {
    const std::string msg = errno_text();
    ::unlink(tmp.c_str());
    return internal_error(path + ": close failed: " + msg);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string msg = errno_text();
    ::unlink(tmp.c_str());
    return internal_error(path + ": rename from temporary file failed: " + msg);
  }
  // Persist the rename itself.
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)fsync(dfd);
    ::close(dfd);
  }
  return ok_status();
}

}  // namespace vamba
