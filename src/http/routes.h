// Routes: the HTTP API's `POST /v1/<command>` endpoints and their JSON members,
// generated from the command table's syntax lines (net/command_docs.h), never
// listed by hand.
//
// A JSON body becomes the RESP arguments of the same command, which then go
// through net::ParseRequest like any RESP request, so a malformed body gets the
// very error text RESP would give. Member names come from the syntax:
//   a positional argument          key, owner, id, from, to, amount  → "key", ...
//   an option with a value         TTL ms → "ttl_ms", UNTIL unix-ms → "until_ms",
//                                  NOTE text → "note", PER hour|... → "per"
//   an option with several values  IFLOCK name token → "iflock_name", "iflock_token"
//   a bare option                  PERSIST → "persist": true
// A command whose alternatives start with a word (IDEM BEGIN | END | ABORT) gets
// one route per word (/v1/idem/begin); one whose alternatives start with an
// argument (LIMIT key RATE ... | LIMIT key WINDOW ...) gets one route, and the
// first option of an alternative that the body names selects it.
//
// Only data commands get routes: the connection's own commands (HELLO, MULTI,
// ...) mean nothing on HTTP. Pure functions over a table built once; thread-safe.
#pragma once

#include <boost/json/object.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "net/command_table.h"

namespace exactly::http {

// How a member's JSON value becomes argument text.
enum class MemberType {
  kString,   // a JSON string, sent as it is
  kInteger,  // a JSON integer, or a string (for values past 2^53, or a word below)
  kWord,     // a JSON string, one of `words`
  kFlag,     // true sends the option's word, false or null nothing
};

// One JSON member.
struct Member {
  std::string name;  // "ttl_ms"
  MemberType type = MemberType::kString;
  // kWord: the words allowed; kInteger: words allowed besides integers (MIN's -inf).
  std::vector<std::string> words;
  std::string value_name;  // the syntax's name of the value: "ms", "hh:mm", "text"
};

// One argument of the syntax, positional (no token) or an option (its token,
// then its members' values).
struct Option {
  std::string token;  // "TTL"; empty for a positional argument
  std::vector<Member> members;
  bool required = false;
};

struct Route {
  std::string path;     // "/v1/claim", "/v1/idem/begin"
  std::string command;  // "claim", "idem begin": the lower-case words before the arguments
  const net::CommandSpec* spec = nullptr;
  std::vector<std::string> prefix;  // the RESP words before the arguments: {"IDEM", "BEGIN"}
  // The syntax's alternatives (most commands have one), each a list of options.
  std::vector<std::vector<Option>> alternatives;
};

// Every route, in command table order.
std::span<const Route> AllRoutes();
// The route at `path` ("/v1/claim"), any case; nullptr if there is none.
const Route* FindRoute(std::string_view path);

// The RESP arguments (the command's words first) of `body` for `route`, in the
// syntax's order. On failure returns false with the error text (net/errors.h) in
// `error`: a member of the wrong JSON type, an unknown or missing member. Values
// are not checked here: net::ParseRequest does that, with RESP's words.
bool ArgsFromJson(const Route& route, const boost::json::object& body,
                  std::vector<std::string>* args, std::string* error);

// ArgsFromJson, then net::ParseRequest: the engine command of `body`, or the
// error text (RESP's own for a bad value) in `error`.
net::ParsedCommand CommandFromJson(const Route& route, const boost::json::object& body);

// MULTI ... EXEC over HTTP (POST /v1/multi): {"commands": [{"command": "claim",
// <claim's members>}, {"command": "idem/begin", ...}, ...]} becomes one group
// command, all or none, as EXEC applies it. A bad element refuses the whole group
// with its error, prefixed by its position.
inline constexpr std::string_view kGroupPath = "/v1/multi";
net::ParsedCommand GroupFromJson(const boost::json::object& body);

}  // namespace exactly::http
