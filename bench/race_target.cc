// race_target: the cheapest HTTP/1.1 and h2c servers there can be, as targets for
// the release-spread benchmark of `exactly race` (bench/race_spread.sh): the spread
// is the client's to measure, so the target should cost as little as it can.
//
// Every complete HTTP/1.1 request gets `200 ok` (keep-alive); every h2c stream gets
// `:status 200` and `ok`. One level-triggered epoll loop on one thread.
//
// Usage: race_target HTTP_PORT H2C_PORT   (binds 127.0.0.1; stop it with SIGTERM)
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <unordered_map>

namespace {

int Listen(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(fd, 4096) != 0) {
    std::perror("race_target: bind");
    std::exit(1);
  }
  return fd;
}

void SendAll(int fd, const char* data, size_t n) {
  while (n > 0) {
    const ssize_t w = ::send(fd, data, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EAGAIN) continue;
    if (w <= 0) return;
    data += w;
    n -= static_cast<size_t>(w);
  }
}

struct Conn {
  int fd = -1;
  bool h2 = false;
  std::string in;
  nghttp2_session* session = nullptr;
  ~Conn() {
    if (session != nullptr) nghttp2_session_del(session);
  }
};

// Bytes of the first complete HTTP/1.1 request in `in`, or 0.
size_t HttpRequestBytes(const std::string& in) {
  const size_t end = in.find("\r\n\r\n");
  if (end == std::string::npos) return 0;
  size_t length = 0;
  const size_t cl = in.find("Content-Length: ");
  if (cl != std::string::npos && cl < end) length = std::strtoul(in.c_str() + cl + 16, nullptr, 10);
  return in.size() >= end + 4 + length ? end + 4 + length : 0;
}

ssize_t H2Send(nghttp2_session*, const uint8_t* data, size_t length, int, void* user) {
  SendAll(static_cast<Conn*>(user)->fd, reinterpret_cast<const char*>(data), length);
  return static_cast<ssize_t>(length);
}

ssize_t H2Body(nghttp2_session*, int32_t, uint8_t* buf, size_t length, uint32_t* flags,
               nghttp2_data_source*, void*) {
  const size_t n = length < 2 ? length : 2;
  std::memcpy(buf, "ok", n);
  *flags |= NGHTTP2_DATA_FLAG_EOF;
  return static_cast<ssize_t>(n);
}

int H2Frame(nghttp2_session* session, const nghttp2_frame* frame, void*) {
  const bool request = frame->hd.type == NGHTTP2_DATA || frame->hd.type == NGHTTP2_HEADERS;
  if (!request || (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) == 0) return 0;
  static const char kStatus[] = "200";
  nghttp2_nv nv = {reinterpret_cast<uint8_t*>(const_cast<char*>(":status")),
                   reinterpret_cast<uint8_t*>(const_cast<char*>(kStatus)), 7, 3,
                   NGHTTP2_NV_FLAG_NONE};
  nghttp2_data_provider provider{};
  provider.read_callback = H2Body;
  nghttp2_submit_response(session, frame->hd.stream_id, &nv, 1, &provider);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: race_target HTTP_PORT H2C_PORT\n");
    return 2;
  }
  const int http_listener = Listen(std::atoi(argv[1]));
  const int h2_listener = Listen(std::atoi(argv[2]));
  const int ep = ::epoll_create1(0);
  for (int l : {http_listener, h2_listener}) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = l;
    ::epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev);
  }
  nghttp2_session_callbacks* callbacks = nullptr;
  nghttp2_session_callbacks_new(&callbacks);
  nghttp2_session_callbacks_set_send_callback(callbacks, H2Send);
  nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, H2Frame);
  std::unordered_map<int, std::unique_ptr<Conn>> conns;
  epoll_event events[512];
  char buf[65536];
  static const char kReply[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
  for (;;) {
    const int n = ::epoll_wait(ep, events, 512, -1);
    for (int k = 0; k < n; ++k) {
      const int fd = events[k].data.fd;
      if (fd == http_listener || fd == h2_listener) {
        for (;;) {
          const int c = ::accept4(fd, nullptr, nullptr, SOCK_NONBLOCK);
          if (c < 0) break;
          const int one = 1;
          ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
          auto conn = std::make_unique<Conn>();
          conn->fd = c;
          conn->h2 = fd == h2_listener;
          if (conn->h2) {
            nghttp2_session_server_new(&conn->session, callbacks, conn.get());
            nghttp2_submit_settings(conn->session, NGHTTP2_FLAG_NONE, nullptr, 0);
            nghttp2_session_send(conn->session);
          }
          epoll_event ev{};
          ev.events = EPOLLIN;
          ev.data.fd = c;
          ::epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
          conns[c] = std::move(conn);
        }
        continue;
      }
      auto it = conns.find(fd);
      if (it == conns.end()) continue;
      Conn& c = *it->second;
      const ssize_t got = ::recv(fd, buf, sizeof(buf), 0);
      if (got <= 0) {
        if (got < 0 && errno == EAGAIN) continue;
        ::close(fd);
        conns.erase(it);
        continue;
      }
      if (c.h2) {
        if (nghttp2_session_mem_recv(c.session, reinterpret_cast<uint8_t*>(buf),
                                     static_cast<size_t>(got)) < 0) {
          ::close(fd);
          conns.erase(it);
          continue;
        }
        nghttp2_session_send(c.session);
        continue;
      }
      c.in.append(buf, static_cast<size_t>(got));
      std::string out;
      while (size_t used = HttpRequestBytes(c.in)) {
        c.in.erase(0, used);
        out += kReply;
      }
      if (!out.empty()) SendAll(fd, out.data(), out.size());
    }
  }
}
