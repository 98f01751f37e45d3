// Blocking TCP helpers shared by the race modes: resolve, connect with TCP_NODELAY,
// send everything, and a monotonic microsecond clock.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace exactly::race {

// A connected socket's file descriptor; closes it when destroyed.
class Socket {
 public:
  Socket() = default;
  explicit Socket(int fd) : fd_(fd) {}
  ~Socket();
  Socket(Socket&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  Socket& operator=(Socket&& other) noexcept;
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;

  int fd() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void Close();

 private:
  int fd_ = -1;
};

// Connects to host:port (IPv4 or IPv6) with TCP_NODELAY; IoError names the cause.
base::Result<Socket> Connect(const std::string& host, uint16_t port);

// Sends all of `bytes` on a blocking socket.
base::Status SendAll(int fd, std::string_view bytes);

// Sets or clears O_NONBLOCK.
void SetNonBlocking(int fd, bool on);

// Microseconds on the monotonic clock.
int64_t NowUs();

}  // namespace exactly::race
