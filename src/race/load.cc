// Open-loop sustained load with coordinated-omission corrected latency.
#include "race/load.h"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cmath>
#include <deque>
#include <memory>

#include "race/socket.h"

namespace exactly::race {
namespace {

struct Conn {
  Socket socket;
  bool busy = false;
  int64_t request = 0;      // 1-based request number in flight
  int64_t intended_us = 0;  // when it was due
  std::unique_ptr<ResponseReader> reader;
};

}  // namespace

base::Result<LoadRun> RunLoad(const Target& target,
                              const std::function<std::string(int64_t)>& payload,
                              const std::function<std::string(int64_t)>& user,
                              const std::vector<SuccessRule>& rules, const LoadOptions& options,
                              const std::function<void(int64_t, int64_t)>& progress) {
  LoadRun run;
  const int64_t total = std::max<int64_t>(1, std::llround(options.rate_per_s * options.duration_s));
  const double interval_us = 1e6 / options.rate_per_s;
  std::vector<Conn> conns(static_cast<size_t>(std::max(1, options.connections)));
  for (Conn& c : conns) {
    base::Result<Socket> s = Connect(target.host, target.port);
    if (!s.ok()) return s.status();
    c.socket = std::move(s).value();
    SetNonBlocking(c.socket.fd(), true);
  }
  auto new_reader = [&] {
    return target.scheme == Target::Scheme::kResp ? MakeRespReader() : MakeHttpReader();
  };
  std::deque<int64_t> due;  // request numbers whose time has come, not yet sent
  int64_t next = 1;
  int64_t done = 0;
  const int64_t t0 = NowUs();
  const int64_t give_up_us =
      t0 + static_cast<int64_t>(options.duration_s * 1e6) + options.timeout_ms * 1000LL;
  int64_t last_progress = t0;
  auto intended = [&](int64_t k) { return t0 + static_cast<int64_t>((k - 1) * interval_us); };
  auto complete = [&](Conn& c, int status, const std::string& body, const char* error) {
    const int64_t now = NowUs();
    RequestResult r;
    r.index = c.request;
    r.user = user(c.request);
    r.start_us = c.intended_us - t0;
    if (error == nullptr) {
      r.end_us = now - t0;
      r.status = status;
      r.body = body;
      r.success = IsSuccess(rules, status, body);
      run.latency.Record(now - c.intended_us);
      ++(r.success ? run.counts.success : run.counts.failure);
      ++run.statuses[status];
    } else {
      r.error = error;
      ++run.counts.error;
      ++run.statuses[0];
    }
    if (run.sample.size() < options.sample_max) run.sample.push_back(std::move(r));
    c.busy = false;
    ++done;
  };
  auto reconnect = [&](Conn& c) {
    c.socket.Close();
    base::Result<Socket> s = Connect(target.host, target.port);
    if (s.ok()) {
      c.socket = std::move(s).value();
      SetNonBlocking(c.socket.fd(), true);
    }
  };
  std::vector<char> buf(64 * 1024);
  while (done < total && NowUs() < give_up_us) {
    const int64_t now = NowUs();
    while (next <= total && intended(next) <= now) due.push_back(next++);
    for (Conn& c : conns) {
      if (due.empty()) break;
      if (c.busy) continue;
      if (!c.socket.valid()) reconnect(c);
      c.request = due.front();
      c.intended_us = intended(c.request);
      due.pop_front();
      c.busy = true;
      c.reader = new_reader();
      ++run.sent;
      SetNonBlocking(c.socket.fd(), false);
      const base::Status s = c.socket.valid() ? SendAll(c.socket.fd(), payload(c.request))
                                              : base::Status::IoError("not connected");
      if (c.socket.valid()) SetNonBlocking(c.socket.fd(), true);
      if (!s.ok()) {
        complete(c, 0, "", "send failed");
        reconnect(c);
      }
    }
    std::vector<pollfd> fds;
    std::vector<Conn*> which;
    for (Conn& c : conns) {
      if (!c.busy) continue;
      fds.push_back({c.socket.fd(), POLLIN, 0});
      which.push_back(&c);
    }
    // Sleep until a response or the next due time, whichever comes first.
    int64_t wait_us = next <= total ? intended(next) - NowUs() : 50000;
    if (!due.empty()) wait_us = std::min<int64_t>(wait_us, 1000);
    wait_us = std::clamp<int64_t>(wait_us, 0, 50000);
    timespec ts{0, static_cast<long>(wait_us * 1000)};
    const int ready = ::ppoll(fds.data(), fds.size(), &ts, nullptr);
    if (ready <= 0) continue;
    for (size_t j = 0; j < fds.size(); ++j) {
      if (fds[j].revents == 0) continue;
      Conn& c = *which[j];
      const ssize_t n = ::recv(fds[j].fd, buf.data(), buf.size(), 0);
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      ResponseReader::Progress p = ResponseReader::Progress::kMalformed;
      if (n > 0) {
        p = c.reader->Feed(std::string_view(buf.data(), static_cast<size_t>(n)));
      } else if (n == 0) {
        p = c.reader->Eof();
      }
      if (p == ResponseReader::Progress::kDone) {
        const bool keep = c.reader->keep_alive() && n > 0;
        complete(c, c.reader->status(), c.reader->body(), nullptr);
        if (!keep) reconnect(c);
      } else if (p == ResponseReader::Progress::kMalformed) {
        complete(c, 0, "", n == 0 ? "connection closed" : "malformed response");
        reconnect(c);
      }
    }
    if (NowUs() - last_progress >= 1000000) {
      last_progress = NowUs();
      progress(run.sent, done);
    }
  }
  for (Conn& c : conns) {
    if (c.busy) complete(c, 0, "", "timeout: no complete response");
  }
  // Requests never sent because time ran out are errors too: unknown, not passed.
  for (; next <= total; ++next) {
    ++run.counts.error;
    ++run.statuses[0];
  }
  while (!due.empty()) {
    due.pop_front();
    ++run.counts.error;
    ++run.statuses[0];
  }
  run.elapsed_s = static_cast<double>(NowUs() - t0) / 1e6;
  return run;
}

}  // namespace exactly::race
