// Server and connection commands: rows only. These never reach the engine; the
// server (server/, net/connection.cc) answers them, so they have no parse fn.
#include "net/commands/families.h"

namespace exactly::net {
namespace {

constexpr uint32_t kSession = kConnection | kNoMulti;

constexpr CommandSpec kRows[] = {
    {"PING", -1, kConnection, nullptr, "PING [message]", "Answer PONG, or echo message."},
    {"ECHO", 2, kConnection, nullptr, "ECHO message", "Answer message."},
    {"HELLO", -1, kSession | kNoAuth, nullptr,
     "HELLO [2|3] [AUTH username password] [SETNAME name]",
     "Choose the protocol (RESP2 or RESP3), authenticate and name the connection."},
    {"AUTH", -2, kSession | kNoAuth, nullptr, "AUTH [username] password",
     "Authenticate the connection (--requirepass)."},
    {"CLIENT", -2, kSession, nullptr,
     "CLIENT SETNAME name | GETNAME | ID | SETINFO attr value | INFO | LIST [ID id [id ...]] | "
     "KILL ip:port | KILL [ID id] [ADDR ip:port] [SKIPME yes|no]",
     "Name the connection, ask about it, list the connections or close some."},
    {"DBSIZE", 1, kSession, nullptr, "DBSIZE",
     "The number of records across the tables: claims, accounts, remembered transfers, "
     "locks, IDEM keys and limit keys."},
    {"SELECT", 2, kSession, nullptr, "SELECT 0", "Accepted for client compatibility: only 0."},
    {"CONFIG", -2, kSession, nullptr, "CONFIG GET pattern",
     "Accepted for client compatibility: answers no parameters (configure with flags)."},
    {"INFO", -1, kConnection, nullptr, "INFO [section]",
     "Server, table sizes and limits, durability and client statistics."},
    {"COMMAND", -1, kSession, nullptr, "COMMAND [COUNT|LIST|INFO name...|DOCS [name...]]",
     "Describe the commands, for client libraries and redis-cli."},
    {"QUIT", -1, kSession | kNoAuth, nullptr, "QUIT",
     "Answer OK once earlier replies are sent, then close."},
    {"MULTI", 1, kSession, nullptr, "MULTI",
     "Start an atomic group: following commands are queued until EXEC."},
    {"EXEC", 1, kConnection, nullptr, "EXEC",
     "Apply the queued commands all or none; one reply per queued command, in order."},
    {"DISCARD", 1, kConnection, nullptr, "DISCARD", "Drop the queued commands."},
    {"WATCH", -2, kSession, nullptr, "WATCH key [key ...]",
     "Not offered: exactly has no optimistic transactions; guard a group with IFLOCK."},
    {"UNWATCH", 1, kSession, nullptr, "UNWATCH",
     "Not offered: exactly has no optimistic transactions; guard a group with IFLOCK."},
    {"SNAPSHOT", 1, kSession | kAdmin, nullptr, "SNAPSHOT",
     "Write a snapshot of the whole state now, so older log segments can go."},
    {"SHUTDOWN", -1, kSession | kAdmin, nullptr, "SHUTDOWN",
     "Finish the durable replies, stop accepting and exit."},
};

}  // namespace

std::span<const CommandSpec> ServerCommands() { return kRows; }

}  // namespace exactly::net
