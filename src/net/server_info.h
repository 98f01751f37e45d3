// The commands that report on the server and its clients: INFO, DBSIZE and
// CLIENT (ID, SETNAME, GETNAME, SETINFO, INFO, LIST, KILL). Their facts come from
// ServerView (net/server_view.h); the text is Redis's shape, so redis-cli --stat,
// monitoring tools and client libraries read it.
//
// Thread-safety: none; everything runs on the event-loop thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/engine.h"
#include "net/connection.h"
#include "net/server_view.h"

namespace exactly::net {

struct Call;

// DBSIZE and INFO's keyspace line: records across the tables.
size_t Records(const core::EngineStats& tables);

// INFO's text for `section` (any case; empty, "all" or "everything" for every
// section; an unknown one gives ""). Memory facts are read only when shown.
bool InfoShowsMemory(std::string_view section);
std::string InfoText(const ServerFacts& facts, std::string_view section);
// INFO digest's text: `applied_lsn`, `state_digest` (16 hex digits), and in replicated
// mode `committed_lsn` and `committed_digest`.
std::string DigestText(const StateDigests& digests);

// CLIENT LIST's line for one connection, ages measured at `now_ms` (monotonic).
std::string ClientLine(const Connection& connection, int64_t now_ms);

// The rows' handlers (net/commands/server.cc names them).
void HandleInfo(Call& call);
void HandleDbSize(Call& call);
void HandleClient(Call& call);

}  // namespace exactly::net
