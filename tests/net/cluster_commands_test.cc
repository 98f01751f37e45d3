// Tests for net/commands/cluster.cc and the key positions COMMAND gives: CLUSTER's
// replies for a group, a follower during an election and a single node, over a real
// loopback connection with a fake server behind it; and that a client computing a
// command's slot from COMMAND's key position gets the slot -MOVED names.
#include <gtest/gtest.h>

#include <set>

#include "net/cluster_slot.h"
#include "net/command_table.h"
#include "net/errors.h"
#include "session_harness.h"

namespace exactly::net::testing {
namespace {

std::string Bulk(std::string_view s) {
  return "$" + std::to_string(s.size()) + "\r\n" + std::string(s) + "\r\n";
}

std::string Id(int n) {
  std::string id(40, '0');
  id.back() = static_cast<char>('0' + n);
  return id;
}

// Node 2 of three, in replicated mode, with `leader` leading (0: none known now) and
// `last_leader` the last one it knew.
ReplicationFacts Group(uint64_t leader, uint64_t last_leader) {
  ReplicationFacts r;
  r.enabled = true;
  r.node_id = 2;
  r.role = leader == 2 ? "leader" : "follower";
  r.leader_id = leader;
  r.last_leader_id = last_leader;
  r.term = 7;
  r.applied_index = 40;
  for (uint64_t id = 1; id <= 3; ++id) {
    ReplicationFacts::Peer& peer = r.peers.emplace_back();
    peer.id = id;
    peer.resp_address = "127.0.0.1:" + std::to_string(7378 + id);
    peer.raft_address = "127.0.0.1:" + std::to_string(7478 + id);
  }
  return r;
}

class ClusterCommandTest : public SessionTest {};

TEST_F(ClusterCommandTest, SlotsNameTheLeaderFirst) {
  server_.facts.replication = Group(3, 3);
  EXPECT_EQ(Ask({"CLUSTER", "SLOTS"}),
            "*1\r\n*5\r\n:0\r\n:16383\r\n"
            "*4\r\n" +
                Bulk("127.0.0.1") + ":7381\r\n" + Bulk(Id(3)) +
                "*0\r\n"
                "*4\r\n" +
                Bulk("127.0.0.1") + ":7379\r\n" + Bulk(Id(1)) +
                "*0\r\n"
                "*4\r\n" +
                Bulk("127.0.0.1") + ":7380\r\n" + Bulk(Id(2)) + "*0\r\n");
  EXPECT_EQ(Ask({"cluster", "myid"}), Bulk(Id(2)));
  EXPECT_EQ(Ask({"CLUSTER", "KEYSLOT", "{user1}.a"}),
            ":" + std::to_string(KeySlot("user1")) + "\r\n");
}

TEST_F(ClusterCommandTest, NodesInRedisTextFormat) {
  server_.facts.replication = Group(3, 3);
  const std::string text = Id(3) + " 127.0.0.1:7381@7481 master - 0 0 7 connected 0-16383\n" +
                           Id(1) + " 127.0.0.1:7379@7479 slave " + Id(3) + " 0 0 7 connected\n" +
                           Id(2) + " 127.0.0.1:7380@7480 myself,slave " + Id(3) +
                           " 0 0 7 connected\n";
  EXPECT_EQ(Ask({"CLUSTER", "NODES"}), Bulk(text));
}

TEST_F(ClusterCommandTest, ShardsAreMapsInResp3) {
  server_.facts.replication = Group(2, 2);
  Ask({"HELLO", "3"});
  const std::string reply = Ask({"CLUSTER", "SHARDS"});
  EXPECT_TRUE(reply.starts_with("*1\r\n%2\r\n" + Bulk("slots") + "*2\r\n:0\r\n:16383\r\n" +
                                Bulk("nodes") + "*3\r\n%7\r\n" + Bulk("id") + Bulk(Id(2))))
      << reply;
  // Myself leads: its offset is its applied index.
  EXPECT_NE(reply.find(Bulk("role") + Bulk("master") + Bulk("replication-offset") + ":40\r\n" +
                       Bulk("health") + Bulk("online")),
            std::string::npos)
      << reply;
}

TEST_F(ClusterCommandTest, DuringAnElectionTheLastLeaderStaysMaster) {
  server_.facts.replication = Group(0, 1);
  EXPECT_TRUE(
      Ask({"CLUSTER", "SLOTS"})
          .starts_with("*1\r\n*5\r\n:0\r\n:16383\r\n*4\r\n" + Bulk("127.0.0.1") + ":7379\r\n"));
  EXPECT_NE(Ask({"CLUSTER", "NODES"}).find(Id(1) + " 127.0.0.1:7379@7479 master,fail? - "),
            std::string::npos);
  const std::string info = Ask({"CLUSTER", "INFO"});
  EXPECT_NE(info.find("cluster_state:fail\r\n"), std::string::npos) << info;
  EXPECT_NE(info.find("cluster_slots_pfail:16384\r\n"), std::string::npos) << info;
}

TEST_F(ClusterCommandTest, NoLeaderEverKnownIsClusterDown) {
  server_.facts.replication = Group(0, 0);
  const std::string down = "-" + std::string(kCodeClusterDown) + " " + ErrNoLeader() + "\r\n";
  EXPECT_EQ(Ask({"CLUSTER", "SLOTS"}), down);
  EXPECT_EQ(Ask({"CLUSTER", "SHARDS"}), down);
  EXPECT_EQ(Ask({"CLUSTER", "NODES"}), down);
  const std::string info = Ask({"CLUSTER", "INFO"});
  EXPECT_NE(info.find("cluster_state:fail\r\ncluster_slots_assigned:0\r\n"), std::string::npos)
      << info;
}

TEST_F(ClusterCommandTest, ASingleNodeIsAClusterOfOneAtTheAddressReached) {
  const std::string reply = Ask({"CLUSTER", "SLOTS"});
  EXPECT_TRUE(reply.starts_with("*1\r\n*3\r\n:0\r\n:16383\r\n*4\r\n" + Bulk("127.0.0.1") + ":"))
      << reply;
  EXPECT_NE(reply.find(Bulk(Id(1)) + "*0\r\n"), std::string::npos) << reply;
  const std::string info = Ask({"CLUSTER", "INFO"});
  EXPECT_NE(info.find("cluster_state:ok\r\n"), std::string::npos) << info;
  EXPECT_NE(info.find("cluster_known_nodes:1\r\n"), std::string::npos) << info;
}

TEST_F(ClusterCommandTest, BadSubcommandsAndReadonly) {
  EXPECT_EQ(Ask({"CLUSTER", "FROB"}), "-ERR unknown subcommand 'FROB'. Try CLUSTER HELP.\r\n");
  EXPECT_EQ(Ask({"CLUSTER", "KEYSLOT"}),
            "-ERR wrong number of arguments for 'cluster|keyslot' command\r\n");
  EXPECT_EQ(Ask({"CLUSTER", "SLOTS", "x"}),
            "-ERR wrong number of arguments for 'cluster|slots' command\r\n");
  EXPECT_EQ(Ask({"CLUSTER"}), "-ERR wrong number of arguments for 'cluster' command\r\n");
  EXPECT_EQ(Ask({"READONLY"}), "-ERR " + ErrReadonlyNotOffered() + "\r\n");
  EXPECT_EQ(Ask({"READWRITE"}), "+OK\r\n");
  const std::string help = Ask({"CLUSTER", "HELP"});
  for (std::string_view sub : {"SLOTS", "SHARDS", "NODES", "INFO", "MYID", "KEYSLOT key"}) {
    EXPECT_NE(help.find("+" + std::string(sub) + "\r\n"), std::string::npos) << sub;
  }
  EXPECT_TRUE(server_.submitted.empty());
}

// A cluster client takes COMMAND's first key position and hashes that argument; the
// slot must be the one a follower names in -MOVED (CommandSlot), for every data
// command, or the client would chase redirects.
TEST(ClusterKeyPositionsTest, CommandKeyPositionGivesTheMovedSlot) {
  const std::vector<std::vector<std::string_view>> examples = {
      {"CLAIM", "k{a}", "o"},
      {"UNCLAIM", "k{b}", "o"},
      {"CLAIMOF", "kc"},
      {"CLAIMLOG", "kd"},
      {"ACCOUNT", "acct"},
      {"TRANSFER", "t1", "alice", "bob", "1"},
      {"RESERVE", "r1", "alice", "bob", "1", "TIMEOUT", "10"},
      {"COMMIT", "r2"},
      {"CANCEL", "r3"},
      {"BALANCE", "alice"},
      {"HISTORY", "bob"},
      {"LOCK", "l1", "o", "LEASE", "10"},
      {"RENEW", "l2", "1", "LEASE", "10"},
      {"UNLOCK", "l3", "1"},
      {"FENCE", "l4", "1"},
      {"IDEM", "BEGIN", "i1"},
      {"IDEM", "END", "i2", "1", "r"},
      {"IDEM", "ABORT", "i3", "1"},
      {"LIMIT", "lim", "RATE", "1", "PER", "10"},
  };
  std::set<std::string_view> covered;
  for (const auto& args : examples) {
    const CommandSpec* spec = nullptr;
    const ParsedCommand parsed = ParseRequest(args, &spec);
    ASSERT_NE(spec, nullptr) << args[0];
    ASSERT_EQ(parsed.error, "") << args[0];
    covered.insert(spec->name);
    ASSERT_GT(spec->first_key, 0) << args[0] << " has no key: cluster clients refuse it";
    EXPECT_EQ(spec->last_key, spec->first_key) << args[0];
    EXPECT_EQ(spec->key_step, 1) << args[0];
    EXPECT_EQ(KeySlot(args[spec->first_key]), CommandSlot(parsed.command)) << args[0];
  }
  size_t data_rows = 0;
  for (const CommandSpec& row : AllCommands()) data_rows += row.parse != nullptr ? 1 : 0;
  EXPECT_EQ(covered.size(), data_rows) << "a data command without an example here";
}

TEST(ClusterKeyPositionsTest, CommandInfoHasKeySpecs) {
  std::string out;
  RespWriter writer(&out, 2);
  std::vector<std::string_view> info = {"COMMAND", "INFO", "transfer", "ping"};
  WriteCommandReply(writer, info);
  EXPECT_NE(out.find("$8\r\ntransfer\r\n:-5\r\n*1\r\n+write\r\n:1\r\n:1\r\n:1\r\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("*1\r\n*6\r\n$5\r\nflags\r\n*2\r\n+RW\r\n+UPDATE\r\n$12\r\nbegin_search\r\n"
                     "*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$5\r\nindex\r\n:1\r\n"
                     "$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n*6\r\n"
                     "$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n"),
            std::string::npos)
      << out;
  // PING has no key: no key specs.
  EXPECT_TRUE(out.ends_with(":0\r\n:0\r\n:0\r\n*1\r\n+@connection\r\n*0\r\n*0\r\n*0\r\n")) << out;
}

TEST(ClusterKeyPositionsTest, CommandGetKeys) {
  auto ask = [](std::vector<std::string_view> args) {
    std::string out;
    RespWriter writer(&out, 2);
    WriteCommandReply(writer, args);
    return out;
  };
  EXPECT_EQ(ask({"COMMAND", "GETKEYS", "transfer", "t1", "alice", "bob", "5"}),
            "*1\r\n$2\r\nt1\r\n");
  EXPECT_EQ(ask({"COMMAND", "GETKEYS", "IDEM", "BEGIN", "k"}), "*1\r\n$1\r\nk\r\n");
  EXPECT_EQ(ask({"COMMAND", "GETKEYS", "nope", "x"}),
            "-ERR " + ErrGetKeysUnknownCommand() + "\r\n");
  EXPECT_EQ(ask({"COMMAND", "GETKEYS", "CLAIM", "k"}), "-ERR " + ErrGetKeysArity() + "\r\n");
  EXPECT_EQ(ask({"COMMAND", "GETKEYS", "PING"}), "-ERR " + ErrGetKeysNoKey() + "\r\n");
}

}  // namespace
}  // namespace exactly::net::testing
