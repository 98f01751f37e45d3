// null_server: about the cheapest RESP server there can be: a yardstick for what
// the machine and the load generator allow every server in `make bench`.
//
// It answers PING with +PONG, every other complete RESP command with +OK, and
// keeps nothing: one
// level-triggered epoll set, one recv per readable socket, one send per batch of
// replies, sent at once. A real server can still pass it: replies that leave in
// groups (after a sync) make the load generator's work per reply cheaper
// (docs/benchmarks.md).
//
// Usage: null_server PORT   (binds 127.0.0.1; stop it with SIGTERM)
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <unordered_map>

namespace {

// Bytes of the first complete command in `in` (an inline line or a RESP array of
// bulk strings), or 0 if it is not complete yet.
size_t CommandBytes(std::string_view in) {
  if (in.empty()) return 0;
  size_t line_end = in.find("\r\n");
  if (line_end == std::string_view::npos) return 0;
  if (in[0] != '*') return line_end + 2;
  const long items = std::strtol(std::string(in.substr(1, line_end - 1)).c_str(), nullptr, 10);
  size_t at = line_end + 2;
  for (long i = 0; i < items; ++i) {
    size_t header_end = in.find("\r\n", at);
    if (header_end == std::string_view::npos) return 0;
    const long length =
        std::strtol(std::string(in.substr(at + 1, header_end - at - 1)).c_str(), nullptr, 10);
    at = header_end + 2 + static_cast<size_t>(length) + 2;
    if (at > in.size()) return 0;
  }
  return at;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: null_server PORT\n");
    return 2;
  }
  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  const int on = 1;
  ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(std::atoi(argv[1])));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      ::listen(listener, 1024) != 0) {
    std::perror("null_server: bind/listen");
    return 1;
  }
  const int epoll = ::epoll_create1(0);
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.fd = listener;
  ::epoll_ctl(epoll, EPOLL_CTL_ADD, listener, &event);

  std::unordered_map<int, std::string> pending;  // unparsed input per client
  epoll_event ready[256];
  char buffer[16384];
  while (true) {
    const int count = ::epoll_wait(epoll, ready, 256, -1);
    for (int i = 0; i < count; ++i) {
      const int fd = ready[i].data.fd;
      if (fd == listener) {
        int client;
        while ((client = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK)) >= 0) {
          ::setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
          epoll_event added{};
          added.events = EPOLLIN;
          added.data.fd = client;
          ::epoll_ctl(epoll, EPOLL_CTL_ADD, client, &added);
        }
        continue;
      }
      const ssize_t got = ::recv(fd, buffer, sizeof(buffer), 0);
      if (got <= 0) {
        if (got < 0 && errno == EAGAIN) continue;
        ::close(fd);
        pending.erase(fd);
        continue;
      }
      std::string& in = pending[fd];
      in.append(buffer, static_cast<size_t>(got));
      std::string replies;
      size_t used = 0;
      while (size_t bytes = CommandBytes(std::string_view(in).substr(used))) {
        const bool ping =
            std::string_view(in).substr(used, bytes).find("PING") != std::string_view::npos;
        used += bytes;
        replies += ping ? "+PONG\r\n" : "+OK\r\n";
      }
      in.erase(0, used);
      // Loopback with small replies: a full socket buffer does not happen here.
      if (!replies.empty()) ::send(fd, replies.data(), replies.size(), MSG_NOSIGNAL);
    }
  }
}
