// Server and connection commands: rows only. These never reach the engine, so they
// have no parse fn; each names its handler (net/session.h, net/server_info.h).
#include "net/commands/families.h"
#include "net/server_info.h"
#include "net/session.h"

namespace exactly::net {
namespace {

constexpr uint32_t kSession = kConnection | kNoMulti;

constexpr CommandSpec kRows[] = {
    {"PING", -1, kConnection, nullptr, "PING [message]", "Answer PONG, or echo message.", 0, 0, 0,
     HandlePing},
    {"ECHO", 2, kConnection, nullptr, "ECHO message", "Answer message.", 0, 0, 0, HandleEcho},
    {"HELLO", -1, kSession | kNoAuth, nullptr,
     "HELLO [2|3] [AUTH username password] [SETNAME name]",
     "Choose the protocol (RESP2 or RESP3), authenticate and name the connection.", 0, 0, 0,
     HandleHello},
    {"AUTH", -2, kSession | kNoAuth, nullptr, "AUTH [username] password",
     "Authenticate the connection as a user of --aclfile (or default, --requirepass).", 0, 0, 0,
     HandleAuth},
    {"ACL", -2, kSession | kAdmin, nullptr, "ACL WHOAMI | USERS | LIST | CAT [category]",
     "The connection's user, the users, their rules and the categories (--aclfile); WHOAMI "
     "needs no permission.",
     0, 0, 0, HandleAcl},
    {"CLIENT", -2, kSession | kAdmin, nullptr,
     "CLIENT SETNAME name | GETNAME | ID | SETINFO attr value | INFO | LIST [ID id [id ...]] | "
     "KILL ip:port | KILL [ID id] [ADDR ip:port] [SKIPME yes|no]",
     "Name the connection, ask about it, list the connections or close some.", 0, 0, 0,
     HandleClient},
    {"DBSIZE", 1, kSession, nullptr, "DBSIZE",
     "The number of records across the tables: claims, accounts, remembered transfers, "
     "locks, IDEM keys and limit keys.",
     0, 0, 0, HandleDbSize},
    {"SELECT", 2, kSession, nullptr, "SELECT 0", "Accepted for client compatibility: only 0.", 0, 0,
     0, HandleSelect},
    {"CONFIG", -2, kSession, nullptr, "CONFIG GET pattern",
     "Accepted for client compatibility: answers no parameters (configure with flags).", 0, 0, 0,
     HandleConfig},
    {"INFO", -1, kConnection, nullptr, "INFO [section]",
     "Server, table sizes and limits, durability and client statistics.", 0, 0, 0, HandleInfo},
    {"COMMAND", -1, kSession, nullptr,
     "COMMAND [COUNT|LIST|INFO name...|DOCS [name...]|GETKEYS command [arg [arg ...]]]",
     "Describe the commands, for client libraries and redis-cli.", 0, 0, 0, HandleCommand},
    {"QUIT", -1, kSession | kNoAuth, nullptr, "QUIT",
     "Answer OK once earlier replies are sent, then close.", 0, 0, 0, HandleQuit},
    {"MULTI", 1, kSession | kGroupControl, nullptr, "MULTI",
     "Start an atomic group: following commands are queued until EXEC.", 0, 0, 0, HandleMulti},
    {"EXEC", 1, kConnection | kGroupControl, nullptr, "EXEC",
     "Apply the queued commands all or none; one reply per queued command, in order.", 0, 0, 0,
     HandleExec},
    {"DISCARD", 1, kConnection | kGroupControl, nullptr, "DISCARD", "Drop the queued commands.", 0,
     0, 0, HandleDiscard},
    {"WATCH", -2, kSession, nullptr, "WATCH key [key ...]",
     "Not offered: exactly has no optimistic transactions; guard a group with IFLOCK.", 0, 0, 0,
     HandleWatch},
    {"UNWATCH", 1, kSession, nullptr, "UNWATCH",
     "Not offered: exactly has no optimistic transactions; guard a group with IFLOCK.", 0, 0, 0,
     HandleWatch},
    {"SNAPSHOT", 1, kSession | kAdmin, nullptr, "SNAPSHOT",
     "Write a snapshot of the whole state now, so older log segments can go.", 0, 0, 0,
     HandleSnapshot},
    {"SHUTDOWN", -1, kSession | kAdmin, nullptr, "SHUTDOWN",
     "Finish the durable replies, stop accepting and exit.", 0, 0, 0, HandleShutdown},
};

}  // namespace

std::span<const CommandSpec> ServerCommands() { return kRows; }

}  // namespace exactly::net
