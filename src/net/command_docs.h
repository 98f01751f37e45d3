// A command's syntax line (the command table's `syntax`) as Redis 7 argument specs,
// for COMMAND DOCS: redis-cli builds its help and its as-you-type hints from them.
//
// The syntax grammar is the one docs/commands.md uses: words, `[optional]` groups,
// `a|b` alternatives, `name ...` repetition. An upper-case word is a token (`TTL`)
// that takes the lower-case words after it as its values (`TTL ms`); a lower-case
// word is an argument named by it. Printing the specs back the way redis-cli does
// gives the syntax line again. Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace exactly::net {

class RespWriter;

struct ArgumentSpec {
  std::string name;
  std::string type;   // key, string, integer, pure-token, oneof or block
  std::string token;  // the word the client types before the value, if any
  bool optional = false;
  bool multiple = false;
  std::vector<ArgumentSpec> arguments;  // of a oneof or a block
};

// The arguments after the command's name (`name`, upper case, is left out of each
// alternative that starts with it).
std::vector<ArgumentSpec> ArgumentsFromSyntax(std::string_view syntax, std::string_view name);

// The specs as COMMAND DOCS's `arguments` value: an array of maps.
void WriteArguments(RespWriter& writer, const std::vector<ArgumentSpec>& arguments);

// The specs printed back as redis-cli prints them (its hint text), for tests.
std::string HintText(const std::vector<ArgumentSpec>& arguments);

}  // namespace exactly::net
