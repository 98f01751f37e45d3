// Last-byte synchronized and naive rounds for `exactly race`.
#include "race/fire.h"

#include <poll.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <thread>

#include "fmt/format.h"
#include "race/release.h"
#include "race/socket.h"

namespace exactly::race {
namespace {

constexpr size_t kReadChunk = 64 * 1024;
// Low among real-time priorities: above every ordinary thread, below the kernel's own.
constexpr int kReleaseFifoPriority = 10;

std::unique_ptr<ResponseReader> ReaderFor(const Target& target) {
  return target.scheme == Target::Scheme::kResp ? MakeRespReader() : MakeHttpReader();
}

// Warms a RESP connection with PING so the server has accepted it and set it up
// before the race: the release then measures only the requests.
base::Status WarmResp(int fd, int timeout_ms) {
  if (base::Status s = SendAll(fd, "*1\r\n$4\r\nPING\r\n"); !s.ok()) return s;
  std::string got;
  char buf[256];
  while (got.find("\r\n") == std::string::npos) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) return base::Status::IoError("warm-up PING: no reply");
    const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) return base::Status::IoError("warm-up PING: connection closed");
    got.append(buf, static_cast<size_t>(n));
  }
  return base::Status::Ok();
}

// Reads one response per connection until all are complete or the deadline passes.
void ReadAll(const Target& target, std::vector<Socket>& sockets, std::vector<RequestResult>& out,
             int64_t origin_us, int64_t deadline_us) {
  std::vector<std::unique_ptr<ResponseReader>> readers;
  std::vector<bool> open(sockets.size(), false);
  size_t remaining = 0;
  for (size_t k = 0; k < sockets.size(); ++k) {
    readers.push_back(ReaderFor(target));
    if (sockets[k].valid() && out[k].error.empty()) {
      open[k] = true;
      ++remaining;
      SetNonBlocking(sockets[k].fd(), true);
    }
  }
  std::vector<char> buf(kReadChunk);
  auto finish = [&](size_t k, const char* error) {
    if (error == nullptr) {
      out[k].end_us = NowUs() - origin_us;
      out[k].status = readers[k]->status();
      out[k].body = readers[k]->body();
    } else {
      out[k].error = error;
    }
    open[k] = false;
    sockets[k].Close();
    --remaining;
  };
  while (remaining > 0) {
    const int64_t left_us = deadline_us - NowUs();
    if (left_us <= 0) break;
    std::vector<pollfd> fds;
    std::vector<size_t> which;
    for (size_t k = 0; k < sockets.size(); ++k) {
      if (!open[k]) continue;
      fds.push_back({sockets[k].fd(), POLLIN, 0});
      which.push_back(k);
    }
    const int ready = ::poll(fds.data(), fds.size(), static_cast<int>(left_us / 1000) + 1);
    if (ready < 0 && errno != EINTR) break;
    for (size_t j = 0; j < fds.size(); ++j) {
      if (fds[j].revents == 0) continue;
      const size_t k = which[j];
      const ssize_t n = ::recv(fds[j].fd, buf.data(), buf.size(), 0);
      if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) continue;
        finish(k, std::strerror(errno));
        continue;
      }
      const ResponseReader::Progress p =
          n == 0 ? readers[k]->Eof()
                 : readers[k]->Feed(std::string_view(buf.data(), static_cast<size_t>(n)));
      if (p == ResponseReader::Progress::kDone) {
        finish(k, nullptr);
      } else if (p == ResponseReader::Progress::kMalformed) {
        finish(k, n == 0 ? "connection closed before a complete response" : "malformed response");
      }
    }
  }
  for (size_t k = 0; k < sockets.size(); ++k) {
    if (open[k]) finish(k, "timeout: no complete response");
  }
}

base::Result<RoundRun> FireLastByte(const Target& target, const std::vector<std::string>& payloads,
                                    const FireOptions& options) {
  RoundRun run;
  run.requests.resize(payloads.size());
  std::vector<Socket> sockets;
  sockets.reserve(payloads.size());
  for (size_t k = 0; k < payloads.size(); ++k) {
    base::Result<Socket> s = Connect(target.host, target.port);
    if (!s.ok()) return s.status();
    if (target.scheme == Target::Scheme::kResp) {
      if (base::Status w = WarmResp(s->fd(), options.timeout_ms); !w.ok()) return w;
    }
    sockets.push_back(std::move(s).value());
  }
  // Everything but the last byte goes now; the target parses the prefixes while we
  // settle, so the last byte is all that is left between it and the handler.
  for (size_t k = 0; k < payloads.size(); ++k) {
    const std::string_view prefix(payloads[k].data(), payloads[k].size() - 1);
    if (base::Status s = SendAll(sockets[k].fd(), prefix); !s.ok()) {
      run.requests[k].error = s.message();
    }
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(options.settle_ms));
  // The release: every last byte, in one io_uring submit where the kernel offers it
  // (release.h), else one send() each at raised priority.
  std::vector<int> fds(payloads.size(), -1);
  std::vector<char> last(payloads.size(), 0);
  for (size_t k = 0; k < payloads.size(); ++k) {
    if (run.requests[k].error.empty()) fds[k] = sockets[k].fd();
    last[k] = payloads[k].back();
  }
  const ReleaseTimes released = ReleaseLastBytes(fds, last, options.release);
  run.release_method = released.method;
  const int64_t origin_us = released.origin_us;
  int64_t last_us = origin_us;
  for (size_t k = 0; k < payloads.size(); ++k) {
    if (fds[k] < 0) continue;
    if (released.sent_us[k] < 0) {
      run.requests[k].error = "send of the last byte failed: " + released.errors[k];
      continue;
    }
    run.requests[k].start_us = released.sent_us[k] - origin_us;
    last_us = std::max(last_us, released.sent_us[k]);
  }
  last_us = std::max(last_us, released.done_us);
  run.release_spread_us = last_us - origin_us;
  ReadAll(target, sockets, run.requests, origin_us,
          origin_us + static_cast<int64_t>(options.timeout_ms) * 1000);
  return run;
}

base::Result<RoundRun> FireNaive(const Target& target, const std::vector<std::string>& payloads,
                                 const FireOptions& options) {
  RoundRun run;
  run.requests.resize(payloads.size());
  std::vector<base::Status> refused(payloads.size());
  const int64_t origin_us = NowUs();
  const int64_t deadline_us = origin_us + static_cast<int64_t>(options.timeout_ms) * 1000;
  std::vector<std::thread> threads;
  threads.reserve(payloads.size());
  for (size_t k = 0; k < payloads.size(); ++k) {
    // As a naive client does: each request connects and sends on its own.
    threads.emplace_back([&, k] {
      base::Result<Socket> s = Connect(target.host, target.port);
      if (!s.ok()) {
        refused[k] = s.status();
        run.requests[k].error = s.status().message();
        return;
      }
      if (base::Status sent = SendAll(s->fd(), payloads[k]); !sent.ok()) {
        run.requests[k].error = sent.message();
        return;
      }
      run.requests[k].start_us = NowUs() - origin_us;
      std::vector<Socket> one;
      one.push_back(std::move(s).value());
      std::vector<RequestResult> result(1);
      ReadAll(target, one, result, origin_us, deadline_us);
      run.requests[k].end_us = result[0].end_us;
      run.requests[k].status = result[0].status;
      run.requests[k].body = std::move(result[0].body);
      run.requests[k].error = std::move(result[0].error);
    });
  }
  for (std::thread& t : threads) t.join();
  bool all_refused = true;
  for (const base::Status& s : refused) all_refused = all_refused && !s.ok();
  if (all_refused && !refused.empty()) return refused.front();
  int64_t first = -1;
  int64_t last = -1;
  for (const RequestResult& r : run.requests) {
    if (r.start_us < 0) continue;
    first = first < 0 ? r.start_us : std::min(first, r.start_us);
    last = std::max(last, r.start_us);
  }
  run.release_spread_us = first < 0 ? 0 : last - first;
  return run;
}

}  // namespace

ReleasePriority::ReleasePriority() {
  // Real-time first: no ordinary thread, not even a receiver the release just woke,
  // preempts a SCHED_FIFO one, and the release lasts a few milliseconds at most.
  old_policy_ = ::sched_getscheduler(0);
  if (old_policy_ >= 0 && ::sched_getparam(0, &old_param_) == 0) {
    sched_param fifo{};
    fifo.sched_priority = kReleaseFifoPriority;
    if (::sched_setscheduler(0, SCHED_FIFO, &fifo) == 0) {
      fifo_ = true;
      return;
    }
  }
  errno = 0;
  const int old = ::getpriority(PRIO_PROCESS, 0);
  if (errno == 0 && ::setpriority(PRIO_PROCESS, 0, -20) == 0) {
    old_ = old;
    raised_ = true;
  }
}

ReleasePriority::~ReleasePriority() {
  if (fifo_) ::sched_setscheduler(0, old_policy_, &old_param_);
  if (raised_) ::setpriority(PRIO_PROCESS, 0, old_);
}

base::Result<RoundRun> Fire(const Target& target, const std::vector<std::string>& payloads,
                            const FireOptions& options) {
  for (const std::string& p : payloads) {
    if (p.empty()) return base::Status::InvalidArgument("empty request");
  }
  if (options.sync == SyncMode::kNaive) return FireNaive(target, payloads, options);
  return FireLastByte(target, payloads, options);
}

}  // namespace exactly::race
