// Accept loop on one address; the server decides what a new socket becomes.
#include "net/listener.h"

#include <utility>

namespace exactly::net {

Listener::Listener(boost::asio::io_context& io, AcceptFn on_accept)
    : acceptor_(io), on_accept_(std::move(on_accept)) {}

base::Status Listener::Listen(const std::string& address, uint16_t port) {
  boost::system::error_code error;
  const auto ip = boost::asio::ip::make_address(address, error);
  if (error) return base::Status::InvalidArgument("bad bind address '" + address + "'");
  const boost::asio::ip::tcp::endpoint endpoint(ip, port);
  acceptor_.open(endpoint.protocol(), error);
  if (!error) acceptor_.set_option(boost::asio::socket_base::reuse_address(true), error);
  if (!error) acceptor_.bind(endpoint, error);
  if (!error) acceptor_.listen(boost::asio::socket_base::max_listen_connections, error);
  if (error) {
    return base::Status::IoError("cannot listen on " + address + ":" + std::to_string(port) + ": " +
                                 error.message());
  }
  Accept();
  return base::Status::Ok();
}

void Listener::Stop() {
  boost::system::error_code ignored;
  acceptor_.close(ignored);
}

uint16_t Listener::port() const {
  boost::system::error_code error;
  return acceptor_.local_endpoint(error).port();
}

void Listener::Accept() {
  acceptor_.async_accept(
      [this](const boost::system::error_code& error, boost::asio::ip::tcp::socket socket) {
        if (error == boost::asio::error::operation_aborted) return;
        if (!error) on_accept_(std::move(socket));
        // Out of descriptors (EMFILE) and the like: keep accepting; the next try may succeed.
        if (acceptor_.is_open()) Accept();
      });
}

}  // namespace exactly::net
