#include "service/video_fetch.h"

#include <httplib.h>

#include <cstdlib>

namespace vamba::service {

StatusOr<std::string> fetch_url(const std::string& url, const FetchLimits& limits,
                                const std::function<bool()>& stop) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return invalid_argument("'" + url + "' is not a URL");
  // httplib's client takes the origin (scheme://host:port) and the path separately.
  const size_t path_start = url.find_first_of("/?#", scheme_end + 3);
  const std::string origin = url.substr(0, path_start);
  std::string path = path_start == std::string::npos ? "/" : url.substr(path_start);
  if (const size_t hash = path.find('#'); hash != std::string::npos) path.resize(hash);
  if (path.empty() || path[0] != '/') path = "/" + path;
  if (origin.find('@') != std::string::npos) {
    return invalid_argument("user names and passwords in video URLs are not supported");
  }
  httplib::Client client(origin);
  if (!client.is_valid()) return invalid_argument("'" + url + "' is not a valid http(s) URL");
  client.set_connection_timeout(limits.connect_timeout);
  client.set_read_timeout(limits.read_timeout);
  client.set_write_timeout(limits.read_timeout);
  client.set_follow_location(true);
  client.set_keep_alive(false);
  client.enable_server_certificate_verification(true);

  const auto started = std::chrono::steady_clock::now();
  std::string body;
  bool too_large = false, too_slow = false, stopped = false;
  int http_status = 0;
  auto result = client.Get(
      path, httplib::Headers{{"Accept", "video/*, application/octet-stream, */*"}},
      [&](const httplib::Response& response) {
        http_status = response.status;
        if (response.status != 200) return false;
        if (response.has_header("Content-Length")) {
          const uint64_t length =
              std::strtoull(response.get_header_value("Content-Length").c_str(), nullptr, 10);
          if (length > limits.max_bytes) {
            too_large = true;
            return false;
          }
          body.reserve(static_cast<size_t>(length));
        }
        return true;
      },
      [&](const char* data, size_t n) {
        if (body.size() + n > limits.max_bytes) {
          too_large = true;
          return false;
        }
        if (std::chrono::steady_clock::now() - started > limits.total_timeout) {
          too_slow = true;
          return false;
        }
        if (stop && stop()) {
          stopped = true;
          return false;
        }
        body.append(data, n);
        return true;
      });
  if (too_large) {
    return resource_exhausted("the video at " + url + " is larger than " +
                              std::to_string(limits.max_bytes >> 20) +
                              " MiB, the most this server fetches (--max-message-mb)");
  }
  if (too_slow) {
    return invalid_argument("the video at " + url + " took longer than " +
                            std::to_string(limits.total_timeout.count()) + " s to download");
  }
  if (stopped) return cancelled("the client went away during the download");
  if (http_status != 0 && http_status != 200) {
    return invalid_argument("fetching " + url + " answered HTTP " + std::to_string(http_status));
  }
  if (!result) {
    return invalid_argument("cannot fetch " + url + ": " + httplib::to_string(result.error()));
  }
  return body;
}

}  // namespace vamba::service
