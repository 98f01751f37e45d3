// Load generator for bench/run.sh W4 (lock): one op = acquire a random lock name, then
// release it with the token the acquire returned. redis-benchmark cannot carry a value
// from one reply into the next command, so this drives exactly and both Redis
// configurations the same way: N connections on one thread (epoll), one op in flight
// per connection, latency measured from the acquire's send to the release's reply.
// It prints a redis-benchmark style CSV line on stdout (report.py parses it) and the
// outcome counts on stderr; any reply outside the expected set is counted as wrong.
//
//   lock_load --port P --mode exactly|redis [--sha SHA] [--clients 64] [--requests N]
//             [--names 10000] [--lease 5000]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  bool redis = false;
  std::string sha;
  int clients = 64;
  int64_t requests = 100000;
  int names = 10000;
  int lease_ms = 5000;
};

// Parses one RESP value at data[pos..]; appends its leaves (strings, integers, "(nil)",
// "-error") to out. Returns the bytes consumed, or 0 when the value is incomplete.
size_t ParseResp(std::string_view data, size_t pos, std::vector<std::string>* out) {
  size_t end = data.find("\r\n", pos);
  if (end == std::string_view::npos || end == pos) return 0;
  char kind = data[pos];
  std::string_view line = data.substr(pos + 1, end - pos - 1);
  size_t next = end + 2;
  switch (kind) {
    case '+':
    case ':':
    case ',':
    case '#':
    case '(':
      out->emplace_back(line);
      return next - pos;
    case '-':
      out->push_back("-" + std::string(line));
      return next - pos;
    case '_':
      out->push_back("(nil)");
      return next - pos;
    case '$':
    case '=':
    case '!': {
      long n = std::strtol(std::string(line).c_str(), nullptr, 10);
      if (n < 0) {
        out->push_back("(nil)");
        return next - pos;
      }
      if (data.size() < next + n + 2) return 0;
      out->emplace_back(data.substr(next, n));
      if (kind == '!') out->back().insert(0, "-");
      return next + n + 2 - pos;
    }
    case '*':
    case '~':
    case '>':
    case '%': {
      long n = std::strtol(std::string(line).c_str(), nullptr, 10);
      if (kind == '%') n *= 2;
      size_t at = next;
      for (long i = 0; i < n; ++i) {
        size_t used = ParseResp(data, at, out);
        if (used == 0) return 0;
        at += used;
      }
      if (n < 0) out->push_back("(nil)");
      return at - pos;
    }
    default:
      std::fprintf(stderr, "lock_load: unknown RESP type '%c'\n", kind);
      std::exit(1);
  }
}

std::string Encode(const std::vector<std::string>& args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (const auto& a : args) out += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
  return out;
}

// The value after `field` in a flat field/value reply, or "" when absent.
std::string Field(const std::vector<std::string>& leaves, std::string_view field) {
  for (size_t i = 0; i + 1 < leaves.size(); i += 2) {
    if (leaves[i] == field) return leaves[i + 1];
  }
  return "";
}

enum class Phase { kAcquire, kRelease };

struct Conn {
  int fd = -1;
  int id = 0;
  Phase phase = Phase::kAcquire;
  std::string name;
  std::string token;
  std::string in;
  std::string out;
  Clock::time_point started;
  uint64_t seq = 0;
};

class Load {
 public:
  explicit Load(Options o) : o_(std::move(o)), rng_(12345) {}

  int Run() {
    epoll_ = epoll_create1(0);
    conns_.resize(o_.clients);
    for (int i = 0; i < o_.clients; ++i) Connect(&conns_[i], i);
    auto t0 = Clock::now();
    for (auto& c : conns_) StartOp(&c);
    std::vector<epoll_event> events(o_.clients);
    while (done_ < o_.requests) {
      int n = epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), 10000);
      if (n == 0) Die("no reply for 10 s");
      for (int i = 0; i < n; ++i) {
        Conn* c = &conns_[events[i].data.u32];
        if (events[i].events & EPOLLOUT) Flush(c);
        if (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) Read(c);
      }
    }
    double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    Report(secs);
    return wrong_ > 0 ? 3 : 0;
  }

 private:
  [[noreturn]] void Die(const char* why) {
    std::fprintf(stderr, "lock_load: %s after %lld ops\n", why, static_cast<long long>(done_));
    std::exit(1);
  }

  void Connect(Conn* c, int id) {
    c->id = id;
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(o_.port));
    inet_pton(AF_INET, o_.host.c_str(), &addr.sin_addr);
    if (connect(c->fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) Die("connect failed");
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = static_cast<uint32_t>(id);
    epoll_ctl(epoll_, EPOLL_CTL_ADD, c->fd, &ev);
  }

  void Send(Conn* c, const std::vector<std::string>& args) {
    c->out += Encode(args);
    Flush(c);
  }

  void Flush(Conn* c) {
    while (!c->out.empty()) {
      ssize_t n = send(c->fd, c->out.data(), c->out.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK) Die("send failed");
        break;
      }
      c->out.erase(0, static_cast<size_t>(n));
    }
    epoll_event ev{};
    ev.events = EPOLLIN | (c->out.empty() ? 0u : static_cast<uint32_t>(EPOLLOUT));
    ev.data.u32 = static_cast<uint32_t>(c->id);
    epoll_ctl(epoll_, EPOLL_CTL_MOD, c->fd, &ev);
  }

  void StartOp(Conn* c) {
    if (issued_ >= o_.requests) return;
    ++issued_;
    c->phase = Phase::kAcquire;
    c->name = "l:" + std::to_string(std::uniform_int_distribution<int>(0, o_.names - 1)(rng_));
    c->started = Clock::now();
    std::string lease = std::to_string(o_.lease_ms);
    if (o_.redis) {
      // A token unique to this op, as a Redis lock client generates one.
      c->token = "c" + std::to_string(c->id) + "-" + std::to_string(++c->seq);
      Send(c, {"SET", c->name, c->token, "NX", "PX", lease});
    } else {
      // One owner per connection: two connections drawing the same name conflict (busy)
      // as two Redis clients with different tokens do.
      Send(c, {"LOCK", c->name, "o" + std::to_string(c->id), "LEASE", lease});
    }
  }

  void Read(Conn* c) {
    char buf[1 << 14];
    ssize_t n = recv(c->fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n == 0) Die("server closed a connection");
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      Die("recv failed");
    }
    c->in.append(buf, static_cast<size_t>(n));
    size_t pos = 0;
    while (true) {
      std::vector<std::string> leaves;
      size_t used = ParseResp(c->in, pos, &leaves);
      if (used == 0) break;
      pos += used;
      OnReply(c, leaves);
    }
    c->in.erase(0, pos);
  }

  void Count(const std::string& what) { ++counts_[what]; }

  void Wrong(const std::string& what, const std::vector<std::string>& leaves) {
    ++wrong_;
    if (wrong_ <= 5) {
      std::string all;
      for (const auto& l : leaves) all += l + " ";
      std::fprintf(stderr, "lock_load: wrong %s reply: %s\n", what.c_str(), all.c_str());
    }
  }

  void OnReply(Conn* c, const std::vector<std::string>& leaves) {
    std::string first = leaves.empty() ? "" : leaves[0];
    if (c->phase == Phase::kAcquire) {
      bool got = false;
      if (o_.redis) {
        if (first == "OK") {
          got = true;
        } else if (first != "(nil)") {
          Wrong("acquire", leaves);
        }
      } else {
        std::string result = Field(leaves, "result");
        if (result == "acquired") {
          got = true;
          c->token = Field(leaves, "token");
        } else if (result != "busy") {
          Wrong("acquire", leaves);
        }
      }
      Count(got ? "acquired" : "busy");
      if (got) {
        c->phase = Phase::kRelease;
        if (o_.redis) {
          Send(c, {"EVALSHA", o_.sha, "1", c->name, c->token});
        } else {
          Send(c, {"UNLOCK", c->name, c->token});
        }
        return;
      }
    } else {
      bool released = o_.redis
                          ? first == "1"
                          : Field(leaves, "result") == "released" && Field(leaves, "depth") == "0";
      Count(released ? "released" : "not_released");
      if (!released) Wrong("release", leaves);
    }
    latencies_us_.push_back(
        std::chrono::duration<double, std::micro>(Clock::now() - c->started).count());
    ++done_;
    StartOp(c);
  }

  double Pct(double p) {
    size_t rank = static_cast<size_t>(std::max(1.0, std::ceil(p / 100.0 * latencies_us_.size())));
    return latencies_us_[rank - 1] / 1000.0;
  }

  void Report(double secs) {
    std::sort(latencies_us_.begin(), latencies_us_.end());
    double sum = 0;
    for (double l : latencies_us_) sum += l;
    std::printf(
        "\"test\",\"rps\",\"avg_latency_ms\",\"min_latency_ms\",\"p50_latency_ms\","
        "\"p95_latency_ms\",\"p99_latency_ms\",\"max_latency_ms\"\n");
    std::printf("\"LOCK+UNLOCK\",\"%.2f\",\"%.3f\",\"%.3f\",\"%.3f\",\"%.3f\",\"%.3f\",\"%.3f\"\n",
                static_cast<double>(done_) / secs, sum / latencies_us_.size() / 1000.0,
                latencies_us_.front() / 1000.0, Pct(50), Pct(95), Pct(99),
                latencies_us_.back() / 1000.0);
    std::string line;
    for (const auto& [k, v] : counts_) line += k + "=" + std::to_string(v) + " ";
    std::fprintf(stderr, "outcomes: %swrong=%lld ops=%lld seconds=%.3f\n", line.c_str(),
                 static_cast<long long>(wrong_), static_cast<long long>(done_), secs);
  }

  Options o_;
  std::mt19937_64 rng_;
  int epoll_ = -1;
  std::vector<Conn> conns_;
  int64_t issued_ = 0;
  int64_t done_ = 0;
  int64_t wrong_ = 0;
  std::map<std::string, int64_t> counts_;
  std::vector<double> latencies_us_;
};

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    std::string v = argv[i + 1];
    if (k == "--host")
      o.host = v;
    else if (k == "--port")
      o.port = std::atoi(v.c_str());
    else if (k == "--mode")
      o.redis = (v == "redis");
    else if (k == "--sha")
      o.sha = v;
    else if (k == "--clients")
      o.clients = std::atoi(v.c_str());
    else if (k == "--requests")
      o.requests = std::atoll(v.c_str());
    else if (k == "--names")
      o.names = std::atoi(v.c_str());
    else if (k == "--lease")
      o.lease_ms = std::atoi(v.c_str());
    else {
      std::fprintf(stderr, "lock_load: unknown option %s\n", k.c_str());
      return 2;
    }
  }
  if (o.port == 0 || (o.redis && o.sha.empty())) {
    std::fprintf(stderr, "usage: lock_load --port P --mode exactly|redis [--sha SHA] ...\n");
    return 2;
  }
  return Load(o).Run();
}
