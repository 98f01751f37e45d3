// Routes from the command table's syntax lines (see routes.h).
#include "http/routes.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <utility>

#include "base/assert.h"
#include "core/limits.h"
#include "net/command_docs.h"
#include "net/errors.h"

namespace exactly::http {
namespace {

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// A syntax name as a JSON member name: "request-id" → "request_id".
std::string Snake(std::string_view name) {
  std::string out = Lower(name);
  std::replace(out.begin(), out.end(), '-', '_');
  return out;
}

MemberType TypeOf(const net::ArgumentSpec& arg) {
  return arg.type == "integer" ? MemberType::kInteger : MemberType::kString;
}

// An option's member: its token, with the unit last when the value is a time in
// ms (TTL ms → ttl_ms, UNTIL unix-ms → until_ms), as STYLE #4 names durations.
std::string OptionName(std::string_view token, std::string_view value) {
  std::string name = Lower(token);
  if (value == "ms" || value.ends_with("-ms")) name += "_ms";
  return name;
}

void AddOptions(const net::ArgumentSpec& arg, bool optional, std::vector<Option>* out);

// An optional group of alternatives. An alternative with a token is an option of
// its own; one without continues the option before it: `PER hour|day|week|month
// [AT hh:mm] [TZ ±hh:mm]` reads as PER's words and, after the last word, the
// options that go with PER; `MIN n|-inf` as a word MIN takes besides integers.
void AddAlternatives(const net::ArgumentSpec& oneof, std::vector<Option>* out) {
  size_t previous = SIZE_MAX;  // index in `out` of the last option with a token
  for (const net::ArgumentSpec& alternative : oneof.arguments) {
    if (!alternative.token.empty()) {
      AddOptions(alternative, /*optional=*/true, out);
      previous = out->size() - 1;
      continue;
    }
    EXACTLY_ASSERT(previous != SIZE_MAX);
    EXACTLY_ASSERT((*out)[previous].members.size() == 1);
    Member& member = (*out)[previous].members[0];
    const bool block = alternative.type == "block";
    if (member.type == MemberType::kString) {
      // The first alternative's value was a word too (PER hour).
      member.type = MemberType::kWord;
      member.words.push_back(member.value_name);
    }
    member.words.push_back(block ? alternative.arguments[0].name : alternative.name);
    if (block) {
      for (size_t i = 1; i < alternative.arguments.size(); ++i) {
        AddOptions(alternative.arguments[i], /*optional=*/true, out);
      }
    }
  }
}

void AddOptions(const net::ArgumentSpec& arg, bool optional, std::vector<Option>* out) {
  optional = optional || arg.optional;
  if (arg.type == "oneof") {
    AddAlternatives(arg, out);
    return;
  }
  Option option;
  option.token = arg.token;
  option.required = !optional;
  if (arg.token.empty()) {
    if (arg.type == "block") {
      for (const net::ArgumentSpec& part : arg.arguments) AddOptions(part, optional, out);
      return;
    }
    option.members.push_back(Member{Snake(arg.name), TypeOf(arg), {}, arg.name});
  } else if (arg.type == "pure-token") {
    option.members.push_back(Member{Lower(arg.token), MemberType::kFlag, {}, ""});
  } else if (arg.type == "block") {
    for (const net::ArgumentSpec& part : arg.arguments) {
      option.members.push_back(
          Member{Lower(arg.token) + "_" + Snake(part.name), TypeOf(part), {}, part.name});
    }
  } else {
    option.members.push_back(Member{OptionName(arg.token, arg.name), TypeOf(arg), {}, arg.name});
  }
  out->push_back(std::move(option));
}

// A sequence's options, in the syntax's order.
std::vector<Option> OptionsOf(std::span<const net::ArgumentSpec> sequence) {
  std::vector<Option> options;
  for (const net::ArgumentSpec& arg : sequence) AddOptions(arg, /*optional=*/false, &options);
  return options;
}

// The parts of one top-level alternative: a block without a token is its
// arguments, anything else is itself.
std::vector<net::ArgumentSpec> Sequence(const net::ArgumentSpec& alternative) {
  if (alternative.type == "block" && alternative.token.empty()) return alternative.arguments;
  return {alternative};
}

struct Table {
  std::vector<Route> routes;

  Table() {
    for (const net::CommandSpec& spec : net::AllCommands()) {
      if ((spec.flags & net::kConnection) != 0) continue;
      const std::vector<net::ArgumentSpec> args = net::ArgumentsFromSyntax(spec.syntax, spec.name);
      const std::string name = Lower(spec.name);
      if (args.size() != 1 || args[0].type != "oneof" || args[0].optional) {
        AddRoute(spec, name, {std::string(spec.name)}, {OptionsOf(args)});
        continue;
      }
      std::vector<std::vector<Option>> alternatives;
      for (const net::ArgumentSpec& alternative : args[0].arguments) {
        std::vector<net::ArgumentSpec> sequence = Sequence(alternative);
        const net::ArgumentSpec& first = sequence[0];
        if (first.token.empty()) {
          alternatives.push_back(OptionsOf(sequence));
          continue;
        }
        // A subcommand (IDEM BEGIN key ...): its word, then its values as
        // positional arguments, then the rest of the alternative.
        std::vector<net::ArgumentSpec> rest;
        if (first.type == "block") {
          rest = first.arguments;
        } else if (first.type != "pure-token") {
          net::ArgumentSpec value = first;
          value.token.clear();
          rest.push_back(std::move(value));
        }
        rest.insert(rest.end(), sequence.begin() + 1, sequence.end());
        AddRoute(spec, name + " " + Lower(first.token), {std::string(spec.name), first.token},
                 {OptionsOf(rest)});
      }
      if (!alternatives.empty()) {
        AddRoute(spec, name, {std::string(spec.name)}, std::move(alternatives));
      }
    }
  }

  void AddRoute(const net::CommandSpec& spec, std::string command, std::vector<std::string> prefix,
                std::vector<std::vector<Option>> alternatives) {
    Route route;
    route.path = "/v1/" + command;
    std::replace(route.path.begin(), route.path.end(), ' ', '/');
    route.command = std::move(command);
    route.spec = &spec;
    route.prefix = std::move(prefix);
    route.alternatives = std::move(alternatives);
    routes.push_back(std::move(route));
  }
};

const Table& GetTable() {
  static const Table table;
  return table;
}

// The alternative the body selects: the first whose first option with a token
// the body names (LIMIT's RATE or WINDOW), else the first.
const std::vector<Option>& Select(const Route& route, const boost::json::object& body) {
  for (const std::vector<Option>& alternative : route.alternatives) {
    for (const Option& option : alternative) {
      if (option.token.empty() || !option.required) continue;
      if (body.contains(option.members[0].name)) return alternative;
      break;
    }
  }
  return route.alternatives[0];
}

// Appends the argument text of `value` for `member`; false, with the error, if
// its JSON type does not fit.
bool AppendValue(const Member& member, const boost::json::value& value,
                 std::vector<std::string>* args, std::string* error) {
  switch (member.type) {
    case MemberType::kString:
    case MemberType::kWord:
      if (!value.is_string()) {
        *error = net::ErrJsonMemberType(member.name, "a string");
        return false;
      }
      args->emplace_back(value.get_string());
      return true;
    case MemberType::kInteger: {
      char text[32];
      std::to_chars_result written{};
      if (value.is_int64()) {
        written = std::to_chars(text, text + sizeof(text), value.get_int64());
      } else if (value.is_uint64()) {
        written = std::to_chars(text, text + sizeof(text), value.get_uint64());
      } else if (value.is_double()) {
        // Sent as its shortest text, so the parser names it as RESP would "1.5".
        written = std::to_chars(text, text + sizeof(text), value.get_double());
      } else if (value.is_string()) {
        args->emplace_back(value.get_string());
        return true;
      } else {
        *error = net::ErrJsonMemberType(member.name, "an integer or a string of digits");
        return false;
      }
      args->emplace_back(text, written.ptr);
      return true;
    }
    case MemberType::kFlag:
      break;
  }
  return false;
}

}  // namespace

std::span<const Route> AllRoutes() { return GetTable().routes; }

const Route* FindRoute(std::string_view path) {
  const std::string lower = Lower(path);
  for (const Route& route : GetTable().routes) {
    if (route.path == lower) return &route;
  }
  return nullptr;
}

bool ArgsFromJson(const Route& route, const boost::json::object& body,
                  std::vector<std::string>* args, std::string* error) {
  args->assign(route.prefix.begin(), route.prefix.end());
  const std::vector<Option>& options = Select(route, body);
  size_t known = 0;
  for (const Option& option : options) {
    size_t present = 0;
    for (const Member& member : option.members) {
      const boost::json::value* value = body.if_contains(member.name);
      if (value != nullptr) ++known;
      if (value != nullptr && !value->is_null()) ++present;
    }
    if (present == 0) {
      if (option.required) {
        *error = net::ErrMissingMember(option.members[0].name);
        return false;
      }
      continue;
    }
    const Member& first = option.members[0];
    if (first.type == MemberType::kFlag) {
      const boost::json::value& flag = body.at(first.name);
      if (!flag.is_bool()) {
        *error = net::ErrJsonMemberType(first.name, "true or false");
        return false;
      }
      if (flag.get_bool()) args->push_back(option.token);
      continue;
    }
    if (!option.token.empty()) args->push_back(option.token);
    for (const Member& member : option.members) {
      const boost::json::value* value = body.if_contains(member.name);
      if (value == nullptr || value->is_null()) {
        // An option of several values needs them all (IFLOCK name and token).
        *error = net::ErrMissingMember(member.name);
        return false;
      }
      if (!AppendValue(member, *value, args, error)) return false;
    }
  }
  if (known != body.size()) {
    for (const auto& entry : body) {
      bool found = false;
      for (const Option& option : options) {
        for (const Member& member : option.members) found = found || member.name == entry.key();
      }
      if (!found) {
        *error = net::ErrUnknownMember(entry.key(), route.command);
        return false;
      }
    }
  }
  return true;
}

net::ParsedCommand CommandFromJson(const Route& route, const boost::json::object& body) {
  std::vector<std::string> args;
  net::ParsedCommand parsed;
  if (!ArgsFromJson(route, body, &args, &parsed.error)) return parsed;
  const std::vector<std::string_view> views(args.begin(), args.end());
  const net::CommandSpec* spec = nullptr;
  return net::ParseRequest(views, &spec);
}

net::ParsedCommand GroupFromJson(const boost::json::object& body) {
  net::ParsedCommand group;
  const boost::json::value* commands = body.if_contains("commands");
  if (commands == nullptr || !commands->is_array()) {
    group.error = net::ErrJsonMemberType("commands", "an array of commands");
    return group;
  }
  for (const auto& entry : body) {
    if (entry.key() != "commands") {
      group.error = net::ErrUnknownMember(entry.key(), "multi");
      return group;
    }
  }
  const boost::json::array& list = commands->as_array();
  if (list.size() > core::kGroupCommandsMax) {
    group.error = net::ErrGroupCommands();
    return group;
  }
  group.command.Emplace<core::cmd::Group>();
  group.command.group.reserve(list.size());
  for (size_t i = 0; i < list.size(); ++i) {
    std::string error;
    const boost::json::object* element = list[i].if_object();
    const boost::json::value* name = element ? element->if_contains("command") : nullptr;
    const Route* route = nullptr;
    if (element == nullptr) {
      error = net::ErrJsonBody("not an object");
    } else if (name == nullptr || !name->is_string()) {
      error = net::ErrMissingMember("command");
    } else if (route = FindRoute("/v1/" + std::string(name->get_string())); route == nullptr) {
      error = net::ErrNoRoute("POST", "/v1/" + std::string(name->get_string()));
    }
    if (error.empty()) {
      boost::json::object members = *element;
      members.erase("command");
      net::ParsedCommand parsed = CommandFromJson(*route, members);
      error = std::move(parsed.error);
      if (error.empty()) group.command.group.push_back(std::move(parsed.command));
    }
    if (!error.empty()) {
      group.error = net::ErrGroupElement(i, error);
      group.command = core::Command{};
      return group;
    }
  }
  return group;
}

}  // namespace exactly::http
