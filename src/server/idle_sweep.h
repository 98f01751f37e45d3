// IdleSweep: once a second, closes the clients of one port that
// net::SocketConnection::Expired names: idle past --timeout with no reply
// pending, or TLS clients whose handshake is unfinished past
// net::kTlsHandshakeMsMax (so a client that opens TLS and sends nothing holds its
// descriptor and session for seconds, not forever). The RESP clients
// (server/clients.h) and the HTTP ones (server/http_clients.h) each run one.
//
// Thread-safety: none; it runs on the event-loop thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_map>
#include <vector>

#include "base/monotonic_clock.h"
#include "net/socket_connection.h"

namespace exactly::server {

class IdleSweep {
 public:
  // Sweeps `connections` (not owned; outlives this) when idle_timeout_s > 0 or
  // `tls`; otherwise never starts its timer. T is a net::SocketConnection with
  // has_held_replies().
  template <typename T>
  IdleSweep(boost::asio::io_context& io, int64_t idle_timeout_s, bool tls,
            const std::unordered_map<uint64_t, std::weak_ptr<T>>* connections)
      : timer_(io), idle_ms_(idle_timeout_s * 1000) {
    collect_ = [connections](int64_t now_ms, int64_t idle_ms, Expired* out) {
      for (const auto& [id, weak] : *connections) {
        auto connection = weak.lock();
        if (connection && connection->Expired(now_ms, idle_ms, connection->has_held_replies())) {
          out->push_back(std::move(connection));
        }
      }
    };
    if (idle_ms_ > 0 || tls) Arm();
  }
  IdleSweep(const IdleSweep&) = delete;
  IdleSweep& operator=(const IdleSweep&) = delete;

 private:
  using Expired = std::vector<std::shared_ptr<net::SocketConnection>>;

  void Arm();

  boost::asio::steady_timer timer_;
  int64_t idle_ms_;
  std::function<void(int64_t now_ms, int64_t idle_ms, Expired* out)> collect_;
};

}  // namespace exactly::server
