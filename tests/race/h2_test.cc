// Tests for race/h2: single-packet release against a small h2c server built on
// nghttp2's server session, which records in which read() each stream completed.
#include "race/h2.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <map>
#include <string>
#include <thread>
#include <vector>

namespace exactly::race {
namespace {

// Serves one h2c connection: every request gets 200 and body "ok:<path>", except
// paths starting with /fail, which get 409.
class H2Server {
 public:
  H2Server() {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    ::listen(listen_fd_, 8);
    socklen_t len = sizeof(addr);
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~H2Server() {
    thread_.join();
    ::close(listen_fd_);
  }
  uint16_t port() const { return port_; }
  // For each completed stream, the number of the read() that completed it.
  const std::map<int32_t, int>& completed_in_read() const { return completed_; }

 private:
  struct Body {
    std::string text;
    size_t at = 0;
  };

  static ssize_t Send(nghttp2_session*, const uint8_t* data, size_t length, int, void* user) {
    auto* self = static_cast<H2Server*>(user);
    return ::send(self->fd_, data, length, MSG_NOSIGNAL);
  }

  static ssize_t ReadBody(nghttp2_session*, int32_t, uint8_t* buf, size_t length, uint32_t* flags,
                          nghttp2_data_source* source, void*) {
    auto* body = static_cast<Body*>(source->ptr);
    const size_t n = std::min(length, body->text.size() - body->at);
    std::memcpy(buf, body->text.data() + body->at, n);
    body->at += n;
    if (body->at == body->text.size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
    return static_cast<ssize_t>(n);
  }

  static int OnHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                      size_t namelen, const uint8_t* value, size_t valuelen, uint8_t, void* user) {
    auto* self = static_cast<H2Server*>(user);
    if (std::string_view(reinterpret_cast<const char*>(name), namelen) == ":path") {
      self->paths_[frame->hd.stream_id] =
          std::string(reinterpret_cast<const char*>(value), valuelen);
    }
    return 0;
  }

  static int OnFrame(nghttp2_session* session, const nghttp2_frame* frame, void* user) {
    auto* self = static_cast<H2Server*>(user);
    const bool request_frame = frame->hd.type == NGHTTP2_DATA || frame->hd.type == NGHTTP2_HEADERS;
    if (!request_frame || (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) == 0) return 0;
    const int32_t id = frame->hd.stream_id;
    self->completed_[id] = self->reads_;
    const std::string& path = self->paths_[id];
    const std::string status = path.rfind("/fail", 0) == 0 ? "409" : "200";
    self->bodies_[id].text = "ok:" + path;
    nghttp2_nv nv = {const_cast<uint8_t*>(reinterpret_cast<const uint8_t*>(":status")),
                     const_cast<uint8_t*>(reinterpret_cast<const uint8_t*>(status.data())), 7,
                     status.size(), NGHTTP2_NV_FLAG_NONE};
    nghttp2_data_provider provider;
    provider.source.ptr = &self->bodies_[id];
    provider.read_callback = ReadBody;
    nghttp2_submit_response(session, id, &nv, 1, &provider);
    return 0;
  }

  void Serve() {
    fd_ = ::accept(listen_fd_, nullptr, nullptr);
    nghttp2_session_callbacks* callbacks = nullptr;
    nghttp2_session_callbacks_new(&callbacks);
    nghttp2_session_callbacks_set_send_callback(callbacks, Send);
    nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, OnFrame);
    nghttp2_session_callbacks_set_on_header_callback(callbacks, OnHeader);
    nghttp2_session* session = nullptr;
    nghttp2_session_server_new(&session, callbacks, this);
    nghttp2_session_callbacks_del(callbacks);
    nghttp2_submit_settings(session, NGHTTP2_FLAG_NONE, nullptr, 0);
    nghttp2_session_send(session);
    char buf[65536];
    for (;;) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 5000) <= 0) break;
      const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) break;
      ++reads_;
      if (nghttp2_session_mem_recv(session, reinterpret_cast<uint8_t*>(buf),
                                   static_cast<size_t>(n)) < 0) {
        break;
      }
      nghttp2_session_send(session);
    }
    nghttp2_session_del(session);
    ::close(fd_);
  }

  int listen_fd_ = -1;
  int fd_ = -1;
  uint16_t port_ = 0;
  int reads_ = 0;
  std::thread thread_;
  std::map<int32_t, std::string> paths_;
  std::map<int32_t, Body> bodies_;
  std::map<int32_t, int> completed_;
};

TEST(H2Test, AllStreamsCompleteInOneReadAndAnswersMapBack) {
  std::map<int32_t, int> completed;
  base::Result<RoundRun> run = base::Status::IoError("not run");
  {
    H2Server server;
    Target target;
    target.host = "127.0.0.1";
    target.port = server.port();
    std::vector<HttpRequest> requests;
    for (int i = 1; i <= 8; ++i) {
      HttpRequest r;
      r.method = i % 2 == 0 ? "POST" : "GET";
      r.host = "127.0.0.1";
      r.path = (i == 3 ? "/fail/" : "/ok/") + std::to_string(i);
      if (r.method == "POST") r.body = "n=" + std::to_string(i);
      requests.push_back(r);
    }
    FireOptions options;
    run = FireH2(target, requests, options);
    ASSERT_TRUE(run.ok()) << run.status().message();
    completed = server.completed_in_read();
  }
  ASSERT_EQ(completed.size(), 8u);
  // The final frames left in one write: the server completed every stream in one read.
  const int first = completed.begin()->second;
  for (const auto& [id, read] : completed) EXPECT_EQ(read, first) << "stream " << id;
  ASSERT_EQ(run->requests.size(), 8u);
  for (size_t k = 0; k < 8; ++k) {
    const RequestResult& r = run->requests[k];
    EXPECT_TRUE(r.error.empty()) << r.error;
    EXPECT_EQ(r.status, k == 2 ? 409 : 200);
    EXPECT_EQ(r.body, (k == 2 ? "ok:/fail/" : "ok:/ok/") + std::to_string(k + 1));
  }
  EXPECT_GE(run->release_spread_us, 0);
}

TEST(H2Test, NotH2cIsAConnectionError) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  ::listen(fd, 1);
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  // An HTTP/1.1-only peer: answers the preface with a 400 and closes.
  std::thread peer([fd] {
    const int c = ::accept(fd, nullptr, nullptr);
    char buf[256];
    ::recv(c, buf, sizeof(buf), 0);
    const char* reply = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
    ::send(c, reply, std::strlen(reply), MSG_NOSIGNAL);
    ::close(c);
  });
  Target target;
  target.host = "127.0.0.1";
  target.port = ntohs(addr.sin_port);
  HttpRequest r;
  FireOptions options;
  options.timeout_ms = 2000;
  base::Result<RoundRun> run = FireH2(target, {r}, options);
  peer.join();
  ::close(fd);
  EXPECT_FALSE(run.ok());
}

}  // namespace
}  // namespace exactly::race
