// CLUSTER's subcommands, gathered by HandleCluster (commands/cluster.cc). Internal
// to net/.
//
// Each file of subcommands exports a span of rows; HandleCluster's list of spans is
// the one dispatch point (topology: commands/cluster.cc; membership and leadership:
// commands/membership.cc).
#pragma once

#include <span>
#include <string_view>

#include "net/command_table.h"

namespace exactly::net {

struct ClusterSubcommand {
  std::string_view name;     // upper case, e.g. "SLOTS"
  int arity;                 // Redis convention, CLUSTER and the subcommand counted
  HandleFn handle;           // runs on the loop thread, answers in call.reply()
  std::string_view syntax;   // e.g. "KEYSLOT key", for CLUSTER HELP
  std::string_view summary;  // one line, for CLUSTER HELP
  // Changes the group (membership, leadership): the user must also hold every
  // @admin command (User::admin), as Redis files CLUSTER ADDSLOTS under @admin.
  bool admin = false;
};

// SLOTS, SHARDS, NODES, INFO, MYID, MYSHARDID, KEYSLOT, HELP: what cluster-aware
// clients read to find the leader (docs/replication.md, "Client routing").
std::span<const ClusterSubcommand> ClusterTopologySubcommands();
// ADDNODE, PROMOTE, REMOVENODE, FAILOVER (commands/membership.cc): admin rows that
// change the replicated group one step at a time.
std::span<const ClusterSubcommand> ClusterMembershipSubcommands();

}  // namespace exactly::net
