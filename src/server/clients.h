// Clients: the connected clients of the RESP port and of the RESP-over-TLS port
// (--tls-port). Takes each on or refuses it (--maxclients, protected mode),
// closes idle ones (--timeout) and stalled TLS handshakes (server/idle_sweep.h),
// closes the largest when all
// their buffers together pass --maxmemory-clients, and lists them for CLIENT and
// INFO.
//
// Thread-safety: none; everything runs on the event-loop thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "net/connection.h"
#include "net/server_view.h"
#include "net/socket_poller.h"
#include "server/config.h"
#include "server/idle_sweep.h"

namespace exactly::server {

// Another port's clients whose buffers count in --maxmemory-clients too (HTTP's):
// Clients::Evict closes the largest holder of either kind.
class BufferedClients {
 public:
  virtual ~BufferedClients() = default;
  // The buffer bytes of the open client holding the most; 0 when there is none.
  virtual size_t LargestBufferBytes() const = 0;
  // Closes that client (the one LargestBufferBytes measured), saying why on stderr.
  virtual void CloseLargest(uint64_t maxmemory_clients_bytes) = 0;
};

class Clients {
 public:
  // Connections hand their commands to `handler`; refusals, evictions and
  // connections are counted in `counters`. Neither is owned; both outlive this.
  Clients(boost::asio::io_context& io, const ServeConfig& config, net::ConnectionHandler* handler,
          net::ServerCounters* counters);
  Clients(const Clients&) = delete;
  Clients& operator=(const Clients&) = delete;

  // A client connected: starts its connection, or tells it why not and closes it
  // (the server is shutting down or full, or protected mode refuses its address).
  // With `tls` it came to the TLS port and speaks TLS (config.tls); a refused
  // TLS client is closed without a reply, which it could not read before its
  // handshake.
  void Accept(boost::asio::ip::tcp::socket socket, bool shutting_down, bool tls = false);
  // The connection closed (ConnectionHandler::OnClosed): no longer listed.
  void Forget(const net::Connection& connection) { connections_.erase(connection.id()); }
  // A connection's buffers changed by `delta` bytes (ConnectionHandler::OnBufferBytes);
  // past --maxmemory-clients the largest are closed, after this call returns.
  void AddBufferBytes(int64_t delta);
  // `other`'s clients report their buffers through AddBufferBytes too, and are
  // closed by the same rule. Not owned; outlives this. Set once, before they connect.
  void SetOtherClients(BufferedClients* other) { other_ = other; }

  // Every open connection, oldest (lowest id) first.
  std::vector<std::shared_ptr<net::Connection>> List() const;
  size_t size() const { return connections_.size(); }
  int64_t buffer_bytes() const { return buffer_bytes_; }
  // Whether protected mode is in force: a non-loopback bind, a default user that
  // needs no password, and
  // --protected-mode yes. Non-loopback clients are then refused.
  bool protected_mode() const { return protect_; }

 private:
  // Closes the clients with the largest buffers until all of them together are
  // within --maxmemory-clients.
  void Evict();

  boost::asio::io_context& io_;
  net::SocketPoller poller_;  // owns the connections; they reach it by reference
  const ServeConfig config_;
  net::ConnectionHandler* handler_;
  net::ServerCounters* counters_;
  net::ConnectionLimits limits_;
  std::unordered_map<uint64_t, std::weak_ptr<net::Connection>> connections_;
  uint64_t next_id_ = 1;
  IdleSweep idle_sweep_;      // after connections_, which it walks
  int64_t buffer_bytes_ = 0;  // buffer_bytes() of every connection, summed
  bool eviction_scheduled_ = false;
  bool protect_ = false;
  BufferedClients* other_ = nullptr;
};

}  // namespace exactly::server
