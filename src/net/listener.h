// Listener: accepts TCP clients and hands each socket over, refusing past a maximum.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <functional>
#include <string>

#include "base/status.h"

namespace exactly::net {

class Listener {
 public:
  using AcceptFn = std::function<void(boost::asio::ip::tcp::socket)>;

  Listener(boost::asio::io_context& io, AcceptFn on_accept);

  // Binds and listens; IoError naming the address when the port is taken.
  base::Status Listen(const std::string& address, uint16_t port);
  void Stop();
  uint16_t port() const;

 private:
  void Accept();

  boost::asio::ip::tcp::acceptor acceptor_;
  AcceptFn on_accept_;
};

}  // namespace exactly::net
