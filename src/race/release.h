// The release of a last-byte round: one byte on each of N connected sockets, as close
// together as the kernel allows. Where the time goes (bench/race_spread.sh,
// docs/race.md): a send on loopback costs ~2.5 µs, nearly all of it the receiver's
// TCP path, which the kernel runs at once on the sending CPU; the system call itself
// is a small part. So the default (parallel) sends from one real-time thread per CPU,
// each pinned and released by one flag, after a warm-up that brings the sockets into
// the caches. `io_uring` queues every send and issues all in one io_uring_submit()
// (one system call; kept for kernels where calls cost more); `send` is one thread,
// one send() per socket. Where io_uring is missing (an old kernel, a seccomp profile,
// io_uring_disabled, a build without liburing) `io_uring` falls back to `send`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace exactly::race {

enum class ReleaseMethod { kAuto, kParallel, kIoUring, kSend };

// "auto" (parallel), "parallel", "io_uring" or "send"; false for anything else.
bool ParseReleaseMethod(const std::string& text, ReleaseMethod& method);

struct ReleaseTimes {
  int64_t origin_us = 0;            // just before the first send (NowUs clock)
  int64_t done_us = 0;              // the last send had returned
  std::vector<int64_t> sent_us;     // per socket: when its send returned; -1 when it failed
  std::vector<std::string> errors;  // per socket: why its send failed (empty when it did not)
  std::string method;  // what was used: "send x2" (parallel, 2 threads), "io_uring", "send"
};

// Sends bytes[k] on fds[k] for every k with fds[k] >= 0 (others are skipped and stay
// -1). kIoUring falls back to send() when a ring cannot be set up, and says so in
// `method`. With io_uring, every socket's time is the submit's return: the kernel
// does not say when within it each send ran. Not thread-safe; blocks until every
// send completed.
ReleaseTimes ReleaseLastBytes(const std::vector<int>& fds, const std::vector<char>& bytes,
                              ReleaseMethod method);

}  // namespace exactly::race
