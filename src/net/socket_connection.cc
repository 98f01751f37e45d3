// A client socket's transport, poller registration and closing (socket_connection.h).
#include "net/socket_connection.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <utility>

namespace exactly::net {
namespace {

// Takes the descriptor from Asio (which then forgets it) after setting the
// options every client socket gets.
int TakeDescriptor(boost::asio::ip::tcp::socket& socket) {
  boost::system::error_code ignored;
  socket.set_option(boost::asio::ip::tcp::no_delay(true), ignored);
  socket.non_blocking(true, ignored);
  return socket.release(ignored);
}

// "ip:port" of a socket's peer (getpeername) or its own end (getsockname); "?" if
// the call fails.
template <class GetName>
std::string SocketAddress(int fd, GetName get_name) {
  sockaddr_storage address{};
  socklen_t length = sizeof(address);
  if (get_name(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) return "?";
  char text[INET6_ADDRSTRLEN] = {};
  if (address.ss_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&address);
    ::inet_ntop(AF_INET, &v4->sin_addr, text, sizeof(text));
    return std::string(text) + ":" + std::to_string(ntohs(v4->sin_port));
  }
  if (address.ss_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&address);
    ::inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof(text));
    return std::string(text) + ":" + std::to_string(ntohs(v6->sin6_port));
  }
  return "?";
}

}  // namespace

SocketConnection::SocketConnection(boost::asio::ip::tcp::socket socket, uint64_t id,
                                   SocketPoller& poller, const TlsContext* tls)
    : poller_(poller), transport_(TakeDescriptor(socket), tls), id_(id) {
  opened_ms_ = base::MonotonicNowMs();
  last_activity_ms_ = opened_ms_;
}

SocketConnection::~SocketConnection() = default;  // the transport closes what is left

bool SocketConnection::Register(std::shared_ptr<PollClient> self) {
  base::Result<uint64_t> key = poller_.Add(transport_.fd(), std::move(self));
  if (!key.ok()) return false;
  poll_key_ = *key;
  return true;
}

void SocketConnection::ChangeWatch(bool read, bool write) {
  if (closed_ || poll_key_ == 0) return;
  poller_.Watch(poll_key_, transport_.fd(), read, write);
  watching_read_ = read;
  watching_write_ = write;
}

void SocketConnection::ReleaseSocket() {
  if (closed_) return;
  closed_ = true;
  if (poll_key_ != 0) poller_.Remove(poll_key_, transport_.fd());
  transport_.Close();
}

bool SocketConnection::Expired(int64_t now_ms, int64_t idle_ms, bool replies_pending) const {
  if (closed_) return false;
  if (transport_.handshaking() && now_ms - opened_ms_ >= kTlsHandshakeMsMax) return true;
  return idle_ms > 0 && !replies_pending && last_activity_ms_ < now_ms - idle_ms;
}

std::string SocketConnection::remote_address() const {
  return closed_ ? "?" : SocketAddress(transport_.fd(), ::getpeername);
}

std::string SocketConnection::local_address() const {
  return closed_ ? "?" : SocketAddress(transport_.fd(), ::getsockname);
}

}  // namespace exactly::net
