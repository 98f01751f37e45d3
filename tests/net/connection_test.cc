// Tests for net/connection and net/socket_poller over real loopback TCP sockets:
// replies leave in order and only once durable, a reply bigger than the socket
// buffer arrives whole, a full pipeline stops reading and resumes, and a peer
// that goes away is noticed and released.
#include "net/connection.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

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

#include "net/run_loop.h"
#include "net/socket_poller.h"

namespace exactly::net {
namespace {

using boost::asio::ip::tcp;

// Answers every command with `reply_for(args)`, durable at `next_lsn` when set,
// and remembers what it saw.
class FakeHandler final : public ConnectionHandler {
 public:
  void OnCommand(Connection& connection, uint64_t slot,
                 std::span<const std::string_view> args) override {
    commands.emplace_back(args.front());
    if (defer) {
      deferred.push_back(slot);
      return;
    }
    connection.Fill(slot, Lsn{next_lsn}, reply_for(args));
  }
  void OnClosed(Connection&) override { ++closed; }
  Lsn DurableLsn() const override { return Lsn{durable}; }
  bool StorageFailed() const override { return false; }
  void OnBufferBytes(Connection&, int64_t delta) override { buffer_bytes += delta; }

  std::function<std::string(std::span<const std::string_view>)> reply_for =
      [](std::span<const std::string_view> args) {
        return "+" + std::string(args.front()) + "\r\n";
      };
  uint64_t next_lsn = 0;
  uint64_t durable = 0;
  bool defer = false;  // leave slots unfilled (a command still in the engine)
  std::vector<uint64_t> deferred;
  std::vector<std::string> commands;
  int closed = 0;
  int64_t buffer_bytes = 0;  // what the connections reported, summed
};

class ConnectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tcp::acceptor acceptor(io_, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
    client_.connect(acceptor.local_endpoint());
    tcp::socket server_side(io_);
    acceptor.accept(server_side);
    connection_ =
        std::make_shared<Connection>(std::move(server_side), 1, &handler_, limits_, poller_);
    connection_->Start();
  }

  // Runs the loop until `done` holds (or fails the test after 5 s).
  void RunUntil(const std::function<bool()>& done) { RunLoopUntil(io_, done); }

  void Send(const std::string& bytes) { boost::asio::write(client_, boost::asio::buffer(bytes)); }

  // Runs the loop until `bytes` have arrived (replies leave in the loop's flush),
  // then reads them.
  std::string Receive(size_t bytes) {
    RunUntil([&] { return Available() >= bytes; });
    std::string out(bytes, '\0');
    boost::asio::read(client_, boost::asio::buffer(out));
    return out;
  }

  size_t Available() {
    boost::system::error_code ignored;
    return client_.available(ignored);
  }

  boost::asio::io_context io_;
  SocketPoller poller_{io_};
  FakeHandler handler_;
  ConnectionLimits limits_;
  tcp::socket client_{io_};
  std::shared_ptr<Connection> connection_;
};

TEST_F(ConnectionTest, PipelinedRepliesLeaveInOrder) {
  Send("PING\r\n*1\r\n$4\r\nECHO\r\nTIME\r\n");
  RunUntil([&] { return handler_.commands.size() == 3; });
  EXPECT_EQ(Receive(21), "+PING\r\n+ECHO\r\n+TIME\r\n");
}

TEST_F(ConnectionTest, ReplyWaitsUntilItsLsnIsDurable) {
  handler_.next_lsn = 7;
  handler_.durable = 6;
  Send("CLAIM\r\n");
  RunUntil([&] { return handler_.commands.size() == 1; });
  io_.run_for(std::chrono::milliseconds(20));
  EXPECT_EQ(Available(), 0u) << "a reply left before its lsn was durable";
  handler_.durable = 7;
  connection_->Release();
  EXPECT_EQ(Receive(8), "+CLAIM\r\n");
}

TEST_F(ConnectionTest, LaterFilledSlotWaitsForTheEarlierOne) {
  handler_.defer = true;
  Send("FIRST\r\nSECOND\r\n");
  RunUntil([&] { return handler_.deferred.size() == 2; });
  connection_->Fill(handler_.deferred[1], Lsn{0}, "+SECOND\r\n");
  io_.run_for(std::chrono::milliseconds(20));
  EXPECT_EQ(Available(), 0u) << "a reply overtook the one before it";
  connection_->Fill(handler_.deferred[0], Lsn{0}, "+FIRST\r\n");
  EXPECT_EQ(Receive(17), "+FIRST\r\n+SECOND\r\n");
}

TEST_F(ConnectionTest, ReplyLargerThanTheSocketBufferArrivesWhole) {
  // Far more than loopback's send and receive buffers together, so the
  // connection must wait for writability and continue where it stopped.
  std::string big(8 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
  handler_.reply_for = [&](std::span<const std::string_view>) { return big; };
  Send("BIG\r\n");
  RunUntil([&] { return handler_.commands.size() == 1; });
  std::string received;
  while (received.size() < big.size()) {
    io_.run_for(std::chrono::milliseconds(1));
    io_.restart();
    const size_t ready = Available();
    if (ready > 0) received += Receive(ready);
  }
  EXPECT_EQ(received.size(), big.size());
  EXPECT_TRUE(received == big) << "bytes arrived out of order or damaged";
}

TEST_F(ConnectionTest, FullPipelineStopsReadingUntilRepliesLeave) {
  handler_.defer = true;  // a second connection, with a pipeline depth of 2
  tcp::acceptor acceptor(io_, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  tcp::socket client(io_);
  client.connect(acceptor.local_endpoint());
  tcp::socket server_side(io_);
  acceptor.accept(server_side);
  ConnectionLimits shallow;
  shallow.pipeline_depth_max = 2;
  auto connection =
      std::make_shared<Connection>(std::move(server_side), 2, &handler_, shallow, poller_);
  connection->Start();
  // The depth is checked before each read: what one read brought is parsed, then
  // reading stops until replies leave.
  boost::asio::write(client, boost::asio::buffer(std::string("A\r\nB\r\n")));
  RunUntil([&] { return handler_.commands.size() == 2; });
  boost::asio::write(client, boost::asio::buffer(std::string("C\r\n")));
  io_.run_for(std::chrono::milliseconds(20));
  EXPECT_EQ(handler_.commands.size(), 2u) << "read past a full pipeline";
  connection->Fill(handler_.deferred[0], Lsn{0}, "+A\r\n");
  connection->Fill(handler_.deferred[1], Lsn{0}, "+B\r\n");
  RunUntil([&] { return handler_.commands.size() == 3; });
  EXPECT_EQ(handler_.commands.back(), "C");
}

TEST_F(ConnectionTest, ClientThatNeverReadsStopsBeingRead) {
  // Replies that left the pipeline but not the server still pause reading: a
  // client that pipelines and never reads holds about output_pause_bytes, not
  // every reply of everything it sent.
  const std::string reply(1000, 'x');
  handler_.reply_for = [&](std::span<const std::string_view>) { return "+" + reply + "\r\n"; };
  std::string requests;
  for (int i = 0; i < 2000; ++i) requests += "PING\r\n";
  const size_t batches = 100;  // 200,000 commands, about 200 MB of replies
  for (size_t b = 0; b < batches; ++b) {
    boost::system::error_code error;
    client_.non_blocking(true);
    boost::asio::write(client_, boost::asio::buffer(requests), error);
    io_.run_for(std::chrono::milliseconds(2));
    io_.restart();
    if (error) break;  // our own send buffer is full: the server stopped reading
  }
  io_.run_for(std::chrono::milliseconds(50));
  EXPECT_LT(handler_.commands.size(), 40'000u) << "kept reading a client that never reads";
  EXPECT_LT(connection_->buffer_bytes(), 3 * limits_.output_pause_bytes);
  EXPECT_EQ(handler_.buffer_bytes, static_cast<int64_t>(connection_->buffer_bytes()));
  // Once the client reads, the server reads again.
  const size_t seen = handler_.commands.size();
  client_.non_blocking(false);
  std::string sink(1 << 20, '\0');
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (handler_.commands.size() == seen && std::chrono::steady_clock::now() < deadline) {
    boost::system::error_code error;
    client_.non_blocking(true);
    client_.read_some(boost::asio::buffer(sink), error);
    io_.run_for(std::chrono::milliseconds(1));
    io_.restart();
  }
  EXPECT_GT(handler_.commands.size(), seen) << "never resumed reading";
}

TEST_F(ConnectionTest, ClosedConnectionReportsItsBuffersFreed) {
  Send("PING\r\n");
  RunUntil([&] { return handler_.commands.size() == 1; });
  EXPECT_GT(handler_.buffer_bytes, 0);
  client_.close();
  RunUntil([&] { return handler_.closed == 1; });
  EXPECT_EQ(handler_.buffer_bytes, 0);
}

TEST_F(ConnectionTest, PeerThatLeavesIsClosedAndReleased) {
  std::weak_ptr<Connection> weak = connection_;
  connection_.reset();
  EXPECT_EQ(poller_.size(), 1u);
  client_.close();
  RunUntil([&] { return handler_.closed == 1; });
  EXPECT_EQ(poller_.size(), 0u);
  RunUntil([&] { return weak.expired(); });
}

TEST_F(ConnectionTest, CloseAfterRepliesSendsThemThenCloses) {
  Send("BYE\r\n");
  RunUntil([&] { return handler_.commands.size() == 1; });
  connection_->CloseAfterReplies();
  EXPECT_EQ(Receive(6), "+BYE\r\n");
  RunUntil([&] { return connection_->closed(); });
  char byte = 0;
  boost::system::error_code error;
  client_.read_some(boost::asio::buffer(&byte, 1), error);
  EXPECT_EQ(error, boost::asio::error::eof);
  EXPECT_TRUE(connection_->closed());
}

}  // namespace
}  // namespace exactly::net
