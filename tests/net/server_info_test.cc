// Tests for net/server_info: INFO's text from the server's facts, DBSIZE, and
// CLIENT over real loopback connections with a fake server behind them.
#include "net/server_info.h"

#include <gtest/gtest.h>

#include "net/errors.h"
#include "session_harness.h"

namespace exactly::net::testing {
namespace {

ServerFacts SomeFacts() {
  ServerFacts facts;
  facts.connected_clients = 3;
  facts.clients_max = 10;
  facts.parked_clients = 1;
  facts.fsync = "always";
  facts.applied_lsn = Lsn{9};
  facts.durable_lsn = Lsn{8};
  facts.syncs = 4;
  facts.synced_records = 10;
  facts.tables.claims = 2;
  facts.tables.accounts = 1;
  facts.tables.pending = 5;  // counted in transfers, not again
  return facts;
}

TEST(ServerInfoTest, RecordsSumTheTables) {
  core::EngineStats tables;
  tables.claims = 1;
  tables.accounts = 2;
  tables.transfers = 3;
  tables.pending = 3;
  tables.locks = 4;
  tables.waiters = 9;
  tables.idem_keys = 5;
  tables.limit_keys = 6;
  EXPECT_EQ(Records(tables), 21u);
}

TEST(ServerInfoTest, OneSection) {
  EXPECT_EQ(InfoText(SomeFacts(), "clients"),
            "# Clients\r\nconnected_clients:3\r\nmaxclients:10\r\nblocked_clients:1\r\n\r\n");
  EXPECT_EQ(InfoText(SomeFacts(), "KEYSPACE"),
            "# Keyspace\r\ndb0:keys=3,expires=0,avg_ttl=0\r\n\r\n");
  EXPECT_EQ(InfoText(ServerFacts(), "keyspace"), "# Keyspace\r\n\r\n");
  EXPECT_EQ(InfoText(SomeFacts(), "bogus"), "");
}

TEST(ServerInfoTest, PersistenceAveragesRecordsPerSync) {
  const std::string text = InfoText(SomeFacts(), "persistence");
  EXPECT_NE(text.find("\r\napplied_lsn:9\r\ndurable_lsn:8\r\n"), std::string::npos);
  EXPECT_NE(text.find("\r\nfsyncs:4\r\nrecords_per_fsync:2.5\r\n"), std::string::npos);
  EXPECT_NE(InfoText(ServerFacts(), "persistence").find("records_per_fsync:0.0\r\n"),
            std::string::npos);
}

TEST(ServerInfoTest, EverySectionInOrder) {
  for (std::string_view all : {"", "all", "Everything"}) {
    const std::string text = InfoText(SomeFacts(), all);
    size_t at = 0;
    for (std::string_view header :
         {"# Server\r\n", "# Memory\r\n", "# Clients\r\n", "# Persistence\r\n", "# Stats\r\n",
          "# Tables\r\n", "# Keyspace\r\n"}) {
      const size_t found = text.find(header, at);
      ASSERT_NE(found, std::string::npos) << header << " after " << at << " for '" << all << "'";
      at = found;
    }
  }
}

TEST(ServerInfoTest, MemoryIsReadOnlyWhenShown) {
  EXPECT_TRUE(InfoShowsMemory(""));
  EXPECT_TRUE(InfoShowsMemory("Memory"));
  EXPECT_TRUE(InfoShowsMemory("ALL"));
  EXPECT_FALSE(InfoShowsMemory("clients"));
}

TEST_F(SessionTest, InfoAsksForMemoryOnlyWhenShown) {
  server_.facts = SomeFacts();
  const std::string text = InfoText(SomeFacts(), "clients");
  EXPECT_EQ(Ask({"INFO", "clients"}), "$" + std::to_string(text.size()) + "\r\n" + text + "\r\n");
  EXPECT_FALSE(server_.memory_asked);
  Ask({"INFO"});
  EXPECT_TRUE(server_.memory_asked);
}

TEST_F(SessionTest, DbSizeCountsRecords) {
  server_.facts = SomeFacts();
  EXPECT_EQ(Ask({"DBSIZE"}), ":3\r\n");
}

TEST_F(SessionTest, ClientNamesTheConnection) {
  EXPECT_EQ(Ask({"CLIENT", "ID"}), ":1\r\n");
  EXPECT_EQ(Ask({"CLIENT", "GETNAME"}), "$-1\r\n");
  EXPECT_EQ(Ask({"CLIENT", "SETNAME", "worker"}), "+OK\r\n");
  EXPECT_EQ(Ask({"client", "getname"}), "$6\r\nworker\r\n");
  EXPECT_EQ(Ask({"CLIENT", "SETINFO", "lib-name", "x"}), "+OK\r\n");
  EXPECT_EQ(Ask({"CLIENT", "SETINFO", "x"}), "-ERR " + ErrClientSubcommand("SETINFO") + "\r\n");
  EXPECT_EQ(Ask({"CLIENT", "BOGUS"}), "-ERR " + ErrClientSubcommand("BOGUS") + "\r\n");
}

TEST_F(SessionTest, ClientLineDescribesTheConnection) {
  connection_->name = "w";
  connection_->in_multi = true;
  connection_->last_command = "CLAIM";
  const std::string line = ClientLine(*connection_, connection_->created_ms + 5000);
  EXPECT_EQ(line.substr(0, 5), "id=1 ");
  EXPECT_NE(line.find(" name=w age=5 "), std::string::npos) << line;
  EXPECT_NE(line.find(" flags=x db=0 "), std::string::npos) << line;
  EXPECT_NE(line.find(" multi=0 "), std::string::npos) << line;
  EXPECT_NE(line.find(" cmd=claim user=default resp=2\n"), std::string::npos) << line;
  connection_->parked_waiters.push_back(4);
  connection_->in_multi = false;
  EXPECT_NE(ClientLine(*connection_, 0).find(" flags=b "), std::string::npos);
}

TEST_F(SessionTest, ClientListOldestFirstAndById) {
  boost::asio::ip::tcp::socket second(io_);
  Connect(&second);
  const std::string all = Ask({"CLIENT", "LIST"});
  const size_t first_at = all.find("id=1 ");
  const size_t second_at = all.find("id=2 ");
  ASSERT_NE(first_at, std::string::npos) << all;
  ASSERT_NE(second_at, std::string::npos) << all;
  EXPECT_LT(first_at, second_at);
  const std::string picked = Ask({"CLIENT", "LIST", "ID", "2"});
  EXPECT_EQ(picked.find("id=1 "), std::string::npos) << picked;
  EXPECT_NE(picked.find("id=2 "), std::string::npos) << picked;
  EXPECT_EQ(Ask({"CLIENT", "LIST", "ID"}), "-ERR " + ErrClientSubcommand("LIST") + "\r\n");
}

TEST_F(SessionTest, ClientKill) {
  boost::asio::ip::tcp::socket second(io_);
  auto other = Connect(&second);
  EXPECT_EQ(Ask({"CLIENT", "KILL", "1.2.3.4:5"}), "-ERR " + ErrNoSuchClient() + "\r\n");
  EXPECT_EQ(Ask({"CLIENT", "KILL", "FOO", "bar"}), "-ERR " + ErrSyntax() + "\r\n");
  EXPECT_EQ(Ask({"CLIENT", "KILL", "SKIPME", "maybe"}), "-ERR " + ErrSyntax() + "\r\n");
  // SKIPME yes by default: the caller survives a kill that matches everyone.
  EXPECT_EQ(Ask({"CLIENT", "KILL", "SKIPME", "yes"}), ":1\r\n");
  EXPECT_TRUE(other->closed());
  EXPECT_FALSE(connection_->closed());
  EXPECT_EQ(Ask({"CLIENT", "KILL", "ID", "1", "SKIPME", "no"}), ":1\r\n");
  EXPECT_TRUE(ClosedByServer(client_, *connection_));
}

}  // namespace
}  // namespace exactly::net::testing
