// CLUSTER ADDNODE, PROMOTE, REMOVENODE and FAILOVER: the replicated group's
// membership, one change at a time, and leadership transfer before a planned stop
// (docs/replication.md). The arguments are checked here; the server checks them
// against the configuration and answers once the change is committed.
#include "net/commands/membership.h"

#include <charconv>
#include <memory>
#include <utility>

#include "net/args.h"
#include "net/commands/families.h"
#include "net/errors.h"
#include "net/resp_writer.h"

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

std::string Usage(std::string_view sub) {
  return "wrong number of arguments for 'cluster|" + std::string(sub) + "' command";
}

// Parses the arguments into `request`; "" or the error.
std::string ParseMembership(std::span<const std::string_view> args, MembershipRequest* request) {
  const std::string_view sub = args[1];
  if (KeywordIs(sub, "ADDNODE")) {
    if (args.size() != 4) return Usage("addnode");
    request->kind = MembershipRequest::Kind::kAddNode;
    if (!ParseMemberId(args[2], &request->id)) return BadId(args[2]);
    request->address = std::string(args[3]);
    return "";
  }
  if (KeywordIs(sub, "PROMOTE") || KeywordIs(sub, "REMOVENODE")) {
    if (args.size() != 3) return Usage(KeywordIs(sub, "PROMOTE") ? "promote" : "removenode");
    request->kind = KeywordIs(sub, "PROMOTE") ? MembershipRequest::Kind::kPromote
                                              : MembershipRequest::Kind::kRemoveNode;
    if (!ParseMemberId(args[2], &request->id)) return BadId(args[2]);
    return "";
  }
  // FAILOVER [TO id]
  request->kind = MembershipRequest::Kind::kFailover;
  if (args.size() == 2) return "";
  if (args.size() != 4 || !KeywordIs(args[2], "TO")) return ErrSyntax();
  if (!ParseMemberId(args[3], &request->id)) return BadId(args[3]);
  return "";
}

constexpr CommandSpec kRows[] = {
    // The CLUSTER row; its read-only subcommands (SLOTS, NODES, ...) join it here.
    {"CLUSTER", -2, kConnection | kNoMulti | kAdmin, nullptr,
     "CLUSTER ADDNODE id resp-host:resp-port@raft-host:raft-port | PROMOTE id | "
     "REMOVENODE id | FAILOVER [TO id]",
     "Change the replicated group's members one at a time, or hand leadership over.", 0, 0, 0,
     HandleClusterMembership},
};

}  // namespace

bool IsMembershipSubcommand(std::string_view sub) {
  return KeywordIs(sub, "ADDNODE") || KeywordIs(sub, "PROMOTE") || KeywordIs(sub, "REMOVENODE") ||
         KeywordIs(sub, "FAILOVER");
}

void HandleClusterMembership(Call& call) {
  if (!IsMembershipSubcommand(call.args[1])) {
    call.reply().Error(kCodeErr, "unknown subcommand '" + std::string(call.args[1]) +
                                     "'. Try CLUSTER ADDNODE, PROMOTE, REMOVENODE or FAILOVER.");
    return;
  }
  MembershipRequest request;
  if (std::string error = ParseMembership(call.args, &request); !error.empty()) {
    call.reply().Error(kCodeErr, error);
    return;
  }
  // The reply waits for the change to commit: the slot is filled then, in order
  // with the connection's other replies.
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

std::span<const CommandSpec> MembershipCommands() { return kRows; }

}  // namespace exactly::net
