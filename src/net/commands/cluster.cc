// Cluster family: CLUSTER's topology subcommands, READONLY and READWRITE, so that
// cluster-aware Redis clients find the leader by themselves (docs/replication.md,
// "Client routing").
//
// The group is described as Redis Cluster describes one shard: every slot
// (0-16383) served by one master, the raft leader, the other voters its replicas,
// the raft term as the epoch and a voter's raft address as its cluster bus port
// (`ip:port@cport`). A single node describes itself as a cluster of one, at the
// address the client reached, so the same client code runs against both modes.
#include "net/commands/cluster.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <string>
#include <vector>

#include "net/acl.h"
#include "net/args.h"
#include "net/cluster_slot.h"
#include "net/commands/families.h"
#include "net/connection.h"
#include "net/errors.h"
#include "net/server_view.h"
#include "net/session.h"

namespace exactly::net {
namespace {

constexpr uint32_t kSession = kConnection | kNoMulti;

// Every span of subcommands HandleCluster dispatches to: the one place a new file of
// CLUSTER subcommands joins.
std::array<std::span<const ClusterSubcommand>, 2> SubcommandSpans() {
  return {ClusterTopologySubcommands(), ClusterMembershipSubcommands()};
}

struct Node {
  uint64_t id = 0;
  std::string ip;
  int64_t port = 0;
  int64_t cport = 0;  // the raft port; 0 on a single node
  bool myself = false;
  int64_t offset = 0;  // applied index (myself) or match index (known on the leader)
};

// What this node knows of its group at one moment.
struct Topology {
  std::vector<Node> nodes;  // the master first when there is one, then by id
  bool has_master = false;  // nodes[0] is the leader, now or the last one known
  bool current = false;     // ... and it leads now (not an election under way)
  uint64_t epoch = 0;       // the raft term
};

// "host:port" (or "[v6]:port") split; port 0 if it does not parse.
std::pair<std::string, int64_t> SplitAddress(std::string_view address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string_view::npos) return {std::string(address), 0};
  std::string_view host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  const std::string_view digits = address.substr(colon + 1);
  int64_t port = 0;
  std::from_chars(digits.data(), digits.data() + digits.size(), port);
  return {std::string(host), port};
}

// A Redis Cluster node id is 40 hex digits; a voter's is its raft id in hex,
// zero-padded, so every node names every other the same way without state.
std::string NodeName(uint64_t id) { return fmt::format("{:040x}", id); }

Topology Describe(Call& call) {
  const ServerFacts facts = call.server.Facts(false);
  const ReplicationFacts& r = facts.replication;
  Topology topology;
  if (!r.enabled) {
    Node self;
    self.id = 1;
    std::tie(self.ip, self.port) = SplitAddress(call.connection.local_address());
    if (self.port == 0) self.port = facts.port;
    self.myself = true;
    self.offset = static_cast<int64_t>(facts.applied_lsn.value);
    topology.nodes.push_back(std::move(self));
    topology.has_master = true;
    topology.current = true;
    return topology;
  }
  const uint64_t master = r.leader_id != 0 ? r.leader_id : r.last_leader_id;
  topology.epoch = r.term;
  for (const ReplicationFacts::Peer& peer : r.peers) {
    Node node;
    node.id = peer.id;
    std::tie(node.ip, node.port) = SplitAddress(peer.resp_address);
    node.cport = SplitAddress(peer.raft_address).second;
    node.myself = peer.id == r.node_id;
    node.offset = node.myself ? static_cast<int64_t>(r.applied_index)
                              : std::max<int64_t>(peer.match_index, 0);
    topology.nodes.push_back(std::move(node));
  }
  std::stable_sort(topology.nodes.begin(), topology.nodes.end(), [&](const Node& a, const Node& b) {
    return (a.id == master) > (b.id == master) ||
           ((a.id == master) == (b.id == master) && a.id < b.id);
  });
  topology.has_master = master != 0 && !topology.nodes.empty() && topology.nodes[0].id == master;
  topology.current = topology.has_master && r.leader_id == master;
  return topology;
}

uint64_t MyId(const Topology& topology) {
  for (const Node& node : topology.nodes) {
    if (node.myself) return node.id;
  }
  return 0;
}

// Before any leader is known there is no master to name: the slot-mapping answers
// say so as Redis Cluster does while slots are unserved.
bool RefuseWithoutMaster(Call& call, const Topology& topology) {
  if (topology.has_master) return false;
  call.reply().Error(kCodeClusterDown, ErrNoLeader());
  return true;
}

// CLUSTER SLOTS: [[0, 16383, master, replica...]], each node [ip, port, id, {}].
void HandleSlots(Call& call) {
  const Topology topology = Describe(call);
  if (RefuseWithoutMaster(call, topology)) return;
  RespWriter& w = call.reply();
  w.ArrayHeader(1);
  w.ArrayHeader(2 + topology.nodes.size());
  w.Integer(0);
  w.Integer(kClusterSlots - 1);
  for (const Node& node : topology.nodes) {
    w.ArrayHeader(4);
    w.Bulk(node.ip);
    w.Integer(node.port);
    w.Bulk(NodeName(node.id));
    w.MapHeader(0);  // no hostname or other endpoints
  }
}

// CLUSTER SHARDS: one shard, {slots: [0, 16383], nodes: [{id, port, ip, endpoint,
// role, replication-offset, health}, ...]}.
void HandleShards(Call& call) {
  const Topology topology = Describe(call);
  if (RefuseWithoutMaster(call, topology)) return;
  RespWriter& w = call.reply();
  w.ArrayHeader(1);
  w.MapHeader(2);
  w.Bulk("slots");
  w.ArrayHeader(2);
  w.Integer(0);
  w.Integer(kClusterSlots - 1);
  w.Bulk("nodes");
  w.ArrayHeader(topology.nodes.size());
  for (size_t i = 0; i < topology.nodes.size(); ++i) {
    const Node& node = topology.nodes[i];
    w.MapHeader(7);
    w.Bulk("id");
    w.Bulk(NodeName(node.id));
    w.Bulk("port");
    w.Integer(node.port);
    w.Bulk("ip");
    w.Bulk(node.ip);
    w.Bulk("endpoint");
    w.Bulk(node.ip);
    w.Bulk("role");
    w.Bulk(i == 0 ? "master" : "replica");
    w.Bulk("replication-offset");
    w.Integer(node.offset);
    w.Bulk("health");
    w.Bulk(i == 0 && !topology.current ? "failed" : "online");
  }
}

// CLUSTER NODES: Redis' text, a line per node:
// <id> <ip:port@cport> <flags> <master|-> <ping-sent> <pong-recv> <epoch> <link> [slots]
// The last known leader, while no node leads, is flagged `fail?` (suspected).
std::string NodesText(const Topology& topology) {
  std::string text;
  for (size_t i = 0; i < topology.nodes.size(); ++i) {
    const Node& node = topology.nodes[i];
    const bool master = i == 0;
    std::string flags = node.myself ? "myself," : "";
    flags += master ? "master" : "slave";
    if (master && !topology.current) flags += ",fail?";
    text +=
        fmt::format("{} {}:{}@{} {} {} 0 0 {} connected{}\n", NodeName(node.id), node.ip, node.port,
                    node.cport, flags, master ? std::string("-") : NodeName(topology.nodes[0].id),
                    topology.epoch, master ? fmt::format(" 0-{}", kClusterSlots - 1) : "");
  }
  return text;
}

void HandleNodes(Call& call) {
  const Topology topology = Describe(call);
  if (RefuseWithoutMaster(call, topology)) return;
  call.reply().Bulk(NodesText(topology));
}

// CLUSTER INFO: Redis' fields. `ok` while a leader is known; `fail` during an
// election (clients that check it, such as ioredis at connect, then retry).
std::string ClusterInfoText(const Topology& topology) {
  const int64_t slots = topology.has_master ? kClusterSlots : 0;
  return fmt::format(
      "cluster_state:{}\r\ncluster_slots_assigned:{}\r\ncluster_slots_ok:{}\r\n"
      "cluster_slots_pfail:{}\r\ncluster_slots_fail:0\r\ncluster_known_nodes:{}\r\n"
      "cluster_size:{}\r\ncluster_current_epoch:{}\r\ncluster_my_epoch:{}\r\n"
      "cluster_stats_messages_sent:0\r\ncluster_stats_messages_received:0\r\n"
      "total_cluster_links_buffer_limit_exceeded:0\r\n",
      topology.current ? "ok" : "fail", slots, topology.current ? slots : 0,
      topology.current ? 0 : slots, topology.nodes.size(), topology.has_master ? 1 : 0,
      topology.epoch, topology.epoch);
}

void HandleClusterInfo(Call& call) { call.reply().Bulk(ClusterInfoText(Describe(call))); }

void HandleMyId(Call& call) { call.reply().Bulk(NodeName(MyId(Describe(call)))); }

// One group is one shard; its id is fixed.
void HandleMyShardId(Call& call) { call.reply().Bulk(NodeName(0)); }

void HandleKeySlot(Call& call) { call.reply().Integer(KeySlot(call.args[2])); }

void HandleClusterHelp(Call& call) {
  std::vector<std::string> lines = {
      "CLUSTER <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"};
  for (std::span<const ClusterSubcommand> span : SubcommandSpans()) {
    for (const ClusterSubcommand& row : span) {
      lines.push_back(std::string(row.syntax));
      lines.push_back("    " + std::string(row.summary));
    }
  }
  call.reply().ArrayHeader(lines.size());
  for (const std::string& line : lines) call.reply().Simple(line);
}

constexpr ClusterSubcommand kTopology[] = {
    {"SLOTS", 2, HandleSlots, "SLOTS",
     "The slot ranges and their nodes: 0-16383, the leader first, then the replicas."},
    {"SHARDS", 2, HandleShards, "SHARDS", "The shard (one group) with its slots and nodes."},
    {"NODES", 2, HandleNodes, "NODES", "The cluster configuration in Redis' text format."},
    {"INFO", 2, HandleClusterInfo, "INFO",
     "State (ok while a leader is known), slots, nodes, epoch."},
    {"MYID", 2, HandleMyId, "MYID", "This node's id (its raft id as 40 hex digits)."},
    {"MYSHARDID", 2, HandleMyShardId, "MYSHARDID", "The shard's id."},
    {"KEYSLOT", 3, HandleKeySlot, "KEYSLOT key", "The slot of key (CRC16 of it or its {tag})."},
    {"HELP", 2, HandleClusterHelp, "HELP", "Print this help."},
};

void HandleCluster(Call& call) {
  const std::string_view sub = call.args[1];
  for (std::span<const ClusterSubcommand> span : SubcommandSpans()) {
    for (const ClusterSubcommand& row : span) {
      if (!KeywordIs(sub, row.name)) continue;
      const bool fits = row.arity >= 0 ? call.args.size() == static_cast<size_t>(row.arity)
                                       : call.args.size() >= static_cast<size_t>(-row.arity);
      if (!fits) {
        call.reply().Error(kCodeErr, ErrArity("CLUSTER|" + std::string(row.name)));
        return;
      }
      if (row.admin && !call.connection.user->admin) {
        call.reply().Error(kCodeNoPerm,
                           SubcommandRefusal(*call.connection.user, "CLUSTER", row.name));
        return;
      }
      row.handle(call);
      return;
    }
  }
  call.reply().Error(kCodeErr, ErrUnknownSubcommand("CLUSTER", sub));
}

void HandleReadonly(Call& call) { call.reply().Error(kCodeErr, ErrReadonlyNotOffered()); }

void HandleReadwrite(Call& call) { call.reply().Simple("OK"); }

constexpr CommandSpec kRows[] = {
    {"CLUSTER", -2, kSession, nullptr,
     "CLUSTER SLOTS | SHARDS | NODES | INFO | MYID | MYSHARDID | KEYSLOT key | HELP | "
     "ADDNODE id resp-host:resp-port@raft-host:raft-port | PROMOTE id | REMOVENODE id | "
     "FAILOVER [TO id]",
     "Describe the group as Redis Cluster does: one shard of all 16384 slots, the leader its "
     "master, the other voters its replicas; change its members one at a time, or hand "
     "leadership over (admin).",
     0, 0, 0, HandleCluster},
    {"READONLY", 1, kSession, nullptr, "READONLY",
     "Refused: replicas never answer from their own state; reads go to the leader.", 0, 0, 0,
     HandleReadonly},
    {"READWRITE", 1, kSession, nullptr, "READWRITE",
     "Accepted for client compatibility: every connection is in this mode.", 0, 0, 0,
     HandleReadwrite},
};

}  // namespace

std::span<const ClusterSubcommand> ClusterTopologySubcommands() { return kTopology; }

std::span<const CommandSpec> ClusterCommands() { return kRows; }

}  // namespace exactly::net
