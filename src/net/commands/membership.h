// CLUSTER ADDNODE | PROMOTE | REMOVENODE | FAILOVER (commands/membership.cc).
// Internal to net/: the CLUSTER row's handler sends these subcommands here.
#pragma once

#include <span>
#include <string_view>

#include "net/command_table.h"
#include "net/session.h"

namespace exactly::net {

// Whether CLUSTER `sub` is one of the membership subcommands.
bool IsMembershipSubcommand(std::string_view sub);
// Runs CLUSTER ADDNODE | PROMOTE | REMOVENODE | FAILOVER; the reply is deferred
// until the server has committed the change (ServerView::ChangeMembership).
void HandleClusterMembership(Call& call);
// The CLUSTER row, until the read-only subcommands share it.
std::span<const CommandSpec> MembershipCommands();

}  // namespace exactly::net
