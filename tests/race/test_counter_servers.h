// Counters for the state-probe tests, over h2c and RESP (the HTTP/1.1 one is a
// TestHttpServer handler): each keeps one integer and increments it either the
// lost-update way (read, then write what was read plus one, with others in between)
// or atomically, and lets a probe read it on another connection.
#pragma once

#include <netinet/in.h>
#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "race/wire.h"

namespace exactly::race::testing {

enum class Increment { kLostUpdate, kAtomic };

// Listens on a loopback port; one thread per connection runs `serve(fd)`.
class TestListener {
 public:
  template <typename Serve>
  explicit TestListener(Serve serve) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    const int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    ::listen(listen_fd_, 256);
    socklen_t len = sizeof(addr);
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this, serve] {
      while (!stopping_) {
        pollfd p{listen_fd_, POLLIN, 0};
        if (::poll(&p, 1, 50) <= 0) continue;
        const int fd = ::accept(listen_fd_, nullptr, nullptr);
        if (fd < 0) continue;
        std::lock_guard<std::mutex> lock(mu_);
        workers_.emplace_back([this, serve, fd] {
          serve(fd, stopping_);
          ::close(fd);
        });
      }
    });
  }
  ~TestListener() {
    stopping_ = true;
    acceptor_.join();
    ::close(listen_fd_);
    std::lock_guard<std::mutex> lock(mu_);
    for (std::thread& t : workers_) t.join();
  }
  uint16_t port() const { return port_; }

 private:
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<std::thread> workers_;
};

// Waits for readable data on `fd` for up to 100 ms at a time until `stopping`.
inline ssize_t RecvOrStop(int fd, char* buf, size_t size, const std::atomic<bool>& stopping) {
  while (!stopping) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) > 0) return ::recv(fd, buf, size, 0);
  }
  return 0;
}

// RESP: PING, `VOTE key` (increments the way the server was built), `GET key`.
class CounterRespServer {
 public:
  explicit CounterRespServer(Increment how)
      : listener_(
            [this, how](int fd, const std::atomic<bool>& stopping) { Serve(fd, how, stopping); }) {}
  uint16_t port() const { return listener_.port(); }
  std::string Url() const { return "resp://127.0.0.1:" + std::to_string(port()); }

 private:
  // Parses one multibulk command at the front of `in`; 0 when incomplete.
  static size_t Parse(const std::string& in, std::vector<std::string>& words) {
    words.clear();
    if (in.empty() || in[0] != '*') return 0;
    size_t at = in.find("\r\n");
    if (at == std::string::npos) return 0;
    const int n = std::stoi(in.substr(1, at - 1));
    at += 2;
    for (int k = 0; k < n; ++k) {
      const size_t line = in.find("\r\n", at);
      if (line == std::string::npos) return 0;
      const size_t len = std::stoul(in.substr(at + 1, line - at - 1));
      if (in.size() < line + 2 + len + 2) return 0;
      words.push_back(in.substr(line + 2, len));
      at = line + 2 + len + 2;
    }
    return at;
  }

  void Serve(int fd, Increment how, const std::atomic<bool>& stopping) {
    std::string in;
    char buf[4096];
    for (;;) {
      const ssize_t n = RecvOrStop(fd, buf, sizeof(buf), stopping);
      if (n <= 0) return;
      in.append(buf, static_cast<size_t>(n));
      std::vector<std::string> words;
      while (size_t used = Parse(in, words)) {
        in.erase(0, used);
        std::string reply;
        if (words[0] == "PING") {
          reply = "+PONG\r\n";
        } else if (words[0] == "GET" && words.size() == 2) {
          std::lock_guard<std::mutex> lock(mu_);
          const std::string v = std::to_string(counters_[words[1]]);
          reply = "$" + std::to_string(v.size()) + "\r\n" + v + "\r\n";
        } else if (words[0] == "VOTE" && words.size() == 2) {
          reply = ":" + std::to_string(Vote(words[1], how)) + "\r\n";
        } else {
          reply = "-ERR unknown command\r\n";
        }
        ::send(fd, reply.data(), reply.size(), MSG_NOSIGNAL);
      }
    }
  }

  int64_t Vote(const std::string& key, Increment how) {
    if (how == Increment::kAtomic) {
      std::lock_guard<std::mutex> lock(mu_);
      return ++counters_[key];
    }
    int64_t seen = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      seen = counters_[key];
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    std::lock_guard<std::mutex> lock(mu_);
    counters_[key] = seen + 1;
    return seen + 1;
  }

  std::mutex mu_;
  std::map<std::string, int64_t> counters_;
  TestListener listener_;
};

// h2c (prior knowledge): `POST /vote` increments, `GET /count` answers
// {"votes": N}. The lost-update server reads the counter when a stream completes
// and writes after the whole read() is handled, as handlers that ran side by side
// would; single-packet delivery puts every stream in one read.
class CounterH2Server {
 public:
  explicit CounterH2Server(Increment how)
      : how_(how), listener_([this](int fd, const std::atomic<bool>& stopping) {
          Connection c;
          c.server = this;
          c.fd = fd;
          c.Serve(stopping);
        }) {}
  uint16_t port() const { return listener_.port(); }
  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port()) + path;
  }

 private:
  struct Connection {
    CounterH2Server* server = nullptr;
    int fd = -1;
    std::map<int32_t, std::string> paths;
    std::map<int32_t, std::string> bodies;
    std::map<int32_t, size_t> sent;
    std::vector<std::pair<int32_t, int64_t>> pending;  // lost-update writes after the read
    nghttp2_session* session = nullptr;

    static ssize_t Send(nghttp2_session*, const uint8_t* data, size_t length, int, void* user) {
      return ::send(static_cast<Connection*>(user)->fd, data, length, MSG_NOSIGNAL);
    }
    static ssize_t ReadBody(nghttp2_session*, int32_t id, uint8_t* buf, size_t length,
                            uint32_t* flags, nghttp2_data_source*, void* user) {
      auto* c = static_cast<Connection*>(user);
      const std::string& body = c->bodies[id];
      size_t& at = c->sent[id];
      const size_t n = std::min(length, body.size() - at);
      std::memcpy(buf, body.data() + at, n);
      at += n;
      if (at == body.size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
      return static_cast<ssize_t>(n);
    }
    static int OnHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                        size_t namelen, const uint8_t* value, size_t valuelen, uint8_t,
                        void* user) {
      if (std::string_view(reinterpret_cast<const char*>(name), namelen) == ":path") {
        static_cast<Connection*>(user)->paths[frame->hd.stream_id] =
            std::string(reinterpret_cast<const char*>(value), valuelen);
      }
      return 0;
    }
    static int OnFrame(nghttp2_session*, const nghttp2_frame* frame, void* user) {
      auto* c = static_cast<Connection*>(user);
      const bool request_frame =
          frame->hd.type == NGHTTP2_DATA || frame->hd.type == NGHTTP2_HEADERS;
      if (!request_frame || (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) == 0) return 0;
      const int32_t id = frame->hd.stream_id;
      CounterH2Server* s = c->server;
      std::lock_guard<std::mutex> lock(s->mu_);
      if (c->paths[id] == "/count") {
        c->Respond(id, "{\"votes\": " + std::to_string(s->votes_) + "}");
      } else if (s->how_ == Increment::kAtomic) {
        c->Respond(id, "{\"voted\": " + std::to_string(++s->votes_) + "}");
      } else {
        c->pending.emplace_back(id, s->votes_);
      }
      return 0;
    }
    void Respond(int32_t id, std::string body) {
      bodies[id] = std::move(body);
      static const std::string kStatus = "200";
      nghttp2_nv nv = {const_cast<uint8_t*>(reinterpret_cast<const uint8_t*>(":status")),
                       const_cast<uint8_t*>(reinterpret_cast<const uint8_t*>(kStatus.data())), 7,
                       kStatus.size(), NGHTTP2_NV_FLAG_NONE};
      nghttp2_data_provider provider;
      provider.source.ptr = nullptr;
      provider.read_callback = ReadBody;
      nghttp2_submit_response(session, id, &nv, 1, &provider);
    }
    void Serve(const std::atomic<bool>& stopping) {
      nghttp2_session_callbacks* callbacks = nullptr;
      nghttp2_session_callbacks_new(&callbacks);
      nghttp2_session_callbacks_set_send_callback(callbacks, Send);
      nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, OnFrame);
      nghttp2_session_callbacks_set_on_header_callback(callbacks, OnHeader);
      nghttp2_session_server_new(&session, callbacks, this);
      nghttp2_session_callbacks_del(callbacks);
      nghttp2_submit_settings(session, NGHTTP2_FLAG_NONE, nullptr, 0);
      nghttp2_session_send(session);
      char buf[65536];
      for (;;) {
        const ssize_t n = RecvOrStop(fd, buf, sizeof(buf), stopping);
        if (n <= 0) break;
        if (nghttp2_session_mem_recv(session, reinterpret_cast<uint8_t*>(buf),
                                     static_cast<size_t>(n)) < 0) {
          break;
        }
        {
          std::lock_guard<std::mutex> lock(server->mu_);
          for (const auto& [id, seen] : pending) server->votes_ = seen + 1;
        }
        for (const auto& [id, seen] : pending) {
          Respond(id, "{\"voted\": " + std::to_string(seen + 1) + "}");
        }
        pending.clear();
        nghttp2_session_send(session);
      }
      nghttp2_session_del(session);
    }
  };

  Increment how_;
  std::mutex mu_;
  int64_t votes_ = 0;
  TestListener listener_;
};

}  // namespace exactly::race::testing
