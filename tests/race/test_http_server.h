// A tiny HTTP/1.1 server for the race tests: it timestamps
// each request's arrival (the moment its last byte was read) and answers through a
// handler, so tests can see how close together a race's requests arrived.
#pragma once

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace exactly::race::testing {

struct TestRequest {
  std::string method;
  std::string path;
  std::string body;
};

struct TestResponse {
  int status = 200;
  std::string body;
};

class TestHttpServer {
 public:
  using Handler = std::function<TestResponse(const TestRequest&)>;

  explicit TestHttpServer(Handler handler) : handler_(std::move(handler)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    const int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    // Accepted sockets inherit receive timestamps, so even a request that arrived
    // before accept() returned carries the time it reached the host.
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    ::listen(listen_fd_, 512);
    socklen_t len = sizeof(addr);
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { Accept(); });
  }

  ~TestHttpServer() {
    stopping_ = true;
    acceptor_.join();
    ::close(listen_fd_);
    std::lock_guard<std::mutex> lock(mu_);
    for (std::thread& t : workers_) t.join();
  }

  uint16_t port() const { return port_; }
  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

  // Arrival times (µs; kernel receive times of each request's last bytes, so only
  // differences between them mean something) and requests since the last Reset.
  std::vector<int64_t> Arrivals() {
    std::lock_guard<std::mutex> lock(mu_);
    return arrivals_;
  }
  std::vector<TestRequest> Requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  void Reset() {
    std::lock_guard<std::mutex> lock(mu_);
    arrivals_.clear();
    requests_.clear();
  }

 private:
  // The same clock as the kernel's receive timestamps, for data that has none.
  static int64_t NowUs() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  // One thread accepts and reads every connection with poll(), so a request's
  // arrival is stamped when its last byte is readable, not when a thread per
  // connection happens to be scheduled; handlers then run on their own threads so a
  // slow handler does not serialize the requests.
  void Accept() {
    struct Pending {
      int fd;
      std::string in;
    };
    std::vector<Pending> pending;
    char buf[4096];
    while (!stopping_) {
      std::vector<pollfd> fds = {{listen_fd_, POLLIN, 0}};
      for (const Pending& p : pending) fds.push_back({p.fd, POLLIN, 0});
      if (::poll(fds.data(), fds.size(), 100) <= 0) continue;
      const int64_t now = NowUs();
      std::vector<Pending> still;
      for (size_t k = 1; k < fds.size(); ++k) {
        Pending& p = pending[k - 1];
        if (fds[k].revents == 0) {
          still.push_back(std::move(p));
          continue;
        }
        int64_t stamped = now;
        const ssize_t n = RecvStamped(p.fd, buf, sizeof(buf), stamped);
        if (n <= 0) {
          ::close(p.fd);
          continue;
        }
        p.in.append(buf, static_cast<size_t>(n));
        TestRequest request;
        if (!Complete(p.in, request)) {
          still.push_back(std::move(p));
          continue;
        }
        std::lock_guard<std::mutex> lock(mu_);
        arrivals_.push_back(stamped);
        requests_.push_back(request);
        const int fd = p.fd;
        workers_.emplace_back([this, fd, request] { Respond(fd, request); });
      }
      pending = std::move(still);
      if (fds[0].revents != 0) {
        const int fd = ::accept(listen_fd_, nullptr, nullptr);
        if (fd >= 0) {
          const int one = 1;
          ::setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
          pending.push_back({fd, {}});
        }
      }
    }
    for (const Pending& p : pending) ::close(p.fd);
  }

  // recv() that also returns the kernel's receive time of the data (SO_TIMESTAMPNS,
  // in µs of CLOCK_REALTIME): when the bytes reached the host, whatever the
  // scheduling of this thread. Leaves `stamped` as is when there is no timestamp.
  static ssize_t RecvStamped(int fd, char* buf, size_t size, int64_t& stamped) {
    iovec iov{buf, size};
    char control[CMSG_SPACE(sizeof(timespec))];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    const ssize_t n = ::recvmsg(fd, &msg, 0);
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); n > 0 && c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
        timespec ts;
        std::memcpy(&ts, CMSG_DATA(c), sizeof(ts));
        stamped = static_cast<int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
      }
    }
    return n;
  }

  static bool Complete(const std::string& in, TestRequest& request) {
    const size_t header_end = in.find("\r\n\r\n");
    if (header_end == std::string::npos) return false;
    size_t need = header_end + 4;
    const size_t cl = in.find("Content-Length: ");
    if (cl != std::string::npos && cl < header_end) need += std::stoul(in.substr(cl + 16));
    if (in.size() < need) return false;
    const size_t sp1 = in.find(' ');
    const size_t sp2 = in.find(' ', sp1 + 1);
    request.method = in.substr(0, sp1);
    request.path = in.substr(sp1 + 1, sp2 - sp1 - 1);
    request.body = in.substr(header_end + 4);
    return true;
  }

  void Respond(int fd, const TestRequest& request) {
    const TestResponse response = handler_(request);
    const std::string out = "HTTP/1.1 " + std::to_string(response.status) +
                            " X\r\nContent-Length: " + std::to_string(response.body.size()) +
                            "\r\nConnection: close\r\n\r\n" + response.body;
    size_t sent = 0;
    while (sent < out.size()) {
      const ssize_t n = ::send(fd, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) break;
      sent += static_cast<size_t>(n);
    }
    ::close(fd);
  }

  Handler handler_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<std::thread> workers_;
  std::vector<int64_t> arrivals_;
  std::vector<TestRequest> requests_;
};

}  // namespace exactly::race::testing
