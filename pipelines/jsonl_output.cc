#include "pipelines/jsonl_output.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace vamba::pipelines {
namespace {

Status errno_status(const std::string& what) {
  const int e = errno;
  const std::string message = what + ": " + std::strerror(e);
  if (e == ENOENT) return not_found(message);
  if (e == EACCES || e == EPERM) return {StatusCode::kPermissionDenied, message};
  if (e == ENOSPC || e == EDQUOT) return resource_exhausted(message);
  return internal_error(message);
}

// Holds an exclusive flock for its lifetime.
class FileLock {
 public:
  explicit FileLock(int fd) : fd_(fd) {
    while (::flock(fd_, LOCK_EX) != 0 && errno == EINTR) {
    }
  }
  ~FileLock() { ::flock(fd_, LOCK_UN); }

 private:
  int fd_;
};

}  // namespace

StatusOr<std::unique_ptr<JsonlOutput>> JsonlOutput::open(const std::string& path) {
  if (path.empty()) return invalid_argument("no output path");
  std::unique_ptr<JsonlOutput> out(new JsonlOutput());
  out->path_ = path;
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
  }
  out->fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (out->fd_ < 0) return errno_status("cannot open " + path);
  FileLock lock(out->fd_);

  // Read the whole file (a few hundred bytes per video: small even for a million videos).
  std::string text;
  char buf[1 << 16];
  if (::lseek(out->fd_, 0, SEEK_SET) < 0) return errno_status("cannot read " + path);
  for (;;) {
    const ssize_t n = ::read(out->fd_, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_status("cannot read " + path);
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  const size_t complete = text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1;
  if (complete < text.size()) {
    // A line cut short by a crash: remove it, so the next append starts a fresh line.
    out->repaired_bytes_ = text.size() - complete;
    if (::ftruncate(out->fd_, static_cast<off_t>(complete)) != 0) {
      return errno_status("cannot repair the torn last line of " + path);
    }
    if (::fsync(out->fd_) != 0) return errno_status("cannot sync " + path);
    spdlog::warn("{}: removed a torn last line ({} bytes) left by an interrupted run", path,
                 out->repaired_bytes_);
  }
  size_t begin = 0;
  while (begin < complete) {
    const size_t end = text.find('\n', begin);
    const std::string line = text.substr(begin, end - begin);
    begin = end + 1;
    if (line.empty()) continue;
    nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) {
      ++out->invalid_lines_;
      continue;
    }
    out->existing_.push_back(std::move(j));
  }
  if (out->invalid_lines_ > 0) {
    spdlog::warn("{}: ignored {} lines that are not JSON objects", path, out->invalid_lines_);
  }
  return out;
}

JsonlOutput::~JsonlOutput() {
  if (fd_ >= 0) ::close(fd_);
}

Status JsonlOutput::append(const nlohmann::json& record) {
  std::string line = record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  line.push_back('\n');
  FileLock lock(fd_);
  size_t written = 0;
  while (written < line.size()) {
    // One write() for the whole line in practice (regular files take it whole); the loop only
    // finishes a short write, which the repair on the next open() would otherwise have to cut.
    const ssize_t n = ::write(fd_, line.data() + written, line.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_status("cannot append to " + path_);
    }
    written += static_cast<size_t>(n);
  }
  if (::fdatasync(fd_) != 0) return errno_status("cannot sync " + path_);
  return ok_status();
}

}  // namespace vamba::pipelines
