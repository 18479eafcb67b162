// Tells whether the client of an HTTP request has gone away while its handler waits for the worker.
// cpp-httplib 0.11 gives a handler no way to notice (it learns of a closed connection only when a
// write fails, and a handler that waits for an answer writes nothing), so the watch finds the
// request's socket by its two ends — the TCP 4-tuple is unique among open sockets, and httplib
// keeps the socket open until the response is written — and polls it.
#pragma once

#include <string>

namespace vamba::service {

class ClientSocketWatch {
 public:
  // The request's local port and the peer's numeric address and port (httplib::Request's
  // local_port, remote_addr, remote_port).
  ClientSocketWatch(int local_port, const std::string& remote_addr, int remote_port);

  bool found() const { return fd_ >= 0; }
  // True once the peer closed (or half-closed) or reset the connection. False when the socket was
  // not found (a write failure is then the only sign).
  bool client_gone() const;

 private:
  int fd_ = -1;
};

}  // namespace vamba::service
