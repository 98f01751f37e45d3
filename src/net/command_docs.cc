// Syntax lines to Redis argument specs (see command_docs.h).
#include "net/command_docs.h"

#include <cctype>
#include <utility>

#include "net/resp_writer.h"

namespace exactly::net {
namespace {

// A parsed syntax element: a word, or a bracketed group of alternatives.
struct Item {
  std::string word;                        // empty for a group
  std::vector<std::vector<Item>> choices;  // a group's alternatives
};

std::vector<std::string> Tokens(std::string_view syntax) {
  std::vector<std::string> tokens;
  std::string word;
  auto flush = [&] {
    if (!word.empty()) tokens.push_back(std::move(word));
    word.clear();
  };
  for (char c : syntax) {
    if (c == '[' || c == ']' || c == '|') {
      flush();
      tokens.emplace_back(1, c);
    } else if (c == ' ') {
      flush();
    } else {
      word += c;
    }
  }
  flush();
  return tokens;
}

// Alternatives up to the closing `]` (or the end); `*pos` ends after it.
std::vector<std::vector<Item>> ParseChoices(const std::vector<std::string>& tokens, size_t* pos) {
  std::vector<std::vector<Item>> choices(1);
  while (*pos < tokens.size()) {
    const std::string& t = tokens[(*pos)++];
    if (t == "]") break;
    if (t == "|") {
      choices.emplace_back();
    } else if (t == "[") {
      Item group;
      group.choices = ParseChoices(tokens, pos);
      choices.back().push_back(std::move(group));
    } else {
      choices.back().push_back(Item{t, {}});
    }
  }
  return choices;
}

bool IsToken(std::string_view word) {
  bool letter_or_digit = false;
  for (char c : word) {
    if (std::islower(static_cast<unsigned char>(c))) return false;
    letter_or_digit = letter_or_digit || std::isalnum(static_cast<unsigned char>(c));
  }
  return letter_or_digit;
}

std::string TypeOf(std::string_view name) {
  if (name == "key" || name == "from" || name == "to") return "key";
  if (name == "ms" || name == "unix-ms" || name == "n" || name == "b" || name == "c" ||
      name == "amount" || name == "token") {
    return "integer";
  }
  return "string";
}

std::string Lower(std::string_view word) {
  std::string out(word);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

ArgumentSpec OneOrBlock(std::vector<ArgumentSpec> args, std::string name) {
  if (args.size() == 1) return std::move(args[0]);
  ArgumentSpec block;
  block.name = std::move(name);
  block.type = "block";
  block.arguments = std::move(args);
  return block;
}

std::vector<ArgumentSpec> FromSequence(const std::vector<Item>& items);

// A group's alternatives as one argument (a oneof when there are several).
ArgumentSpec FromChoices(const std::vector<std::vector<Item>>& choices) {
  std::vector<ArgumentSpec> alternatives;
  for (const auto& sequence : choices) {
    std::vector<ArgumentSpec> args = FromSequence(sequence);
    std::string name =
        args.empty() ? "" : (args[0].token.empty() ? args[0].name : Lower(args[0].token));
    alternatives.push_back(OneOrBlock(std::move(args), std::move(name)));
  }
  if (alternatives.size() == 1) return std::move(alternatives[0]);
  ArgumentSpec oneof;
  oneof.name = alternatives[0].token.empty() ? alternatives[0].name : Lower(alternatives[0].token);
  oneof.type = "oneof";
  oneof.arguments = std::move(alternatives);
  return oneof;
}

std::vector<ArgumentSpec> FromSequence(const std::vector<Item>& items) {
  std::vector<ArgumentSpec> out;
  for (size_t i = 0; i < items.size(); ++i) {
    const Item& item = items[i];
    if (item.word.empty()) {
      // `[name ...]` after `name`: the previous argument repeats.
      const auto& c = item.choices;
      if (c.size() == 1 && c[0].size() == 2 && c[0][1].word == "..." && !out.empty() &&
          out.back().name == c[0][0].word) {
        out.back().multiple = true;
        continue;
      }
      ArgumentSpec group = FromChoices(c);
      group.optional = true;
      out.push_back(std::move(group));
      continue;
    }
    std::string word = item.word;
    bool multiple = false;
    if (word.size() > 3 && word.compare(word.size() - 3, 3, "...") == 0) {
      word.resize(word.size() - 3);
      multiple = true;
    }
    if (word == "...") {
      if (!out.empty()) out.back().multiple = true;
      continue;
    }
    ArgumentSpec arg;
    arg.multiple = multiple;
    if (!IsToken(word)) {
      arg.name = word;
      arg.type = TypeOf(word);
      out.push_back(std::move(arg));
      continue;
    }
    // A token and the lower-case values after it.
    std::vector<ArgumentSpec> values;
    while (i + 1 < items.size() && !items[i + 1].word.empty() && !IsToken(items[i + 1].word)) {
      ArgumentSpec value;
      value.name = items[++i].word;
      if (value.name.size() > 3 && value.name.compare(value.name.size() - 3, 3, "...") == 0) {
        value.name.resize(value.name.size() - 3);
        value.multiple = true;
      }
      value.type = TypeOf(value.name);
      values.push_back(std::move(value));
    }
    if (values.empty()) {
      arg.name = Lower(word);
      arg.type = "pure-token";
      arg.token = word;
    } else if (values.size() == 1) {
      arg = std::move(values[0]);
      arg.token = word;
    } else {
      arg.name = Lower(word);
      arg.type = "block";
      arg.token = word;
      arg.arguments = std::move(values);
    }
    out.push_back(std::move(arg));
  }
  return out;
}

void WriteArgument(RespWriter& writer, const ArgumentSpec& arg) {
  const bool has_token = !arg.token.empty();
  const bool has_flags = arg.optional || arg.multiple;
  const bool has_args = !arg.arguments.empty();
  writer.MapHeader(2 + has_token + has_flags + has_args);
  writer.Bulk("name");
  writer.Bulk(arg.name);
  writer.Bulk("type");
  writer.Bulk(arg.type);
  if (has_token) {
    writer.Bulk("token");
    writer.Bulk(arg.token);
  }
  if (has_flags) {
    writer.Bulk("flags");
    writer.ArrayHeader(static_cast<size_t>(arg.optional) + arg.multiple);
    if (arg.optional) writer.Simple("optional");
    if (arg.multiple) writer.Simple("multiple");
  }
  if (has_args) {
    writer.Bulk("arguments");
    WriteArguments(writer, arg.arguments);
  }
}

std::string Hint(const ArgumentSpec& arg) {
  std::string text;
  if (!arg.token.empty()) text = arg.token;
  std::string value;
  if (arg.type == "oneof" || arg.type == "block") {
    for (size_t i = 0; i < arg.arguments.size(); ++i) {
      if (i > 0) value += arg.type == "oneof" ? "|" : " ";
      value += Hint(arg.arguments[i]);
    }
  } else if (arg.type != "pure-token") {
    value = arg.name;
  }
  if (!value.empty()) text += text.empty() ? value : " " + value;
  if (arg.multiple) text += " [" + arg.name + " ...]";
  return arg.optional ? "[" + text + "]" : text;
}

}  // namespace

std::vector<ArgumentSpec> ArgumentsFromSyntax(std::string_view syntax, std::string_view name) {
  const std::vector<std::string> tokens = Tokens(syntax);
  size_t pos = 0;
  std::vector<std::vector<Item>> choices = ParseChoices(tokens, &pos);
  for (auto& sequence : choices) {
    if (!sequence.empty() && sequence[0].word == name) sequence.erase(sequence.begin());
  }
  if (choices.size() == 1) return FromSequence(choices[0]);
  std::vector<ArgumentSpec> out;
  out.push_back(FromChoices(choices));
  return out;
}

void WriteArguments(RespWriter& writer, const std::vector<ArgumentSpec>& arguments) {
  writer.ArrayHeader(arguments.size());
  for (const ArgumentSpec& arg : arguments) WriteArgument(writer, arg);
}

std::string HintText(const std::vector<ArgumentSpec>& arguments) {
  std::string text;
  for (const ArgumentSpec& arg : arguments) {
    if (!text.empty()) text += ' ';
    text += Hint(arg);
  }
  return text;
}

}  // namespace exactly::net
