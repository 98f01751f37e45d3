// A real loopback connection whose commands go through net::RunCommand to a fake
// ServerView, for the session and server_info tests: what a client sends, the
// bytes it gets back, and what the server was asked.
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "net/acl.h"
#include "net/connection.h"
#include "net/run_loop.h"
#include "net/server_view.h"
#include "net/session.h"
#include "net/socket_poller.h"

namespace exactly::net::testing {

// Remembers what it is asked; a submitted command is answered "+SUBMITTED".
class FakeServer final : public ConnectionHandler, public ServerView {
 public:
  // ConnectionHandler
  void OnCommand(Connection& connection, uint64_t slot,
                 std::span<const std::string_view> args) override {
    ++commands;
    RunCommand(*this, connection, slot, args);
  }
  void OnClosed(Connection&) override { ++closed; }
  Lsn DurableLsn() const override { return Lsn{0}; }
  bool StorageFailed() const override { return false; }
  void OnBufferBytes(Connection&, int64_t) override {}

  // ServerView
  void Submit(ReplyTarget& target, uint64_t slot, core::Command&& command) override {
    submitted.push_back(std::move(command));
    // Only RESP connections submit here.
    static_cast<Connection&>(target).Fill(slot, Lsn{0}, "+SUBMITTED\r\n");
  }
  const Acl& Users() const override { return users; }
  std::vector<std::shared_ptr<Connection>> Clients() const override {
    std::vector<std::shared_ptr<Connection>> open;
    for (const auto& connection : clients) {
      if (!connection->closed()) open.push_back(connection);
    }
    return open;
  }
  core::EngineStats Tables() const override { return facts.tables; }
  ServerFacts Facts(bool with_memory) const override {
    memory_asked = memory_asked || with_memory;
    return facts;
  }
  StateDigests Digests() const override { return {}; }
  SnapshotStart StartSnapshot() override { return snapshot; }
  void RequestShutdown() override { ++shutdowns; }

  Acl users = Acl::FromPassword("");
  std::vector<std::shared_ptr<Connection>> clients;
  ServerFacts facts;
  SnapshotStart snapshot;
  std::vector<core::Command> submitted;
  int commands = 0;
  int closed = 0;
  int shutdowns = 0;
  mutable bool memory_asked = false;
};

// One client socket and its server-side connection (id 1), plus helpers to add
// more clients (ids 2, 3, ...).
class SessionTest : public ::testing::Test {
 protected:
  void SetUp() override { connection_ = Connect(&client_); }

  // A new client on `client`; its connection is listed by the fake server.
  std::shared_ptr<Connection> Connect(boost::asio::ip::tcp::socket* client) {
    using boost::asio::ip::tcp;
    tcp::acceptor acceptor(io_, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
    client->connect(acceptor.local_endpoint());
    tcp::socket server_side(io_);
    acceptor.accept(server_side);
    auto connection = std::make_shared<Connection>(std::move(server_side), next_id_++, &server_,
                                                   limits_, poller_);
    connection->user = server_.users.OpenUser();
    connection->Start();
    server_.clients.push_back(connection);
    return connection;
  }

  // Runs the loop until `done` holds (or fails the test after 5 s).
  void RunUntil(const std::function<bool()>& done) { RunLoopUntil(io_, done); }

  // Sends one command as a RESP array and returns the reply bytes.
  std::string Ask(const std::vector<std::string>& words) { return AskOn(client_, words); }

  std::string AskOn(boost::asio::ip::tcp::socket& client, const std::vector<std::string>& words) {
    std::string request = "*" + std::to_string(words.size()) + "\r\n";
    for (const std::string& word : words) {
      request += "$" + std::to_string(word.size()) + "\r\n" + word + "\r\n";
    }
    const int before = server_.commands;
    boost::asio::write(client, boost::asio::buffer(request));
    RunUntil([&] { return server_.commands > before; });
    RunUntil([&] { return Available(client) > 0; });
    std::string reply(Available(client), '\0');
    boost::asio::read(client, boost::asio::buffer(reply));
    return reply;
  }

  static size_t Available(boost::asio::ip::tcp::socket& client) {
    boost::system::error_code ignored;
    return client.available(ignored);
  }

  // Whether the server closed `connection`, and `client`, its peer, reads its end.
  bool ClosedByServer(boost::asio::ip::tcp::socket& client, const Connection& connection) {
    RunUntil([&] { return connection.closed(); });
    char byte;
    boost::system::error_code error;
    client.read_some(boost::asio::buffer(&byte, 1), error);
    return error == boost::asio::error::eof;
  }

  boost::asio::io_context io_;
  SocketPoller poller_{io_};
  FakeServer server_;
  ConnectionLimits limits_;
  uint64_t next_id_ = 1;
  boost::asio::ip::tcp::socket client_{io_};
  std::shared_ptr<Connection> connection_;
};

}  // namespace exactly::net::testing
