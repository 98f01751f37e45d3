// Takes clients on, sweeps idle ones, evicts the largest buffers, lists them.
#include "server/clients.h"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <cstdio>
#include <string>
#include <string_view>
#include <utility>

#include "base/assert.h"
#include "base/monotonic_clock.h"
#include "net/errors.h"
#include "net/resp_writer.h"

namespace exactly::server {
namespace {

// Tells a client that is not taken on why (RESP2: it has sent no HELLO), and closes.
// A TLS client is only closed: plain bytes would be garbage to it.
void RefuseConnection(boost::asio::ip::tcp::socket& socket, std::string_view code,
                      std::string_view message, bool tls) {
  boost::system::error_code ignored;
  if (tls) {
    socket.close(ignored);
    return;
  }
  std::string reply;
  net::RespWriter(&reply, 2).Error(code, message);
  socket.write_some(boost::asio::buffer(reply), ignored);
  socket.close(ignored);
}

// Whether the client is on loopback (an IPv4-mapped IPv6 address counts as IPv4);
// false when its address cannot be read.
bool IsLoopbackPeer(const boost::asio::ip::tcp::socket& socket) {
  boost::system::error_code error;
  auto address = socket.remote_endpoint(error).address();
  if (error) return false;
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    address = boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, address.to_v6());
  }
  return address.is_loopback();
}

}  // namespace

Clients::Clients(boost::asio::io_context& io, const ServeConfig& config,
                 net::ConnectionHandler* handler, net::ServerCounters* counters)
    : io_(io),
      poller_(io),
      config_(config),
      handler_(handler),
      counters_(counters),
      idle_sweep_(io, config_.idle_timeout_s, config_.tls != nullptr, &connections_) {
  boost::system::error_code bad_address;
  const auto bind_address = boost::asio::ip::make_address(config_.bind, bad_address);
  EXACTLY_ASSERT(config_.acl != nullptr);
  protect_ = config_.protected_mode && config_.acl->OpenUser() != nullptr &&
             (bad_address || !bind_address.is_loopback());
}

void Clients::Accept(boost::asio::ip::tcp::socket socket, bool shutting_down, bool tls) {
  // The TLS port is opened only once Serve loaded the context.
  EXACTLY_ASSERT(!tls || config_.tls != nullptr);
  ++counters_->connections_total;
  if (shutting_down) {
    // The words a data command gets after SHUTDOWN began: one refusal that a
    // client can route elsewhere as not executed, not a limit to raise.
    ++counters_->rejected_connections;
    RefuseConnection(socket, net::kCodeErr, net::ErrShuttingDown(), tls);
    return;
  }
  if (connections_.size() >= config_.clients_max) {
    ++counters_->rejected_connections;
    RefuseConnection(socket, net::kCodeErr, net::ErrMaxClients(), tls);
    return;
  }
  if (protect_ && !IsLoopbackPeer(socket)) {
    ++counters_->protected_refusals;
    RefuseConnection(socket, net::kCodeDenied, net::ErrProtectedMode(), tls);
    return;
  }
  const uint64_t id = next_id_++;
  auto connection = std::make_shared<net::Connection>(std::move(socket), id, handler_, limits_,
                                                      poller_, tls ? config_.tls.get() : nullptr);
  connection->user = config_.acl->OpenUser();
  connection->created_ms = base::MonotonicNowMs();
  connections_.emplace(id, connection);
  connection->Start();
}

void Clients::AddBufferBytes(int64_t delta) {
  buffer_bytes_ += delta;
  EXACTLY_ASSERT(buffer_bytes_ >= 0);
  if (config_.maxmemory_clients_bytes == 0 || eviction_scheduled_ ||
      static_cast<uint64_t>(buffer_bytes_) <= config_.maxmemory_clients_bytes) {
    return;
  }
  // Not from inside the call: the connection that grew may be the one closed.
  eviction_scheduled_ = true;
  boost::asio::post(io_, [this] { Evict(); });
}

void Clients::Evict() {
  eviction_scheduled_ = false;
  while (static_cast<uint64_t>(buffer_bytes_) > config_.maxmemory_clients_bytes) {
    std::shared_ptr<net::Connection> largest;
    for (auto& [id, weak] : connections_) {
      auto connection = weak.lock();
      if (connection && !connection->closed() &&
          (largest == nullptr || connection->buffer_bytes() > largest->buffer_bytes())) {
        largest = std::move(connection);
      }
    }
    const size_t other_bytes = other_ != nullptr ? other_->LargestBufferBytes() : 0;
    if (other_bytes > (largest != nullptr ? largest->buffer_bytes() : 0)) {
      ++counters_->evicted_clients;
      other_->CloseLargest(config_.maxmemory_clients_bytes);
      continue;
    }
    if (largest == nullptr || largest->buffer_bytes() == 0) return;
    ++counters_->evicted_clients;
    std::fprintf(stderr,
                 "exactly: closing client %llu (%s) holding %zu buffer bytes: all clients "
                 "together were past --maxmemory-clients %llu\n",
                 static_cast<unsigned long long>(largest->id()), largest->remote_address().c_str(),
                 largest->buffer_bytes(),
                 static_cast<unsigned long long>(config_.maxmemory_clients_bytes));
    largest->Close();
  }
}

std::vector<std::shared_ptr<net::Connection>> Clients::List() const {
  std::vector<std::shared_ptr<net::Connection>> open;
  for (const auto& [id, weak] : connections_) {
    auto connection = weak.lock();
    if (connection != nullptr && !connection->closed()) open.push_back(std::move(connection));
  }
  std::sort(open.begin(), open.end(),
            [](const auto& a, const auto& b) { return a->id() < b->id(); });
  return open;
}

}  // namespace exactly::server
