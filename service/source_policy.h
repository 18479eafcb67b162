// Which video URIs a remote client may make the server open. The server must not become a way to
// read its own files or to reach other hosts on a client's behalf, so:
//   * a local path (plain, or file://) is opened only when it lies inside one of the allowed roots
//     once symlinks and ".." are resolved (canonical paths, component by component, so /data/a
//     does not admit /data/ab). With no roots, no local file is opened at all;
//   * a URL is opened only when remote URLs are allowed (the default: fetching http/rtsp sources
//     is a feature of the service; turn it off where the server can reach hosts its clients must
//     not), and only with a network scheme FFmpeg reads media over (http, https, rtsp, rtsps,
//     rtmp, rtmps). FFmpeg's other protocols (concat:, subfile:, pipe:, fd:, crypto:, ...) can read
//     local files or descriptors, so they are refused whatever the setting.
// Refusals are PERMISSION_DENIED with a message that says why. A path that does not exist inside a
// root is NOT_FOUND; outside every root it is PERMISSION_DENIED, so a client cannot probe which
// files exist elsewhere.
#pragma once

#include <string>
#include <vector>

#include "engine/core/status.h"

namespace vamba::service {

class SourcePolicy {
 public:
  // INVALID_ARGUMENT when a root does not exist or is not a directory.
  static StatusOr<SourcePolicy> create(const std::vector<std::string>& allowed_roots,
                                       bool allow_remote_urls);

  // What the server should open for `uri`: the URL unchanged, or the canonical path of a local
  // file (symlinks resolved, so the file checked is the file opened).
  StatusOr<std::string> resolve(const std::string& uri) const;

  const std::vector<std::string>& roots() const { return roots_; }
  bool allow_remote_urls() const { return allow_remote_urls_; }
  static const std::vector<std::string>& url_schemes();

 private:
  std::vector<std::string> roots_;  // canonical
  bool allow_remote_urls_ = true;
};

}  // namespace vamba::service
