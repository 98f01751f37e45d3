// What a connection the server does not take on is told: a stopping node and a
// full one give distinct refusals (a client routes the first elsewhere as not
// executed; the second is a limit to raise), each counted and then closed.
#include "server/clients.h"

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <memory>
#include <string>

#include "net/acl.h"

namespace exactly::server {
namespace {

struct Refusal {
  std::string reply;      // all the client read before the server closed it
  uint64_t rejected = 0;  // INFO's rejected_connections afterwards
};

// Connects a client to a loopback listener and hands the accepted socket to
// Clients::Accept on a server with room for `clients_max` clients.
Refusal RefuseOne(size_t clients_max, bool shutting_down) {
  ServeConfig config;
  config.acl = std::make_shared<const net::Acl>(net::Acl::FromPassword(""));
  config.clients_max = clients_max;
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor acceptor(
      io, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  boost::asio::ip::tcp::socket client(io);
  client.connect(acceptor.local_endpoint());
  boost::asio::ip::tcp::socket accepted = acceptor.accept();

  net::ServerCounters counters;
  Clients clients(io, config, /*handler=*/nullptr, &counters);
  clients.Accept(std::move(accepted), shutting_down);
  EXPECT_EQ(clients.size(), 0u);

  Refusal refusal;
  boost::system::error_code error;
  boost::asio::read(client, boost::asio::dynamic_buffer(refusal.reply), error);
  EXPECT_EQ(error, boost::asio::error::eof) << error.message();
  refusal.rejected = counters.rejected_connections;
  return refusal;
}

TEST(ClientsTest, ANodeShuttingDownSaysSoToANewConnection) {
  const Refusal refusal = RefuseOne(/*clients_max=*/10, /*shutting_down=*/true);
  EXPECT_EQ(refusal.reply, "-ERR server is shutting down\r\n");
  EXPECT_EQ(refusal.rejected, 1u);
}

TEST(ClientsTest, AFullNodeSaysItIsFull) {
  // The control: the same refusal path, with room for no client, keeps Redis's words.
  const Refusal refusal = RefuseOne(/*clients_max=*/0, /*shutting_down=*/false);
  EXPECT_EQ(refusal.reply, "-ERR max number of clients reached\r\n");
  EXPECT_EQ(refusal.rejected, 1u);
}

TEST(ClientsTest, ShuttingDownIsSaidEvenWhenAlsoFull) {
  EXPECT_EQ(RefuseOne(/*clients_max=*/0, /*shutting_down=*/true).reply,
            "-ERR server is shutting down\r\n");
}

}  // namespace
}  // namespace exactly::server
