// HttpClients: the clients of the HTTP port. Takes each on (or refuses it, as
// server/clients.h does for RESP: protected mode, --maxclients) and hands their
// commands to the same Pipeline as RESP's, so HTTP requests share its batches,
// its order and its durability. With --tls-cert the port speaks HTTPS only
// (docs/tls.md). --timeout closes idle ones and stalled TLS handshakes, as for
// RESP (server/idle_sweep.h), and their buffers count in --maxmemory-clients
// beside RESP's (server/clients.h).
//
// Thread-safety: none; everything runs on the event-loop thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <memory>
#include <unordered_map>

#include "http/http_connection.h"
#include "net/socket_poller.h"
#include "server/clients.h"
#include "server/config.h"
#include "server/idle_sweep.h"
#include "server/pipeline.h"

namespace exactly::server {

class HttpClients final : public http::HttpHandler, public BufferedClients {
 public:
  // `pipeline` is not owned and outlives this.
  HttpClients(boost::asio::io_context& io, const ServeConfig& config, Pipeline* pipeline);
  ~HttpClients() override;
  HttpClients(const HttpClients&) = delete;
  HttpClients& operator=(const HttpClients&) = delete;

  // A client connected to the HTTP port.
  void Accept(boost::asio::ip::tcp::socket socket);
  size_t size() const { return connections_.size(); }

  // http::HttpHandler
  void Submit(net::ReplyTarget& target, uint64_t slot, core::Command&& command) override;
  Lsn DurableLsn() const override { return pipeline_->DurableLsn(); }
  void OnClosed(http::HttpConnection& connection) override;
  const net::Acl& Users() const override { return *config_.acl; }
  http::HttpStats& Stats() override { return stats_; }
  net::ServerFacts Facts() const override { return pipeline_->Facts(/*with_memory=*/true); }
  void OnBufferBytes(http::HttpConnection&, int64_t delta) override {
    pipeline_->AddBufferBytes(delta);
  }

  // BufferedClients: --maxmemory-clients closes HTTP clients as it closes RESP's.
  size_t LargestBufferBytes() const override;
  void CloseLargest(uint64_t maxmemory_clients_bytes) override;
  void SubmitRead(http::HttpConnection& connection, uint64_t slot,
                  std::function<std::string(const core::Engine&)> render) override;
  http::ConsoleNumbers Numbers() const override;

 private:
  // The open connection holding the most buffer bytes, or null.
  std::shared_ptr<http::HttpConnection> Largest() const;

  net::SocketPoller poller_;  // owns the connections
  const ServeConfig config_;
  Pipeline* pipeline_;
  std::unordered_map<uint64_t, std::weak_ptr<http::HttpConnection>> connections_;
  uint64_t next_id_ = 1;
  http::HttpStats stats_;
  IdleSweep idle_sweep_;  // after connections_, which it walks
};

}  // namespace exactly::server
