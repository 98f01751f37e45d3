// The replicated mode's flags: what is accepted, and the error each bad input gets.
#include "server/config.h"

#include <gtest/gtest.h>

namespace exactly::server {
namespace {

constexpr std::string_view kThree =
    "1=127.0.0.1:7379@127.0.0.1:7479,2=127.0.0.1:7380@127.0.0.1:7480,"
    "3=127.0.0.1:7381@127.0.0.1:7481";

// The error message for the given flags, "" when they are accepted.
std::string Error(uint64_t node_id, std::string_view raft_bind, std::string_view peers,
                  uint16_t port = 7379) {
  ReplicationConfig config;
  base::Status status =
      ParseReplication(true, node_id, true, raft_bind, true, peers, port, &config);
  return status.ok() ? "" : status.message();
}

TEST(ReplicationConfigTest, NoFlagsIsSingleNode) {
  ReplicationConfig config;
  ASSERT_TRUE(ParseReplication(false, 0, false, "", false, "", 7379, &config).ok());
  EXPECT_FALSE(config.enabled());
}

TEST(ReplicationConfigTest, DesignExampleParses) {
  ReplicationConfig config;
  ASSERT_TRUE(ParseReplication(true, 2, true, "127.0.0.1:7480", true, kThree, 7380, &config).ok());
  EXPECT_TRUE(config.enabled());
  EXPECT_EQ(config.node_id, 2u);
  ASSERT_EQ(config.peers.size(), 3u);
  EXPECT_EQ(config.peers[0].id, 1u);
  EXPECT_EQ(config.peers[0].resp_address(), "127.0.0.1:7379");
  EXPECT_EQ(config.peers[2].raft_address(), "127.0.0.1:7481");
  ASSERT_NE(config.Find(3), nullptr);
  EXPECT_EQ(config.Find(3)->resp_port, 7381);
  EXPECT_EQ(config.Find(4), nullptr);
}

TEST(ReplicationConfigTest, SomeFlagsWithoutTheOthers) {
  ReplicationConfig config;
  base::Status status = ParseReplication(true, 1, false, "", true, kThree, 7379, &config);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.message(), "replicated mode needs all of --node-id, --raft-bind and --peers");
  EXPECT_FALSE(ParseReplication(false, 0, true, "127.0.0.1:7479", false, "", 7379, &config).ok());
}

TEST(ReplicationConfigTest, UnknownOwnId) {
  EXPECT_EQ(Error(4, "127.0.0.1:7479", kThree), "--node-id 4 is not one of the ids in --peers");
  EXPECT_EQ(Error(0, "127.0.0.1:7479", kThree), "--node-id must be a positive integer");
}

TEST(ReplicationConfigTest, DuplicateIdsAndAddresses) {
  EXPECT_EQ(Error(1, "127.0.0.1:7479",
                  "1=127.0.0.1:7379@127.0.0.1:7479,1=127.0.0.1:7380@127.0.0.1:7480,"
                  "3=127.0.0.1:7381@127.0.0.1:7481"),
            "--peers names id 1 twice");
  EXPECT_EQ(Error(1, "127.0.0.1:7479",
                  "1=127.0.0.1:7379@127.0.0.1:7479,2=127.0.0.1:7379@127.0.0.1:7480,"
                  "3=127.0.0.1:7381@127.0.0.1:7481"),
            "--peers names the RESP address 127.0.0.1:7379 twice");
  EXPECT_EQ(Error(1, "127.0.0.1:7479",
                  "1=127.0.0.1:7379@127.0.0.1:7479,2=127.0.0.1:7380@127.0.0.1:7479,"
                  "3=127.0.0.1:7381@127.0.0.1:7481"),
            "--peers names the raft address 127.0.0.1:7479 twice");
}

TEST(ReplicationConfigTest, MalformedEntries) {
  const std::string shape = " is not id=resp-host:resp-port@raft-host:raft-port";
  EXPECT_EQ(Error(1, "127.0.0.1:7479", "1=127.0.0.1:7379"),
            "--peers entry '1=127.0.0.1:7379'" + shape);
  EXPECT_EQ(Error(1, "127.0.0.1:7479", ""), "--peers entry ''" + shape);
  EXPECT_EQ(Error(1, "127.0.0.1:7479", "1=127.0.0.1:7379@127.0.0.1:7479,"),
            "--peers entry ''" + shape);
  EXPECT_EQ(Error(1, "127.0.0.1:7479", "127.0.0.1:7379@1=127.0.0.1:7479"),
            "--peers entry '127.0.0.1:7379@1=127.0.0.1:7479'" + shape);
  EXPECT_EQ(Error(1, "127.0.0.1:7479", "x=127.0.0.1:7379@127.0.0.1:7479"),
            "--peers entry 'x=127.0.0.1:7379@127.0.0.1:7479': the id must be a positive integer");
  EXPECT_EQ(Error(1, "127.0.0.1:7479", "-1=127.0.0.1:7379@127.0.0.1:7479"),
            "--peers entry '-1=127.0.0.1:7379@127.0.0.1:7479': the id must be a positive integer");
  EXPECT_EQ(Error(1, "127.0.0.1:7479", "1=127.0.0.1:0@127.0.0.1:7479"),
            "--peers entry '1=127.0.0.1:0@127.0.0.1:7479': the RESP address must be host:port "
            "(port 1-65535)");
  EXPECT_EQ(Error(1, "127.0.0.1:7479", "1=:7379@127.0.0.1:7479"),
            "--peers entry '1=:7379@127.0.0.1:7479': the RESP address must be host:port "
            "(port 1-65535)");
  EXPECT_EQ(Error(1, "127.0.0.1:7479", "1=127.0.0.1:7379@127.0.0.1:65536"),
            "--peers entry '1=127.0.0.1:7379@127.0.0.1:65536': the raft address must be "
            "host:port (port 1-65535)");
}

TEST(ReplicationConfigTest, EvenVoterCountsAreRefused) {
  EXPECT_EQ(
      Error(1, "127.0.0.1:7479", "1=127.0.0.1:7379@127.0.0.1:7479,2=127.0.0.1:7380@127.0.0.1:7480"),
      "--peers lists 2 voters; a group has an odd number of voters, 1 to 7 (3 or 5 in "
      "practice)");
  EXPECT_EQ(Error(1, "127.0.0.1:7479", "1=127.0.0.1:7379@127.0.0.1:7479"), "");
}

TEST(ReplicationConfigTest, OwnAddressesMustMatchTheFlags) {
  EXPECT_EQ(Error(1, "127.0.0.1:7999", kThree),
            "--raft-bind 127.0.0.1:7999 differs from node 1's raft port 7479 in --peers (the "
            "library listens on the port the peers dial)");
  // Another host on the same port: listening on all interfaces, or behind a proxy.
  EXPECT_EQ(Error(1, "0.0.0.0:7479", kThree), "");
  EXPECT_EQ(Error(1, "127.0.0.11:7479", kThree), "");
  EXPECT_EQ(Error(1, "7479", kThree), "--raft-bind '7479' is not host:port (port 1-65535)");
  EXPECT_EQ(Error(1, "127.0.0.1:7479", kThree, 7000),
            "--port 7000 differs from node 1's RESP port 7379 in --peers (followers redirect "
            "clients there)");
}

// The TLS flags together: what is accepted and the flag each refusal names.
std::string TlsError(uint16_t port, uint16_t tls_port, std::string cert, std::string key,
                     std::string ca = "") {
  ServeConfig config;
  config.port = port;
  config.tls_port = tls_port;
  config.tls_files = {std::move(cert), std::move(key), std::move(ca)};
  base::Status status = CheckTls(config);
  return status.ok() ? "" : status.message();
}

TEST(TlsConfigTest, AcceptsTheUsualCombinations) {
  EXPECT_EQ(TlsError(7379, 0, "", ""), "");               // no TLS
  EXPECT_EQ(TlsError(7379, 7443, "c.pem", "k.pem"), "");  // both ports
  EXPECT_EQ(TlsError(0, 7443, "c.pem", "k.pem"), "");     // TLS only
  EXPECT_EQ(TlsError(7379, 0, "c.pem", "k.pem"), "");     // HTTPS only
  EXPECT_EQ(TlsError(7379, 7443, "c.pem", "k.pem", "ca.pem"), "");
}

TEST(TlsConfigTest, RefusesIncompleteOrClashingFlags) {
  EXPECT_NE(TlsError(0, 0, "", "").find("--tls-port"), std::string::npos);
  EXPECT_NE(TlsError(7379, 7443, "", "").find("--tls-cert"), std::string::npos);
  EXPECT_NE(TlsError(7379, 7443, "c.pem", "").find("--tls-key"), std::string::npos);
  EXPECT_NE(TlsError(7379, 0, "", "k.pem").find("--tls-cert"), std::string::npos);
  EXPECT_NE(TlsError(7379, 0, "", "", "ca.pem").find("--tls-cert"), std::string::npos);
  EXPECT_NE(TlsError(7443, 7443, "c.pem", "k.pem").find("is also --port"), std::string::npos);
  EXPECT_NE(TlsError(7379, 7380, "c.pem", "k.pem").find("is also --http-port"), std::string::npos);
}

}  // namespace
}  // namespace exactly::server

namespace exactly::server {
namespace {

std::string JoinError(bool node_id_given, uint64_t node_id, bool raft_bind_given,
                      std::string_view raft_bind, bool peers_given) {
  ReplicationConfig config;
  base::Status status =
      ParseJoin(node_id_given, node_id, raft_bind_given, raft_bind, peers_given, 7382, &config);
  return status.ok() ? "" : status.message();
}

TEST(ReplicationConfigTest, JoinNeedsAnIdAndARaftAddressAndNoPeers) {
  ReplicationConfig config;
  ASSERT_TRUE(ParseJoin(true, 4, true, "127.0.0.1:7482", false, 7382, &config).ok());
  EXPECT_TRUE(config.enabled());
  EXPECT_TRUE(config.join);
  EXPECT_TRUE(config.peers.empty());
  EXPECT_EQ(config.raft_bind, "127.0.0.1:7482");
  EXPECT_EQ(config.resp_address, "127.0.0.1:7382");
  EXPECT_EQ(JoinError(true, 4, true, "127.0.0.1:7482", true),
            "--join and --peers exclude each other: --peers bootstraps a new group, --join "
            "waits to be added to a running one (CLUSTER ADDNODE)");
  EXPECT_EQ(JoinError(false, 0, true, "127.0.0.1:7482", false),
            "--join needs --node-id and --raft-bind");
  EXPECT_EQ(JoinError(true, 4, false, "", false), "--join needs --node-id and --raft-bind");
  EXPECT_EQ(JoinError(true, 0, true, "127.0.0.1:7482", false),
            "--node-id must be a positive integer");
  EXPECT_EQ(JoinError(true, 4, true, "127.0.0.1", false),
            "--raft-bind '127.0.0.1' is not host:port (port 1-65535)");
}

TEST(ReplicationConfigTest, PeersGiveThisNodesRespAddress) {
  ReplicationConfig config;
  ASSERT_TRUE(ParseReplication(true, 2, true, "127.0.0.1:7480", true, kThree, 7380, &config).ok());
  EXPECT_EQ(config.resp_address, "127.0.0.1:7380");
  EXPECT_FALSE(config.join);
}

TEST(ReplicationConfigTest, MemberAddress) {
  PeerConfig peer;
  ASSERT_TRUE(ParseMemberAddress("127.0.0.1:7382@127.0.0.1:7482", &peer).ok());
  EXPECT_EQ(peer.resp_address(), "127.0.0.1:7382");
  EXPECT_EQ(peer.raft_address(), "127.0.0.1:7482");
  auto error = [](std::string_view text) {
    PeerConfig p;
    base::Status status = ParseMemberAddress(text, &p);
    return status.ok() ? "" : status.message();
  };
  EXPECT_EQ(error("127.0.0.1:7382"),
            "address '127.0.0.1:7382' is not resp-host:resp-port@raft-host:raft-port");
  EXPECT_EQ(error("127.0.0.1@127.0.0.1:7482"),
            "address '127.0.0.1@127.0.0.1:7482': the RESP address must be host:port (port "
            "1-65535)");
  EXPECT_EQ(error("127.0.0.1:1@127.0.0.1:70000"),
            "address '127.0.0.1:1@127.0.0.1:70000': the raft address must be host:port (port "
            "1-65535)");
  EXPECT_EQ(error("a:1@b:2@c:3"),
            "address 'a:1@b:2@c:3': the raft address must be host:port (port 1-65535)");
}

}  // namespace
}  // namespace exactly::server
