// The last-byte release of `exactly race`: io_uring, or send() per socket.
#include "race/release.h"

#include <sched.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <thread>

#include "fmt/format.h"
#include "race/fire.h"
#include "race/socket.h"

#ifdef EXACTLY_HAVE_URING
#include <liburing.h>
#endif

namespace exactly::race {
namespace {

// The largest ring set up at once; a round with more sockets submits in chunks.
constexpr unsigned kRingEntriesMax = 4096;
// Parallel sends: at most this many threads, and only from this many sockets on
// (below it a second thread costs more than it saves).
constexpr size_t kReleaseThreadsMax = 4;
constexpr size_t kParallelFrom = 32;
constexpr int64_t kHelperWaitUs = 20000;

// A zero-length send on every socket walks the socket calls and the sockets' own
// state into the caches just before the release, so the first real send does not
// pay for a path that went cold during the settle pause.
void Warm(const std::vector<int>& fds, size_t first = 0, size_t stride = 1) {
  char none = 0;
  for (size_t k = first; k < fds.size(); k += stride) {
    if (fds[k] >= 0) ::send(fds[k], &none, 0, MSG_NOSIGNAL | MSG_DONTWAIT);
  }
}

void SendEach(const std::vector<int>& fds, const std::vector<char>& bytes, ReleaseTimes& t) {
  t.method = "send";
  const ReleasePriority priority;
  Warm(fds);
  t.origin_us = NowUs();
  for (size_t k = 0; k < fds.size(); ++k) {
    if (fds[k] < 0) continue;
    const ssize_t n = ::send(fds[k], &bytes[k], 1, MSG_NOSIGNAL);
    t.sent_us[k] = NowUs();
    if (n != 1) {
      t.errors[k] = std::strerror(errno);
      t.sent_us[k] = -1;
    }
  }
  t.done_us = NowUs();
}

// Sends the sockets k with k % stride == first, recording each send's return.
void SendShare(const std::vector<int>& fds, const std::vector<char>& bytes, size_t first,
               size_t stride, ReleaseTimes& t) {
  for (size_t k = first; k < fds.size(); k += stride) {
    if (fds[k] < 0) continue;
    const ssize_t n = ::send(fds[k], &bytes[k], 1, MSG_NOSIGNAL);
    t.sent_us[k] = NowUs();
    if (n != 1) {
      t.errors[k] = std::strerror(errno);
      t.sent_us[k] = -1;
    }
  }
}

// Pins the calling thread to `cpu` for its lifetime (then restores its CPU set).
class Pinned {
 public:
  explicit Pinned(int cpu) {
    if (::sched_getaffinity(0, sizeof(old_), &old_) != 0) return;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    pinned_ = ::sched_setaffinity(0, sizeof(one), &one) == 0;
  }
  ~Pinned() {
    if (pinned_) ::sched_setaffinity(0, sizeof(old_), &old_);
  }
  Pinned(const Pinned&) = delete;
  Pinned& operator=(const Pinned&) = delete;

 private:
  cpu_set_t old_{};
  bool pinned_ = false;
};

// On loopback most of a send's cost is the receiver's TCP path, which the kernel runs
// right away on the sending CPU; one thread per CPU, each at real-time priority and
// released by one flag, runs those paths side by side. Falls back to one thread
// when there is one CPU or few sockets.
void SendParallel(const std::vector<int>& fds, const std::vector<char>& bytes, ReleaseTimes& t) {
  cpu_set_t allowed;
  std::vector<int> cpus;
  if (::sched_getaffinity(0, sizeof(allowed), &allowed) == 0) {
    for (int c = 0; c < CPU_SETSIZE && cpus.size() < kReleaseThreadsMax; ++c) {
      if (CPU_ISSET(c, &allowed)) cpus.push_back(c);
    }
  }
  if (cpus.size() < 2 || fds.size() < kParallelFrom) {
    SendEach(fds, bytes, t);
    return;
  }
  t.method = fmt::format("send x{}", cpus.size());
  const size_t stride = cpus.size();
  std::atomic<size_t> ready{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> helpers;
  for (size_t h = 1; h < stride; ++h) {
    helpers.emplace_back([&, h] {
      const Pinned pinned(cpus[h]);
      const ReleasePriority priority;
      Warm(fds, h, stride);
      ready.fetch_add(1);
      while (!go.load(std::memory_order_acquire)) {
      }
      SendShare(fds, bytes, h, stride, t);
    });
  }
  {
    const Pinned pinned(cpus[0]);
    const ReleasePriority priority;
    Warm(fds, 0, stride);
    // The helpers start in microseconds; a helper that never gets a CPU must not hold
    // the release up for long, so the wait is bounded.
    const int64_t wait_until = NowUs() + kHelperWaitUs;
    while (ready.load() < stride - 1 && NowUs() < wait_until) {
    }
    t.origin_us = NowUs();
    go.store(true, std::memory_order_release);
    SendShare(fds, bytes, 0, stride, t);
    for (std::thread& helper : helpers) helper.join();
  }
  t.done_us = t.origin_us;
  for (int64_t sent : t.sent_us) t.done_us = std::max(t.done_us, sent);
}

#ifdef EXACTLY_HAVE_URING
// Returns false (having sent nothing) when no ring can be set up.
bool SendWithRing(const std::vector<int>& fds, const std::vector<char>& bytes, ReleaseTimes& t) {
  std::vector<size_t> live;
  for (size_t k = 0; k < fds.size(); ++k) {
    if (fds[k] >= 0) live.push_back(k);
  }
  unsigned entries = 1;
  while (entries < live.size() && entries < kRingEntriesMax) entries *= 2;
  io_uring ring;
  io_uring_params params{};
  // Each socket's send is tried inline during the submit; nothing waits on a worker.
  params.flags = IORING_SETUP_SUBMIT_ALL | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
  if (io_uring_queue_init_params(entries, &ring, &params) < 0) {
    params.flags = 0;
    if (io_uring_queue_init_params(entries, &ring, &params) < 0) return false;
  }
  t.method = "io_uring";
  size_t queued = 0;
  auto queue = [&] {
    while (queued < live.size()) {
      io_uring_sqe* sqe = io_uring_get_sqe(&ring);
      if (sqe == nullptr) break;
      const size_t k = live[queued++];
      io_uring_prep_send(sqe, fds[k], &bytes[k], 1, MSG_NOSIGNAL);
      io_uring_sqe_set_data64(sqe, k);
    }
  };
  queue();  // before the clock starts: the timed part is the submit alone
  size_t completed = 0;
  auto reap = [&] {
    io_uring_cqe* cqe = nullptr;
    while (completed < queued && io_uring_wait_cqe(&ring, &cqe) == 0) {
      const size_t k = static_cast<size_t>(io_uring_cqe_get_data64(cqe));
      if (cqe->res != 1) {
        t.errors[k] = cqe->res < 0 ? std::strerror(-cqe->res) : "short send";
        t.sent_us[k] = -1;
      }
      io_uring_cqe_seen(&ring, cqe);
      ++completed;
    }
  };
  {
    const ReleasePriority priority;
    t.origin_us = NowUs();
    size_t submitted = 0;
    while (submitted < live.size()) {
      const int n = io_uring_submit(&ring);
      const int64_t now = NowUs();
      if (n <= 0) break;
      for (size_t j = submitted; j < submitted + static_cast<size_t>(n); ++j) {
        t.sent_us[live[j]] = now;
      }
      submitted += static_cast<size_t>(n);
      if (submitted < live.size()) {
        reap();  // frees ring slots for the next chunk
        queue();
      }
    }
    t.done_us = NowUs();
    for (size_t j = submitted; j < live.size(); ++j) t.errors[live[j]] = "io_uring submit failed";
    queued = std::min(queued, submitted);  // what was queued but not submitted never completes
  }
  reap();
  io_uring_queue_exit(&ring);
  return true;
}
#endif

}  // namespace

bool ParseReleaseMethod(const std::string& text, ReleaseMethod& method) {
  if (text == "auto") {
    method = ReleaseMethod::kAuto;
  } else if (text == "parallel") {
    method = ReleaseMethod::kParallel;
  } else if (text == "io_uring") {
    method = ReleaseMethod::kIoUring;
  } else if (text == "send") {
    method = ReleaseMethod::kSend;
  } else {
    return false;
  }
  return true;
}

ReleaseTimes ReleaseLastBytes(const std::vector<int>& fds, const std::vector<char>& bytes,
                              ReleaseMethod method) {
  ReleaseTimes t;
  t.sent_us.assign(fds.size(), -1);
  t.errors.assign(fds.size(), "");
#ifdef EXACTLY_HAVE_URING
  if (method == ReleaseMethod::kIoUring && SendWithRing(fds, bytes, t)) return t;
#endif
  if (method == ReleaseMethod::kSend) {
    SendEach(fds, bytes, t);
  } else {
    SendParallel(fds, bytes, t);
  }
  return t;
}

}  // namespace exactly::race
