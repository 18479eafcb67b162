// The safetensors reader and writer: round trips, the golden file, every malformed-header class,
// shard indexes, and the writer's atomicity.
#include "engine/model/safetensors.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/model/model_test_util.h"
#include "tests/testing/golden.h"

namespace vamba {
namespace {

using testing::golden_path;
using testing::safetensors_bytes;
using testing::safetensors_bytes_with_length;
using testing::TempDir;
using testing::write_bytes;

// Expects an error whose message names every string in `parts`.
void expect_error(const Status& s, StatusCode code, const std::vector<std::string>& parts) {
  ASSERT_FALSE(s.ok()) << "expected an error mentioning " << (parts.empty() ? "" : parts[0]);
  EXPECT_EQ(s.code(), code) << s.to_string();
  for (const auto& p : parts)
    EXPECT_NE(s.message().find(p), std::string::npos)
        << "message lacks '" << p << "': " << s.to_string();
}

Status open_status(const std::string& path) {
  auto f = SafetensorsFile::open(path);
  return f.ok() ? ok_status() : f.status();
}

// Writes `header` (+ `data`) as a file in `dir` and returns the open() status.
Status open_raw(const TempDir& dir, const std::string& header, const std::string& data) {
  const std::string path = dir.file("bad.safetensors");
  write_bytes(path, safetensors_bytes(header, data));
  return open_status(path);
}

Tensor f32_tensor(const Shape& shape, float start) {
  std::vector<float> v(static_cast<size_t>(shape_numel(shape)));
  for (size_t i = 0; i < v.size(); ++i) v[i] = start + static_cast<float>(i);
  return Tensor::from_floats(shape, v).value();
}

TEST(SafetensorsWrite, RoundTripAllDtypesAndLayout) {
  TempDir dir;
  const std::string path = dir.file("t.safetensors");
  std::vector<std::pair<std::string, Tensor>> tensors;
  tensors.emplace_back("b.f32", f32_tensor({2, 3}, 1.5f));
  tensors.emplace_back("a.bf16", Tensor::from_floats({3}, {1, -2, 3.5}, DType::kBF16).value());
  tensors.emplace_back("c.i64", Tensor::from_int64({2, 2}, {1, -2, 1LL << 40, 7}).value());
  tensors.emplace_back("d.scalar", Tensor::from_floats({}, {42.0f}).value());
  tensors.emplace_back("e.empty", Tensor::zeros({0, 5}, DType::kF32).value());
  tensors.emplace_back("f.f64", Tensor::from_floats({1}, {0.25f}, DType::kF64).value());
  auto u8 = Tensor::empty({5}, DType::kU8).value();
  const uint8_t u8_values[5] = {250, 251, 252, 253, 254};
  std::memcpy(u8.raw_data(), u8_values, sizeof(u8_values));
  tensors.emplace_back("g.u8", u8);
  auto f16t = Tensor::from_floats({3}, {0.5, -1, 65504}, DType::kF16).value();
  tensors.emplace_back("h.f16", f16t);
  ASSERT_TRUE(write_safetensors(path, tensors, {{"format", "pt"}, {"k", "v"}}).ok());
  EXPECT_EQ(dir.list(), std::vector<std::string>{"t.safetensors"}) << "temporary file left behind";

  auto file = SafetensorsFile::open(path);
  ASSERT_TRUE(file.ok()) << file.status().to_string();
  EXPECT_EQ((*file)->metadata().at("format"), "pt");
  EXPECT_EQ((*file)->metadata().at("k"), "v");
  ASSERT_EQ((*file)->entries().size(), tensors.size());
  for (const auto& [name, t] : tensors) {
    auto r = (*file)->tensor(name);
    ASSERT_TRUE(r.ok()) << name;
    EXPECT_EQ(r->shape(), t.shape()) << name;
    EXPECT_EQ(r->dtype(), t.dtype()) << name;
    ASSERT_EQ(r->nbytes(), t.nbytes()) << name;
    EXPECT_EQ(std::memcmp(r->raw_data(), t.raw_data(), t.nbytes()), 0) << name;
    // Every tensor is naturally aligned: 8-byte-padded header, larger element sizes first.
    const auto* e = (*file)->find(name);
    EXPECT_EQ(e->begin % dtype_size(t.dtype()), 0u) << name;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(r->raw_data()) % dtype_size(t.dtype()), 0u) << name;
  }

  // Header length is a multiple of 8, and the layout is (element size desc, name).
  const std::string bytes = testing::read_bytes(path);
  uint64_t header_len = 0;
  std::memcpy(&header_len, bytes.data(), 8);
  EXPECT_EQ(header_len % 8, 0u);
  std::vector<const SafetensorsEntry*> entries;
  for (const auto& e : (*file)->entries()) {
    if (e.end > e.begin) entries.push_back(&e);  // zero-sized tensors may sit anywhere
  }
  std::sort(entries.begin(), entries.end(), [](auto* a, auto* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->name < b->name;
  });
  for (size_t i = 1; i < entries.size(); ++i) {
    const size_t sa = dtype_size(entries[i - 1]->dtype), sb = dtype_size(entries[i]->dtype);
    EXPECT_TRUE(sa > sb || (sa == sb && entries[i - 1]->name < entries[i]->name))
        << entries[i - 1]->name << " before " << entries[i]->name;
  }
}

TEST(SafetensorsWrite, OverwriteReplacesAtomically) {
  TempDir dir;
  const std::string path = dir.file("w.safetensors");
  ASSERT_TRUE(write_safetensors(path, {{"x", f32_tensor({4}, 0)}}).ok());
  ASSERT_TRUE(write_safetensors(path, {{"y", f32_tensor({2}, 9)}}).ok());
  auto file = SafetensorsFile::open(path);
  ASSERT_TRUE(file.ok());
  EXPECT_FALSE((*file)->contains("x"));
  EXPECT_TRUE((*file)->contains("y"));
  EXPECT_EQ(dir.list(), std::vector<std::string>{"w.safetensors"});
}

TEST(SafetensorsWrite, RejectsBadInputWithoutTouchingDisk) {
  TempDir dir;
  const std::string path = dir.file("w.safetensors");
  expect_error(write_safetensors(path, {{"x", f32_tensor({1}, 0)}, {"x", f32_tensor({1}, 0)}}),
               StatusCode::kInvalidArgument, {path, "duplicate", "'x'"});
  expect_error(write_safetensors(path, {{"u", Tensor()}}), StatusCode::kInvalidArgument,
               {path, "'u'", "undefined"});
  expect_error(write_safetensors(path, {{"__metadata__", f32_tensor({1}, 0)}}),
               StatusCode::kInvalidArgument, {path});
  EXPECT_TRUE(dir.list().empty());
  const std::string nowhere = dir.file("no/such/dir/w.safetensors");
  EXPECT_FALSE(write_safetensors(nowhere, {{"x", f32_tensor({1}, 0)}}).ok());
}

// A write that fails half-way (here: the file size limit, EFBIG) leaves the previous file intact
// and no temporary behind.
TEST(SafetensorsWrite, FailedWriteLeavesOldFileUntouched) {
  TempDir dir;
  const std::string path = dir.file("w.safetensors");
  ASSERT_TRUE(write_safetensors(path, {{"old", f32_tensor({16}, 3)}}).ok());
  const std::string before = testing::read_bytes(path);

  struct rlimit saved;
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &saved), 0);
  auto old_handler = signal(SIGXFSZ, SIG_IGN);
  struct rlimit small = saved;
  small.rlim_cur = 4096;
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
  const Status s = write_safetensors(path, {{"big", f32_tensor({1 << 16}, 0)}});
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &saved), 0);
  signal(SIGXFSZ, old_handler);

  expect_error(s, StatusCode::kInternal, {path, "write failed"});
  EXPECT_EQ(testing::read_bytes(path), before);
  EXPECT_EQ(dir.list(), std::vector<std::string>{"w.safetensors"});
  auto file = SafetensorsFile::open(path);
  ASSERT_TRUE(file.ok());
  EXPECT_TRUE((*file)->contains("old"));
}

TEST(SafetensorsWrite, FailedRenameLeavesNoTemporary) {
  TempDir dir;
  // The target is a non-empty folder: rename(2) fails after the data was written.
  std::filesystem::create_directories(dir.file("target/inner"));
  const Status s = write_safetensors(dir.file("target"), {{"x", f32_tensor({4}, 0)}});
  expect_error(s, StatusCode::kInternal, {"rename"});
  EXPECT_EQ(dir.list(), std::vector<std::string>{"target"});
}

// The golden checkpoint: names and shapes exactly as weights_index.txt lists them.
TEST(SafetensorsRead, GoldenModelMatchesWeightsIndex) {
  auto file = SafetensorsFile::open(golden_path("vamba-tiny/model.safetensors"));
  ASSERT_TRUE(file.ok()) << file.status().to_string();
  std::ifstream idx(golden_path("vamba-tiny/weights_index.txt"));
  ASSERT_TRUE(idx) << "weights_index.txt missing";
  std::string line;
  size_t n = 0;
  while (std::getline(idx, line)) {
    if (line.empty()) continue;
    const auto tab = line.find('\t');
    ASSERT_NE(tab, std::string::npos) << line;
    const std::string name = line.substr(0, tab);
    const auto* e = (*file)->find(name);
    ASSERT_NE(e, nullptr) << name;
    EXPECT_EQ(shape_to_string(e->shape), line.substr(tab + 1)) << name;
    EXPECT_EQ(e->dtype, DType::kBF16) << name;
    ++n;
  }
  EXPECT_EQ((*file)->entries().size(), n);
}

TEST(SafetensorsRead, TensorsOutliveTheFileObject) {
  TempDir dir;
  const std::string path = dir.file("t.safetensors");
  ASSERT_TRUE(write_safetensors(path, {{"x", f32_tensor({8}, 1)}}).ok());
  Tensor view;
  {
    auto store = TensorStore::open_file(path);
    ASSERT_TRUE(store.ok());
    view = store->get("x").value();
  }
  std::filesystem::remove(path);  // the mapping stays valid after unlink and after the store died
  auto values = view.to_float_vector();
  ASSERT_TRUE(values.ok());
  EXPECT_EQ(values->at(7), 8.0f);
}

TEST(SafetensorsRead, StoreTracksUnusedAndMissing) {
  TempDir dir;
  const std::string path = dir.file("t.safetensors");
  ASSERT_TRUE(write_safetensors(path, {{"a", f32_tensor({1}, 0)}, {"b", f32_tensor({1}, 0)}}).ok());
  auto store = TensorStore::open_file(path);
  ASSERT_TRUE(store.ok());
  EXPECT_EQ(store->names(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(store->unused(), (std::vector<std::string>{"a", "b"}));
  ASSERT_TRUE(store->get("a").ok());
  EXPECT_EQ(store->unused(), std::vector<std::string>{"b"});
  auto missing = store->get("zzz");
  expect_error(missing.status(), StatusCode::kNotFound, {path, "'zzz'"});
  EXPECT_EQ(store->total_bytes(), 8u);
}

// ---- Malformed files: each class of corruption is an error naming the file (and the tensor).

TEST(SafetensorsMalformed, ShortFiles) {
  TempDir dir;
  for (size_t n : {0, 1, 7}) {
    const std::string path = dir.file("short" + std::to_string(n));
    write_bytes(path, std::string(n, '\0'));
    expect_error(open_status(path), StatusCode::kInvalidArgument, {path, "shorter than"});
  }
  expect_error(open_status(dir.file("absent")), StatusCode::kNotFound, {dir.file("absent")});
  expect_error(open_status(dir.path()), StatusCode::kInvalidArgument, {"not a regular file"});
}

TEST(SafetensorsMalformed, HeaderLength) {
  TempDir dir;
  const std::string path = dir.file("h");
  write_bytes(path, safetensors_bytes_with_length(100, "{}", ""));
  expect_error(open_status(path), StatusCode::kInvalidArgument, {path, "past the end"});
  write_bytes(path, safetensors_bytes_with_length(~uint64_t{0}, "{}", ""));
  expect_error(open_status(path), StatusCode::kInvalidArgument, {path, "absurd"});
  write_bytes(path, safetensors_bytes_with_length(uint64_t{1} << 40, "{}", ""));
  expect_error(open_status(path), StatusCode::kInvalidArgument, {path, "absurd"});
  // An empty header (length 0) is not JSON.
  write_bytes(path, safetensors_bytes("", ""));
  expect_error(open_status(path), StatusCode::kInvalidArgument, {path, "malformed JSON"});
}

TEST(SafetensorsMalformed, BadJsonAndNonObject) {
  TempDir dir;
  expect_error(open_raw(dir, "{\"a\": {", ""), StatusCode::kInvalidArgument,
               {"bad.safetensors", "malformed JSON"});
  expect_error(open_raw(dir, "{\"a\": \"\xff\xfe\"}", ""), StatusCode::kInvalidArgument,
               {"malformed JSON"});
  expect_error(open_raw(dir, "[1, 2]", ""), StatusCode::kInvalidArgument,
               {"bad.safetensors", "array", "not an object"});
  expect_error(open_raw(dir, "42", ""), StatusCode::kInvalidArgument, {"not an object"});
  // An empty object is a valid (empty) file; trailing spaces are the writer's padding.
  EXPECT_TRUE(open_raw(dir, "{}      ", "").ok());
}

TEST(SafetensorsMalformed, EntryFields) {
  TempDir dir;
  const std::string d4(4, '\0');
  struct Case {
    std::string header;
    std::string expect;
  };
  const std::vector<Case> cases = {
      {R"({"w": 3})", "not an object"},
      {R"({"w": {"shape": [1], "data_offsets": [0, 4]}})", "missing 'dtype'"},
      {R"({"w": {"dtype": 5, "shape": [1], "data_offsets": [0, 4]}})", "'dtype' is not a string"},
      {R"({"w": {"dtype": "F8_E4M3", "shape": [4], "data_offsets": [0, 4]}})", "unsupported"},
      {R"({"w": {"dtype": "F32", "data_offsets": [0, 4]}})", "missing 'shape'"},
      {R"({"w": {"dtype": "F32", "shape": 1, "data_offsets": [0, 4]}})", "'shape' is not an array"},
      {R"({"w": {"dtype": "F32", "shape": ["1"], "data_offsets": [0, 4]}})",
       "not a non-negative integer"},
      {R"({"w": {"dtype": "F32", "shape": [1.0], "data_offsets": [0, 4]}})",
       "not a non-negative integer"},
      {R"({"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}})", "negative dimension"},
      {R"({"w": {"dtype": "F32", "shape": [-2, -2], "data_offsets": [0, 4]}})",
       "negative dimension"},
      {R"({"w": {"dtype": "F32", "shape": [1]}})", "missing 'data_offsets'"},
      {R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0]}})", "data_offsets"},
      {R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, "4"]}})", "data_offsets"},
      {R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [-4, 0]}})", "data_offsets"},
      {R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 0]}})", "end before"},
      {R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}})", "needs 2 elements"},
      {R"({"w": {"dtype": "BF16", "shape": [1], "data_offsets": [0, 4]}})", "needs 1 elements"},
      {R"({"w": {"dtype": "F32", "shape": [4611686018427387904, 8], "data_offsets": [0, 4]}})",
       "overflowing"},
      {R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4], "dtype": "F16"}})",
       "duplicate key 'dtype'"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.header);
    expect_error(open_raw(dir, c.header, d4), StatusCode::kInvalidArgument,
                 {"bad.safetensors", "'w'", c.expect});
  }
}

TEST(SafetensorsMalformed, OffsetsOutOfBoundsOverlapAndDuplicates) {
  TempDir dir;
  expect_error(
      open_raw(dir, R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}})", "1234"),
      StatusCode::kOutOfRange, {"bad.safetensors", "'w'", "past the data section"});
  expect_error(open_raw(dir,
                        R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                   "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})",
                        std::string(12, '\0')),
               StatusCode::kInvalidArgument, {"bad.safetensors", "'a'", "'b'", "overlap"});
  expect_error(open_raw(dir,
                        R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
                   "a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})",
                        std::string(8, '\0')),
               StatusCode::kInvalidArgument, {"bad.safetensors", "duplicate tensor name 'a'"});
  // Zero-sized tensors may share an offset; adjacent ranges are fine.
  EXPECT_TRUE(open_raw(dir,
                       R"({"a": {"dtype": "F32", "shape": [0], "data_offsets": [4, 4]},
                           "b": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
                           "c": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})",
                       std::string(8, '\0'))
                  .ok());
}

// Deeply nested headers (the header may be up to 100 MB) must not exhaust the stack.
TEST(SafetensorsMalformed, DeepNesting) {
  TempDir dir;
  const size_t depth = 100000;
  expect_error(open_raw(dir, std::string(depth, '[') + std::string(depth, ']'), ""),
               StatusCode::kInvalidArgument, {"bad.safetensors", "not an object"});
  std::string nested;
  for (size_t i = 0; i < depth; ++i) nested += "{\"a\":";
  expect_error(open_raw(dir, nested, ""), StatusCode::kInvalidArgument,
               {"bad.safetensors", "malformed JSON"});
  expect_error(
      open_raw(dir, "{\"w\": " + std::string(depth, '[') + std::string(depth, ']') + "}", ""),
      StatusCode::kInvalidArgument, {"bad.safetensors", "'w'", "not an object"});
}

TEST(SafetensorsMalformed, Metadata) {
  TempDir dir;
  expect_error(open_raw(dir, R"({"__metadata__": {"format": 1}})", ""),
               StatusCode::kInvalidArgument, {"bad.safetensors", "__metadata__", "'format'"});
  expect_error(open_raw(dir, R"({"__metadata__": [1]})", ""), StatusCode::kInvalidArgument,
               {"__metadata__"});
  auto ok = open_raw(dir, R"({"__metadata__": {"format": "pt"}})", "");
  EXPECT_TRUE(ok.ok()) << ok.to_string();
}

// ---- Checkpoint folders: single file, index + shards.

TEST(TensorStoreCheckpoint, PrefersIndexAndIgnoresOtherFiles) {
  TempDir dir;
  ASSERT_TRUE(
      write_safetensors(dir.file("model.safetensors"), {{"single", f32_tensor({1}, 0)}}).ok());
  write_bytes(dir.file("golden.safetensors"), "garbage that is never read");
  auto single = TensorStore::open_checkpoint(dir.path());
  ASSERT_TRUE(single.ok()) << single.status().to_string();
  EXPECT_EQ(single->names(), std::vector<std::string>{"single"});

  ASSERT_TRUE(write_safetensors(dir.file("s-1.safetensors"), {{"a", f32_tensor({2}, 0)}}).ok());
  ASSERT_TRUE(write_safetensors(dir.file("s-2.safetensors"),
                                {{"b", f32_tensor({3}, 0)}, {"stray", f32_tensor({1}, 0)}})
                  .ok());
  write_bytes(dir.file("model.safetensors.index.json"),
              R"({"metadata": {"total_size": 20},
                  "weight_map": {"a": "s-1.safetensors", "b": "s-2.safetensors"}})");
  auto sharded = TensorStore::open_checkpoint(dir.path());
  ASSERT_TRUE(sharded.ok()) << sharded.status().to_string();
  EXPECT_EQ(sharded->names(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(sharded->files().size(), 2u);
  EXPECT_EQ(sharded->file_of("b"), dir.file("s-2.safetensors"));
  EXPECT_EQ(sharded->get("b")->shape(), Shape{3});
}

TEST(TensorStoreCheckpoint, IndexErrors) {
  TempDir dir;
  const std::string index = dir.file("model.safetensors.index.json");
  ASSERT_TRUE(write_safetensors(dir.file("s-1.safetensors"), {{"a", f32_tensor({2}, 0)}}).ok());

  write_bytes(index, R"({"weight_map": {"a": "s-1.safetensors", "b": "s-9.safetensors"}})");
  expect_error(TensorStore::open_checkpoint(dir.path()).status(), StatusCode::kNotFound,
               {index, "'b'", "s-9.safetensors", "does not exist"});

  write_bytes(index, R"({"weight_map": {"a": "s-1.safetensors", "c": "s-1.safetensors"}})");
  expect_error(TensorStore::open_checkpoint(dir.path()).status(), StatusCode::kNotFound,
               {"'c'", "missing from its shard", "s-1.safetensors"});

  write_bytes(index, R"({"weight_map": {"a": "s-1.safetensors", "a": "s-1.safetensors"}})");
  expect_error(TensorStore::open_checkpoint(dir.path()).status(), StatusCode::kInvalidArgument,
               {index, "duplicate", "'a'"});

  write_bytes(index, R"({"weight_map": {"a": "../s-1.safetensors"}})");
  expect_error(TensorStore::open_checkpoint(dir.path()).status(), StatusCode::kInvalidArgument,
               {index, "'a'", "invalid shard name"});

  write_bytes(index, R"({"weight_map": {"a": 3}})");
  expect_error(TensorStore::open_checkpoint(dir.path()).status(), StatusCode::kInvalidArgument,
               {index, "'a'"});

  write_bytes(index, R"({"metadata": {}})");
  expect_error(TensorStore::open_checkpoint(dir.path()).status(), StatusCode::kInvalidArgument,
               {index, "weight_map"});

  write_bytes(index, R"({"weight_map": )");
  expect_error(TensorStore::open_checkpoint(dir.path()).status(), StatusCode::kInvalidArgument,
               {index, "malformed JSON"});

  // A corrupt shard names the shard file.
  write_bytes(dir.file("s-2.safetensors"), "1234");
  write_bytes(index, R"({"weight_map": {"a": "s-2.safetensors"}})");
  expect_error(TensorStore::open_checkpoint(dir.path()).status(), StatusCode::kInvalidArgument,
               {dir.file("s-2.safetensors"), "shorter than"});
}

TEST(TensorStoreCheckpoint, MissingFolderOrFiles) {
  TempDir dir;
  expect_error(TensorStore::open_checkpoint(dir.path()).status(), StatusCode::kNotFound,
               {dir.path(), "model.safetensors"});
  expect_error(TensorStore::open_checkpoint(dir.file("nope")).status(), StatusCode::kNotFound,
               {dir.file("nope")});
}

}  // namespace
}  // namespace vamba
