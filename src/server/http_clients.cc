// Takes HTTP clients on and hands their commands to the pipeline.
#include "server/http_clients.h"

#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "http/http_connection.h"
#include "net/errors.h"

namespace exactly::server {
namespace {

bool IsLoopbackPeer(const boost::asio::ip::tcp::socket& socket) {
  boost::system::error_code error;
  auto address = socket.remote_endpoint(error).address();
  if (error) return false;
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    address = boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, address.to_v6());
  }
  return address.is_loopback();
}

// Answers a client that is not taken on, and closes; a TLS client is only
// closed (plain bytes would be garbage to it before its handshake).
void Refuse(boost::asio::ip::tcp::socket& socket, int status, std::string_view code,
            std::string_view message, bool tls) {
  boost::system::error_code ignored;
  if (tls) {
    socket.close(ignored);
    return;
  }
  const std::string response = http::RefusalResponse(status, code, message);
  socket.write_some(boost::asio::buffer(response), ignored);
  socket.close(ignored);
}

}  // namespace

HttpClients::HttpClients(boost::asio::io_context& io, const ServeConfig& config, Pipeline* pipeline)
    : poller_(io),
      config_(config),
      pipeline_(pipeline),
      idle_sweep_(io, config_.idle_timeout_s, config_.tls != nullptr, &connections_) {
  pipeline_->SetOtherClients(this);
}

HttpClients::~HttpClients() { pipeline_->SetOtherClients(nullptr); }

void HttpClients::Accept(boost::asio::ip::tcp::socket socket) {
  if (pipeline_->shutting_down() || connections_.size() >= config_.clients_max) {
    Refuse(socket, 503, net::kCodeErr, net::ErrMaxClients(), config_.tls != nullptr);
    return;
  }
  if (pipeline_->protected_mode() && !IsLoopbackPeer(socket)) {
    Refuse(socket, 403, net::kCodeDenied, net::ErrProtectedMode(), config_.tls != nullptr);
    return;
  }
  const uint64_t id = next_id_++;
  auto connection = std::make_shared<http::HttpConnection>(std::move(socket), id, this, poller_,
                                                           config_.tls.get());
  connections_.emplace(id, connection);
  ++stats_.connections;
  ++stats_.connections_total;
  connection->Start();
}

std::shared_ptr<http::HttpConnection> HttpClients::Largest() const {
  std::shared_ptr<http::HttpConnection> largest;
  for (const auto& [id, weak] : connections_) {
    auto connection = weak.lock();
    if (connection && !connection->closed() &&
        (largest == nullptr || connection->buffer_bytes() > largest->buffer_bytes())) {
      largest = std::move(connection);
    }
  }
  return largest;
}

size_t HttpClients::LargestBufferBytes() const {
  const auto largest = Largest();
  return largest != nullptr ? largest->buffer_bytes() : 0;
}

void HttpClients::CloseLargest(uint64_t maxmemory_clients_bytes) {
  const auto largest = Largest();
  if (largest == nullptr) return;
  std::fprintf(stderr,
               "exactly: closing HTTP client %llu holding %zu buffer bytes: all clients "
               "together were past --maxmemory-clients %llu\n",
               static_cast<unsigned long long>(largest->id()), largest->buffer_bytes(),
               static_cast<unsigned long long>(maxmemory_clients_bytes));
  largest->Close();
}

void HttpClients::Submit(net::ReplyTarget& target, uint64_t slot, core::Command&& command) {
  pipeline_->Submit(target, slot, std::move(command));
}

void HttpClients::SubmitRead(http::HttpConnection& connection, uint64_t slot,
                             std::function<std::string(const core::Engine&)> render) {
  // The pipeline holds the connection until the read runs, and skips it if closed.
  pipeline_->SubmitRead(connection, slot,
                        [target = &connection, slot, render = std::move(render)](
                            const core::Engine& engine, Lsn wait_lsn) {
                          target->FillJson(slot, wait_lsn, render(engine));
                        });
}

http::ConsoleNumbers HttpClients::Numbers() const {
  http::ConsoleNumbers numbers;
  numbers.facts = pipeline_->Facts(/*with_memory=*/true);
  const Pipeline::CommitLatency& latency = pipeline_->commit_latency();
  numbers.commit_batches = latency.batches;
  numbers.commit_total_us = latency.total_us;
  numbers.commit_max_us = latency.max_us;
  numbers.http_connections = connections_.size();
  numbers.console_writes = config_.console_writes;
  return numbers;
}

void HttpClients::OnClosed(http::HttpConnection& connection) {
  if (connections_.erase(connection.id()) != 0) --stats_.connections;
  pipeline_->Withdraw(connection);
}

}  // namespace exactly::server
