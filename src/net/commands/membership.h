// CLUSTER ADDNODE | PROMOTE | REMOVENODE | FAILOVER (commands/membership.cc).
// Internal to net/.
//
// The subcommands are rows of the same shape as the CLUSTER family's other
// subcommands (name, arity with CLUSTER and the subcommand counted, handler,
// syntax, summary), so they join one CLUSTER row's dispatch as one more span.
// Until the read-only subcommands share that row, MembershipCommands() is the
// CLUSTER row itself.
#pragma once

#include <span>
#include <string_view>

#include "net/command_table.h"

namespace exactly::net {

struct MembershipSubcommand {
  std::string_view name;  // upper case, e.g. "ADDNODE"
  int arity;              // Redis convention, CLUSTER and the subcommand counted
  HandleFn handle;        // defers its reply until the server has answered
  std::string_view syntax;
  std::string_view summary;
};

// ADDNODE, PROMOTE, REMOVENODE, FAILOVER; each hands the request to
// ServerView::ChangeMembership and answers once the change is committed.
std::span<const MembershipSubcommand> ClusterMembershipSubcommands();
// The CLUSTER row, dispatching to the subcommands above.
std::span<const CommandSpec> MembershipCommands();

}  // namespace exactly::net
