// Session: one request from its arguments to its row's handler, and the handlers
// of the commands about the connection itself (PING, ECHO, QUIT, SELECT, AUTH,
// HELLO, ACL, CONFIG, WATCH, COMMAND, SNAPSHOT, SHUTDOWN, MULTI/EXEC/DISCARD).
//
// RunCommand looks the command up, checks its arity, the connection's
// authentication and its user's ACL rules (net/acl.h), and queues it while the connection is inside
// MULTI; otherwise the row's handler runs. Data rows share RunDataCommand (parse, then submit to
// the server's next batch); a kConnection row's handler answers on the loop
// thread, in its slot's order, without a batch. What the server alone knows
// comes through ServerView (net/server_view.h). INFO, DBSIZE and CLIENT are in
// net/server_info.h.
//
// Thread-safety: none; everything runs on the event-loop thread.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/command.h"
#include "net/command_table.h"
#include "net/connection.h"
#include "net/resp_writer.h"
#include "net/server_view.h"

namespace exactly::net {

// One request in its row's handler: what was asked, of which connection, and the
// reply being written. Not copyable: the writer points into the call.
struct Call {
  Call(ServerView& server, Connection& connection, uint64_t slot, const CommandSpec& spec,
       std::span<const std::string_view> args);
  Call(const Call&) = delete;
  Call& operator=(const Call&) = delete;

  // The reply, in the connection's protocol (the new one after UseProtocol).
  RespWriter& reply() { return writer_; }
  // Drops what was written and writes on in `protocol` (HELLO's reply).
  void UseProtocol(int protocol);
  // Fills the slot with the reply written, releasable at once. RunCommand sends
  // it after the handler unless the handler has, or has submitted the slot.
  void Send();
  // Hands the slot to the server with a command for the engine, which answers it.
  void Submit(core::Command&& command);
  bool answered() const { return answered_; }
  // The handler fills the slot itself later (connection.Fill, then Release): a
  // reply that waits for the server, outside any batch.
  void Defer() { answered_ = true; }

  ServerView& server;
  Connection& connection;
  const uint64_t slot;
  const CommandSpec& spec;
  const std::span<const std::string_view> args;  // args[0] is the name as sent

 private:
  std::string bytes_;
  RespWriter writer_;
  bool answered_ = false;
};

// Runs one command of `connection` that took reply slot `slot`; args point into
// the connection's input and are valid only during the call. The slot is filled
// before it returns, unless it went to ServerView::Submit.
void RunCommand(ServerView& server, Connection& connection, uint64_t slot,
                std::span<const std::string_view> args);

// The handler of every data row: runs its parse fn, answers the error or submits
// the command.
void RunDataCommand(Call& call);

// The kConnection rows' handlers (net/commands/server.cc names them).
void HandlePing(Call& call);
void HandleEcho(Call& call);
void HandleQuit(Call& call);
void HandleSelect(Call& call);
void HandleAuth(Call& call);
void HandleHello(Call& call);
void HandleAcl(Call& call);
void HandleConfig(Call& call);
void HandleWatch(Call& call);  // WATCH and UNWATCH: not offered
void HandleCommand(Call& call);
void HandleSnapshot(Call& call);
void HandleShutdown(Call& call);
void HandleMulti(Call& call);
void HandleExec(Call& call);
void HandleDiscard(Call& call);

}  // namespace exactly::net
