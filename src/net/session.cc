// Dispatch of one request to its row's handler, the MULTI queue, and the
// handlers of the connection's own commands.
#include "net/session.h"

#include <fmt/format.h>

#include <utility>
#include <vector>

#include "base/version.h"
#include "core/limits.h"
#include "core/record_codec.h"
#include "net/acl.h"
#include "net/args.h"
#include "net/errors.h"

namespace exactly::net {
namespace {

// What a group adds to a record beyond its sub-commands (RecordBytesBound of an
// empty group).
const size_t kGroupHeadBytes = core::RecordBytesBound(core::cmd::Group());

// A command between MULTI and EXEC: a data command is parsed and queued; anything
// else is refused. Either refusal dooms the EXEC.
void Queue(Call& call) {
  Connection& connection = call.connection;
  if ((call.spec.flags & kConnection) != 0) {
    call.reply().Error(kCodeErr, ErrNotInMulti(call.spec.name));
    connection.multi_failed = true;
    return;
  }
  if (connection.multi_queue.size() >= core::kGroupCommandsMax) {
    call.reply().Error(kCodeErr, ErrGroupCommands());
    connection.multi_failed = true;
    return;
  }
  ParsedCommand parsed = call.spec.parse(call.args);
  if (!parsed.error.empty()) {
    call.reply().Error(kCodeErr, parsed.error);
    connection.multi_failed = true;
    return;
  }
  // Refused now, not at EXEC, so nothing of the group runs (Redis does the same).
  if (std::string refusal = KeyRefusal(*connection.user, parsed.command); !refusal.empty()) {
    call.reply().Error(kCodeNoPerm, refusal);
    connection.multi_failed = true;
    return;
  }
  // The group becomes one journal record: refuse the command that would take it
  // past the record maximum now, rather than the whole group at EXEC.
  const size_t record_bytes =
      connection.multi_record_bytes + core::RecordBytesBound(parsed.command);
  if (record_bytes > core::kRecordBytesMax - core::kRecordHeadBytesMax - kGroupHeadBytes) {
    call.reply().Error(kCodeErr, ErrGroupTooLarge(record_bytes, core::kRecordBytesMax));
    connection.multi_failed = true;
    return;
  }
  connection.multi_record_bytes = record_bytes;
  connection.multi_queue.push_back(std::move(parsed.command));
  call.reply().Simple("QUEUED");
}

// The checks of a connection whose user is not unrestricted (or that has none
// yet): false, with the slot filled with the refusal, if `spec` may not run. Keys
// are checked once the command is parsed (Queue, RunDataCommand).
bool Admit(Connection& connection, uint64_t slot, const CommandSpec& spec,
           std::span<const std::string_view> args) {
  if ((spec.flags & kNoAuth) != 0) return true;
  if (connection.user == nullptr) {
    connection.FillError(slot, kCodeNoAuth, ErrNoAuth());
    return false;
  }
  // ACL WHOAMI tells only the caller's own name: every user may ask it.
  if (spec.name == "ACL" && args.size() == 2 && KeywordIs(args[1], "WHOAMI")) return true;
  if (std::string refusal = CommandRefusal(*connection.user, spec); !refusal.empty()) {
    connection.FillError(slot, kCodeNoPerm, refusal);
    if (connection.in_multi) connection.multi_failed = true;
    return false;
  }
  return true;
}

}  // namespace

Call::Call(ServerView& server, Connection& connection, uint64_t slot, const CommandSpec& spec,
           std::span<const std::string_view> args)
    : server(server),
      connection(connection),
      slot(slot),
      spec(spec),
      args(args),
      writer_(&bytes_, connection.protocol) {}

void Call::UseProtocol(int protocol) {
  bytes_.clear();
  writer_ = RespWriter(&bytes_, protocol);
}

void Call::Send() {
  answered_ = true;
  connection.Fill(slot, Lsn{0}, bytes_);
}

void Call::Submit(core::Command&& command) {
  answered_ = true;
  server.Submit(connection, slot, std::move(command));
}

void RunCommand(ServerView& server, Connection& connection, uint64_t slot,
                std::span<const std::string_view> args) {
  const CommandSpec* spec = FindCommand(args[0]);
  if (spec == nullptr) {
    connection.FillError(slot, kCodeErr, ErrUnknownCommand(args[0], args.subspan(1)));
    if (connection.in_multi) connection.multi_failed = true;
    return;
  }
  connection.last_command = spec->name;
  if (std::string arity = CheckArity(*spec, args.size()); !arity.empty()) {
    connection.FillError(slot, kCodeErr, arity);
    if (connection.in_multi) connection.multi_failed = true;
    return;
  }
  // Without an ACL file every authenticated user is unrestricted: one load and
  // one branch on the request path.
  if (const User* user = connection.user; user == nullptr || !user->unrestricted) [[unlikely]] {
    if (!Admit(connection, slot, *spec, args)) return;
  }
  Call call(server, connection, slot, *spec, args);
  if (connection.in_multi && (spec->flags & kGroupControl) == 0) {
    Queue(call);
  } else {
    spec->handle(call);
  }
  if (!call.answered()) call.Send();
}

void RunDataCommand(Call& call) {
  ParsedCommand parsed = call.spec.parse(call.args);
  if (!parsed.error.empty()) {
    call.reply().Error(kCodeErr, parsed.error);
    return;
  }
  if (!call.connection.user->all_keys) [[unlikely]] {
    if (std::string refusal = KeyRefusal(*call.connection.user, parsed.command); !refusal.empty()) {
      call.reply().Error(kCodeNoPerm, refusal);
      return;
    }
  }
  call.Submit(std::move(parsed.command));
}

void HandlePing(Call& call) {
  if (call.args.size() > 1) {
    call.reply().Bulk(call.args[1]);
  } else {
    call.reply().Simple("PONG");
  }
}

void HandleEcho(Call& call) { call.reply().Bulk(call.args[1]); }

void HandleQuit(Call& call) {
  call.reply().Simple("OK");
  call.Send();
  call.connection.CloseAfterReplies();
}

void HandleSelect(Call& call) {
  if (call.args[1] == "0") {
    call.reply().Simple("OK");
  } else {
    call.reply().Error(kCodeErr, ErrSelectDb());
  }
}

// AUTH password (the user `default`), or AUTH username password. A failed AUTH
// leaves the connection's user as it was.
void HandleAuth(Call& call) {
  const Acl& acl = call.server.Users();
  if (call.args.size() > 3) {
    call.reply().Error(kCodeErr, ErrSyntax());
    return;
  }
  const std::string_view password = call.args.back();
  const std::string_view name = call.args.size() == 3 ? call.args[1] : "default";
  if (call.args.size() == 2 && acl.OpenUser() != nullptr) {
    call.reply().Error(kCodeErr, ErrAuthNotConfigured());
  } else if (const User* user = acl.Authenticate(name, password); user != nullptr) {
    call.connection.user = user;
    call.reply().Simple("OK");
  } else {
    call.reply().Error(kCodeWrongPass, ErrWrongPass());
  }
}

// HELLO [2|3] [AUTH user password] [SETNAME name]: nothing changes unless all of
// it is accepted.
void HandleHello(Call& call) {
  Connection& connection = call.connection;
  const std::span<const std::string_view> args = call.args;
  int protocol = connection.protocol;
  size_t i = 1;
  if (args.size() > 1) {
    if (args[1] == "2") {
      protocol = 2;
    } else if (args[1] == "3") {
      protocol = 3;
    } else {
      call.reply().Error(kCodeNoProto, ErrProtocolVersion());
      return;
    }
    i = 2;
  }
  enum class Refusal { kNone, kWrongPass, kSyntax };
  Refusal refusal = Refusal::kNone;
  std::string new_name = connection.name;
  const User* user = connection.user;
  for (; i < args.size() && refusal == Refusal::kNone; ++i) {
    if (KeywordIs(args[i], "AUTH") && i + 2 < args.size()) {
      if (const User* named = call.server.Users().Authenticate(args[i + 1], args[i + 2])) {
        user = named;
      } else {
        refusal = Refusal::kWrongPass;
      }
      i += 2;
    } else if (KeywordIs(args[i], "SETNAME") && i + 1 < args.size()) {
      new_name = std::string(args[i + 1]);
      i += 1;
    } else {
      refusal = Refusal::kSyntax;
    }
  }
  if (refusal == Refusal::kWrongPass) {
    call.reply().Error(kCodeWrongPass, ErrWrongPass());
    return;
  }
  if (refusal == Refusal::kSyntax) {
    call.reply().Error(kCodeErr, ErrHelloSyntax());
    return;
  }
  if (user == nullptr) {
    call.reply().Error(kCodeNoAuth, ErrHelloNoAuth());
    return;
  }
  connection.protocol = protocol;
  connection.user = user;
  connection.name = std::move(new_name);
  call.UseProtocol(protocol);
  RespWriter& hello = call.reply();
  hello.MapHeader(7);
  hello.Bulk("server");
  hello.Bulk("exactly");
  hello.Bulk("version");
  hello.Bulk(base::kVersion);
  hello.Bulk("proto");
  hello.Integer(protocol);
  hello.Bulk("id");
  hello.Integer(static_cast<int64_t>(connection.id()));
  hello.Bulk("mode");
  hello.Bulk("standalone");
  hello.Bulk("role");
  hello.Bulk("master");
  hello.Bulk("modules");
  hello.ArrayHeader(0);
}

// ACL WHOAMI | USERS | LIST | CAT [category]: the ACL is read-only while the
// server runs (docs/acl.md), so there is nothing to set.
void HandleAcl(Call& call) {
  const std::span<const std::string_view> args = call.args;
  const std::string_view sub = args[1];
  RespWriter& reply = call.reply();
  if (KeywordIs(sub, "WHOAMI") && args.size() == 2) {
    reply.Bulk(call.connection.user->name);
  } else if (KeywordIs(sub, "USERS") && args.size() == 2) {
    const std::span<const User> users = call.server.Users().users();
    reply.ArrayHeader(users.size());
    for (const User& user : users) reply.Bulk(user.name);
  } else if (KeywordIs(sub, "LIST") && args.size() == 2) {
    const std::span<const User> users = call.server.Users().users();
    reply.ArrayHeader(users.size());
    for (const User& user : users) reply.Bulk(fmt::format("user {} {}", user.name, user.rules));
  } else if (KeywordIs(sub, "CAT") && args.size() == 2) {
    reply.ArrayHeader(AclCategories().size());
    for (const AclCategory& category : AclCategories()) reply.Bulk(category.name);
  } else if (KeywordIs(sub, "CAT") && args.size() == 3) {
    std::string asked(args[2]);
    for (char& c : asked) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    std::string_view category;
    for (const AclCategory& known : AclCategories()) {
      if (asked == known.name) category = known.name;
    }
    if (category.empty()) {
      reply.Error(kCodeErr, ErrAclCategory(args[2]));
      return;
    }
    std::vector<std::string> names;
    for (const CommandSpec& row : AllCommands()) {
      if (!InCategory(row, category)) continue;
      std::string& name = names.emplace_back(row.name);
      for (char& c : name) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    }
    reply.ArrayHeader(names.size());
    for (const std::string& name : names) reply.Bulk(name);
  } else {
    reply.Error(kCodeErr, ErrAclSubcommand(sub));
  }
}

void HandleConfig(Call& call) {
  // Tools such as redis-benchmark probe CONFIG GET; exactly is configured by its
  // flags, so it names no parameters rather than failing the probe.
  if (KeywordIs(call.args[1], "GET") && call.args.size() == 3) {
    call.reply().MapHeader(0);
  } else {
    call.reply().Error(kCodeErr, ErrConfigSubcommand());
  }
}

void HandleWatch(Call& call) { call.reply().Error(kCodeErr, ErrWatch()); }

void HandleCommand(Call& call) { WriteCommandReply(call.reply(), call.args); }

void HandleSnapshot(Call& call) {
  const SnapshotStart started = call.server.StartSnapshot();
  switch (started.status) {
    case SnapshotStart::Status::kStarted:
      call.reply().Simple(fmt::format("snapshot started at lsn {}", started.lsn.value));
      return;
    case SnapshotStart::Status::kRunning:
      call.reply().Error(kCodeErr, ErrSnapshotRunning());
      return;
    case SnapshotStart::Status::kForkFailed:
      call.reply().Error(kCodeErr, ErrSnapshotFork());
      return;
    case SnapshotStart::Status::kReplicated:
      call.reply().Error(kCodeErr, ErrSnapshotReplicated());
      return;
  }
}

void HandleShutdown(Call& call) {
  call.reply().Simple("OK");
  call.Send();
  call.server.RequestShutdown();
}

void HandleMulti(Call& call) {
  Connection& connection = call.connection;
  if (connection.in_multi) {
    call.reply().Error(kCodeErr, ErrNestedMulti());
    return;
  }
  connection.in_multi = true;
  connection.multi_failed = false;
  connection.multi_queue.clear();
  connection.multi_record_bytes = 0;
  call.reply().Simple("OK");
}

void HandleExec(Call& call) {
  Connection& connection = call.connection;
  if (!connection.in_multi) {
    call.reply().Error(kCodeErr, ErrExecWithoutMulti());
    return;
  }
  connection.in_multi = false;
  std::vector<core::Command> queued = std::move(connection.multi_queue);
  connection.multi_queue.clear();
  if (connection.multi_failed) {
    call.reply().Error(kCodeExecAbort, ErrExecAbort());
    return;
  }
  core::Command group = core::cmd::Group();
  group.group = std::move(queued);
  call.Submit(std::move(group));
}

void HandleDiscard(Call& call) {
  Connection& connection = call.connection;
  if (!connection.in_multi) {
    call.reply().Error(kCodeErr, ErrDiscardWithoutMulti());
    return;
  }
  connection.in_multi = false;
  connection.multi_queue.clear();
  call.reply().Simple("OK");
}

}  // namespace exactly::net
