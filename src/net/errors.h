// Named errors: every refusal of a malformed or unauthorized request, worded once.
//
// Each constructor returns the message text without its code; the code constants
// below go in front (RespWriter::Error(kCodeErr, ErrSyntax())). Texts follow Redis
// where Redis has one, so client libraries map them to the same exceptions. A
// business outcome (held, insufficient, ...) is never an error.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace exactly::net {

inline constexpr std::string_view kCodeErr = "ERR";
inline constexpr std::string_view kCodeNoAuth = "NOAUTH";
inline constexpr std::string_view kCodeWrongPass = "WRONGPASS";
inline constexpr std::string_view kCodeIoErr = "IOERR";
inline constexpr std::string_view kCodeExecAbort = "EXECABORT";
inline constexpr std::string_view kCodeNoProto = "NOPROTO";
inline constexpr std::string_view kCodeOom = "OOM";
inline constexpr std::string_view kCodeDenied = "DENIED";
// An authenticated user asked for a command or key its ACL rules do not allow
// (net/acl.h builds the text).
inline constexpr std::string_view kCodeNoPerm = "NOPERM";
// Replicated mode (docs/replication.md), with Redis Cluster's codes so cluster-aware
// clients follow them: MOVED to the leader, TRYAGAIN after a lost outcome,
// CLUSTERDOWN while no leader is known.
inline constexpr std::string_view kCodeMoved = "MOVED";
inline constexpr std::string_view kCodeTryAgain = "TRYAGAIN";
inline constexpr std::string_view kCodeClusterDown = "CLUSTERDOWN";

// "unknown command 'FOO', with args beginning with: 'a' 'b'". `args` excludes the
// name; long names and arguments are cut so the reply stays small.
std::string ErrUnknownCommand(std::string_view name, std::span<const std::string_view> args);
// "unknown subcommand 'X'. Try CLIENT HELP."
std::string ErrUnknownSubcommand(std::string_view command, std::string_view subcommand);
// "wrong number of arguments for 'claim' command" (the name in lower case).
std::string ErrArity(std::string_view name);

std::string ErrSyntax();
// "syntax error, unknown option 'FOO'"
std::string ErrUnknownOption(std::string_view option);
// "syntax error, TTL needs a value"
std::string ErrMissingValue(std::string_view option);
// "syntax error, TTL given twice"
std::string ErrDuplicateOption(std::string_view option);
// "syntax error, TTL and PER cannot be combined"
std::string ErrExclusiveOptions(std::string_view first, std::string_view second);
// "syntax error, AT needs PER"
std::string ErrOptionNeeds(std::string_view option, std::string_view needed);
// "syntax error, RESERVE needs TIMEOUT ms"
std::string ErrRequiredOption(std::string_view command, std::string_view option);

// The three ways an amount is wrong, each naming what was sent.
std::string ErrAmountNotPositive(std::string_view sent);
std::string ErrAmountNotInteger(std::string_view sent);
std::string ErrAmountTooLarge(std::string_view sent);

// "<field> must be <min>..<max> bytes", e.g. "key must be 1..512 bytes".
std::string ErrLength(std::string_view field, size_t min_bytes, size_t max_bytes);
std::string ErrNoteLength();   // note must be 0..1024 bytes
std::string ErrSameAccount();  // from and to must be different accounts

// "TTL must be an integer in 1..3153600000000 (ms)" and the like.
std::string ErrIntegerRange(std::string_view option, int64_t min, int64_t max,
                            std::string_view unit);
std::string ErrPeriod();       // PER must be hour, day, week or month
std::string ErrAt();           // AT must be hh:mm, 00:00..23:59
std::string ErrTz();           // TZ must be ±hh:mm within -14:00..+14:00
std::string ErrMinBound();     // MIN must be an integer or -inf
std::string ErrMaxBound();     // MAX must be an integer or +inf
std::string ErrMinAboveMax();  // MIN must not be greater than MAX

// "token must be an unsigned 64-bit integer" (LOCK tokens, IDEM tokens, IFLOCK).
std::string ErrToken();
// "COST must not exceed BURST (or n without BURST)": such a request could never pass.
std::string ErrCostAboveCapacity();
// "response must be 0..65536 bytes" (IDEM END).
std::string ErrResponseLength();

// Framing errors: the connection answers one and closes, as Redis does.
std::string ErrInvalidMultibulkLength();
std::string ErrInvalidBulkLength();
std::string ErrExpectedBulk(char got);  // "Protocol error: expected '$', got '*'"
std::string ErrExpectedCrlf();          // after a bulk argument
std::string ErrTooManyArguments();
std::string ErrUnbalancedQuotes();  // an inline request
std::string ErrInlineTooBig();
std::string ErrInputTooBig();  // one request past the input buffer maximum

// Refusals of a client before it is taken on.
std::string ErrMaxClients();  // --maxclients connections are open
// Code DENIED: protected mode refuses a non-loopback client while no password is set.
std::string ErrProtectedMode();

// Connection and server commands.
std::string ErrNoAuth();     // "Authentication required." (code NOAUTH)
std::string ErrWrongPass();  // code WRONGPASS
std::string ErrAuthNotConfigured();
std::string ErrProtocolVersion();  // HELLO with a version other than 2 or 3 (code NOPROTO)
std::string ErrHelloSyntax();
std::string ErrHelloNoAuth();  // code NOAUTH: HELLO without AUTH before authenticating
std::string ErrSelectDb();     // only database 0 exists
// CLIENT with an unknown subcommand or the wrong arguments for one; names them all.
std::string ErrClientSubcommand(std::string_view subcommand);
// ACL with an unknown subcommand or the wrong arguments for one; names them all.
std::string ErrAclSubcommand(std::string_view subcommand);
// ACL CAT with a category that does not exist.
std::string ErrAclCategory(std::string_view category);
std::string ErrNoSuchClient();      // CLIENT KILL ip:port matched no client
std::string ErrConfigSubcommand();  // anything but CONFIG GET pattern
std::string ErrSnapshotRunning();   // SNAPSHOT while one is being written
std::string ErrSnapshotFork();      // SNAPSHOT could not fork its writer
std::string ErrShuttingDown();      // a data command or a new connection after SHUTDOWN began

// SNAPSHOT in replicated mode: the raft log takes its own snapshots.
std::string ErrSnapshotReplicated();

// Replicated mode. Code MOVED: "<slot> <leader resp-host:port>", a follower's answer
// to a data command. Code TRYAGAIN: the command's batch was in the log when
// leadership was lost, so it may or may not commit. Code CLUSTERDOWN: no leader is
// known (an election is under way), nothing was done.
std::string ErrMoved(uint16_t slot, std::string_view leader_address);
std::string ErrOutcomeUnknown();
std::string ErrNoLeader();
// COMMAND GETKEYS, Redis' texts: no such command, its arity does not fit, it has no key.
std::string ErrGetKeysUnknownCommand();
std::string ErrGetKeysArity();
std::string ErrGetKeysNoKey();
// READONLY: followers never serve reads (they would be stale), so the mode is refused.
std::string ErrReadonlyNotOffered();

// CLUSTER ADDNODE | PROMOTE | REMOVENODE | FAILOVER (docs/replication.md), code ERR
// unless said: on a single node; while stopping; while a change is pending; a change
// the library refused (`why`); code TRYAGAIN: leadership lost before the change
// committed; a transfer that did not hand over (`leader`: the leader known then).
std::string ErrMembershipSingleNode();
std::string ErrMembershipStopping();
std::string ErrMembershipPending();
std::string ErrMembershipRefused(std::string_view why);
std::string ErrMembershipUnknown();
std::string ErrFailoverNotDone(uint64_t self, uint64_t leader);

// Groups (MULTI ... EXEC).
std::string ErrExecAbort();    // code EXECABORT
std::string ErrNestedMulti();  // "MULTI calls can not be nested"
std::string ErrExecWithoutMulti();
std::string ErrDiscardWithoutMulti();
std::string ErrNotInMulti(std::string_view name);  // a connection command inside MULTI
std::string ErrGroupCommands();                    // past core::kGroupCommandsMax
// Code IOERR: the journal failed (`cause` says how). A write answered so may or may
// not be on disk: the text tells the client to retry it with the same id after
// the server is back.
std::string ErrStorageFailed(std::string_view cause);
// WATCH/UNWATCH: exactly offers no optimistic transactions; IFLOCK guards a group.
std::string ErrWatch();
// A command, or a MULTI group as a whole, that could not fit one journal record.
std::string ErrCommandTooLarge(size_t record_bytes, size_t max_bytes);
std::string ErrGroupTooLarge(size_t record_bytes, size_t max_bytes);
// Code OOM: a command that may grow the tables while memory is past --maxmemory.
std::string ErrOom(uint64_t used_bytes, uint64_t max_bytes);

// HTTP (src/http): the body and members of a request, before its arguments reach
// the command's parser, whose errors are RESP's own.
// "request body must be a JSON object: <cause>"
std::string ErrJsonBody(std::string_view cause);
// "member 'ttl_ms' must be an integer or a string of digits"
std::string ErrJsonMemberType(std::string_view member, std::string_view expected);
// "unknown member 'foo' for 'claim'"
std::string ErrUnknownMember(std::string_view member, std::string_view command);
// "member 'owner' is required"
std::string ErrMissingMember(std::string_view member);
// "no route for GET /v2/x; try POST /v1/<command> or GET /v1/openapi.json"
std::string ErrNoRoute(std::string_view method, std::string_view target);
// "malformed HTTP request: <cause>"; the connection closes after answering.
std::string ErrHttpRequest(std::string_view cause);
// POST /v1/multi: "command 2 of the group: <its error>"; nothing of the group runs.
std::string ErrGroupElement(size_t index, std::string_view error);
// Idempotency-Key: a repeat while the first request runs (409), and a repeat
// with another body or path (422), as draft-ietf-httpapi-idempotency-key-header's
// "Error Scenarios" asks.
std::string ErrIdempotencyInFlight();
std::string ErrIdempotencyMismatch();
// The console's table pages (GET /v1/tables/<table>, http/console_routes.h):
// "no table 'x'; the tables are claims, accounts, locks, idempotency, limits",
// "query parameter 'limit' must be an integer from 1 to 1000", and in replicated
// mode "table pages are not served in replicated mode".
std::string ErrUnknownTable(std::string_view name, std::string_view tables);
std::string ErrQueryParameter(std::string_view name, std::string_view expected);
std::string ErrTablesReplicated();

}  // namespace exactly::net
