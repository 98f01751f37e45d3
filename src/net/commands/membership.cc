// CLUSTER ADDNODE, PROMOTE, REMOVENODE and FAILOVER: the replicated group's
// membership, one change at a time, and leadership transfer before a planned stop
// (docs/replication.md). The arguments are checked here; the server checks them
// against the configuration and answers once the change is committed.
#include <charconv>
#include <memory>
#include <utility>

#include "net/args.h"
#include "net/commands/cluster.h"
#include "net/errors.h"
#include "net/resp_writer.h"
#include "net/session.h"

namespace exactly::net {
namespace {

// A member id: a positive decimal integer.
bool ParseMemberId(std::string_view text, uint64_t* id) {
  if (text.empty() || text[0] == '0') return false;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), *id);
  return error == std::errc() && end == text.data() + text.size();
}

std::string BadId(std::string_view text) {
  return "node id '" + std::string(text) + "' is not a positive integer";
}

// Hands `request` to the server; the slot is filled once it answers (the change
// committed, or refused), in order with the connection's other replies.
void Change(Call& call, const MembershipRequest& request) {
  call.Defer();
  std::shared_ptr<Connection> connection = call.connection.shared_from_this();
  const uint64_t slot = call.slot;
  call.server.ChangeMembership(request, [connection, slot](const MembershipReply& reply) {
    if (connection->closed()) return;
    if (reply.code.empty()) {
      std::string bytes;
      RespWriter writer(&bytes, connection->protocol);
      writer.Simple("OK");
      connection->Fill(slot, Lsn{0}, bytes);
    } else {
      connection->FillError(slot, reply.code, reply.message);
    }
    connection->Release();
  });
}

// CLUSTER ADDNODE id resp-host:resp-port@raft-host:raft-port
void HandleAddNode(Call& call) {
  MembershipRequest request;
  request.kind = MembershipRequest::Kind::kAddNode;
  if (!ParseMemberId(call.args[2], &request.id)) {
    call.reply().Error(kCodeErr, BadId(call.args[2]));
    return;
  }
  request.address = std::string(call.args[3]);
  Change(call, request);
}

// CLUSTER PROMOTE id | REMOVENODE id
void HandleMemberChange(Call& call, MembershipRequest::Kind kind) {
  MembershipRequest request;
  request.kind = kind;
  if (!ParseMemberId(call.args[2], &request.id)) {
    call.reply().Error(kCodeErr, BadId(call.args[2]));
    return;
  }
  Change(call, request);
}

void HandlePromote(Call& call) { HandleMemberChange(call, MembershipRequest::Kind::kPromote); }

void HandleRemoveNode(Call& call) {
  HandleMemberChange(call, MembershipRequest::Kind::kRemoveNode);
}

// CLUSTER FAILOVER [TO id]
void HandleFailover(Call& call) {
  MembershipRequest request;
  request.kind = MembershipRequest::Kind::kFailover;
  if (call.args.size() != 2) {
    if (call.args.size() != 4 || !KeywordIs(call.args[2], "TO")) {
      call.reply().Error(kCodeErr, ErrSyntax());
      return;
    }
    if (!ParseMemberId(call.args[3], &request.id)) {
      call.reply().Error(kCodeErr, BadId(call.args[3]));
      return;
    }
  }
  Change(call, request);
}

constexpr ClusterSubcommand kMembership[] = {
    {"ADDNODE", 4, HandleAddNode, "ADDNODE id resp-host:resp-port@raft-host:raft-port",
     "Add a node started with --join, as a standby that receives the log.", true},
    {"PROMOTE", 3, HandlePromote, "PROMOTE id",
     "Make a standby a voter once its log has caught up.", true},
    {"REMOVENODE", 3, HandleRemoveNode, "REMOVENODE id",
     "Remove a member from the group (not the leader: FAILOVER first).", true},
    {"FAILOVER", -2, HandleFailover, "FAILOVER [TO id]",
     "Hand leadership to a voter (any, without TO) before a planned stop.", true},
};

}  // namespace

std::span<const ClusterSubcommand> ClusterMembershipSubcommands() { return kMembership; }

}  // namespace exactly::net
