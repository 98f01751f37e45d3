// The command table: gathers the family rows once, answers lookups, arity checks,
// COMMAND introspection and --help from them.
#include "net/command_table.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <vector>

#include "base/assert.h"
#include "net/args.h"
#include "net/command_docs.h"
#include "net/commands/families.h"
#include "net/errors.h"
#include "net/resp_writer.h"
#include "net/session.h"

namespace exactly::net {
namespace {

char Upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }
char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// No command name is longer; a longer name is unknown without a lookup.
constexpr size_t kNameBytesMax = 16;

// A command name upper-cased into two words, zero-padded: the lookup every request
// makes compares two integers instead of hashing and comparing text.
struct NameKey {
  uint64_t lo = 0;
  uint64_t hi = 0;

  static NameKey Of(std::string_view name) {
    EXACTLY_ASSERT(name.size() <= kNameBytesMax);
    char bytes[kNameBytesMax] = {};
    for (size_t i = 0; i < name.size(); ++i) bytes[i] = Upper(name[i]);
    NameKey key;
    std::memcpy(&key.lo, bytes, sizeof key.lo);
    std::memcpy(&key.hi, bytes + sizeof key.lo, sizeof key.hi);
    return key;
  }
  bool operator==(const NameKey&) const = default;
};

// Open addressing over a power of two well above the row count, so a probe
// sequence is a slot or two.
constexpr size_t kNameSlots = 256;

size_t NameSlot(const NameKey& key) {
  const uint64_t mixed = key.lo * 0x9E3779B97F4A7C15ull ^ key.hi * 0xC2B2AE3D27D4EB4Full;
  return static_cast<size_t>(mixed >> 56) & (kNameSlots - 1);
}

struct Table {
  std::vector<CommandSpec> rows;            // family order
  std::vector<const CommandSpec*> by_name;  // sorted, for COMMAND LIST and docs
  // Upper-case name to row: the lookup every request makes (FindCommand).
  struct Slot {
    NameKey key;
    const CommandSpec* spec = nullptr;
  };
  std::array<Slot, kNameSlots> slots{};
  size_t longest_name = 0;

  Table() {
    for (auto family : {ClaimCommands(), LedgerCommands(), LockCommands(), IdemCommands(),
                        LimitCommands(), ServerCommands(), ClusterCommands()}) {
      rows.insert(rows.end(), family.begin(), family.end());
    }
    for (const CommandSpec& row : rows) by_name.push_back(&row);
    std::sort(by_name.begin(), by_name.end(),
              [](const CommandSpec* a, const CommandSpec* b) { return a->name < b->name; });
    for (size_t i = 1; i < by_name.size(); ++i) {
      EXACTLY_ASSERT(by_name[i - 1]->name != by_name[i]->name);
    }
    for (CommandSpec& row : rows) {
      EXACTLY_ASSERT((row.parse == nullptr) == ((row.flags & kConnection) != 0));
      EXACTLY_ASSERT((row.handle == nullptr) == (row.parse != nullptr));
      if (row.handle == nullptr) row.handle = RunDataCommand;
      longest_name = std::max(longest_name, row.name.size());
      EXACTLY_ASSERT(longest_name <= kNameBytesMax);
      EXACTLY_ASSERT(row.name.find('\0') == std::string_view::npos);
      const NameKey key = NameKey::Of(row.name);
      size_t i = NameSlot(key);
      while (slots[i].spec != nullptr) i = (i + 1) & (kNameSlots - 1);
      slots[i] = Slot{key, &row};
    }
    EXACTLY_ASSERT(rows.size() * 2 <= kNameSlots);
  }
};

const Table& GetTable() {
  static const Table table;
  return table;
}

std::string LowerName(std::string_view name) {
  std::string lower(name);
  for (char& c : lower) c = Lower(c);
  return lower;
}

void WriteFlags(RespWriter& writer, uint32_t flags) {
  static constexpr std::pair<uint32_t, std::string_view> kNames[] = {
      {kWrite, "write"},    {kReadonly, "readonly"}, {kAdmin, "admin"},
      {kNoAuth, "no_auth"}, {kBlocking, "blocking"}, {kNoMulti, "no_multi"},
  };
  size_t count = 0;
  for (const auto& [bit, name] : kNames) count += (flags & bit) != 0;
  writer.ArrayHeader(count);
  for (const auto& [bit, name] : kNames) {
    if (flags & bit) writer.Simple(name);
  }
}

std::string_view Category(const CommandSpec& spec) {
  if (spec.flags & kWrite) return "@write";
  if (spec.flags & kReadonly) return "@read";
  if (spec.flags & kAdmin) return "@admin";
  return "@connection";
}

// Redis 7's key specs for a command with one key at `first_key`: found by index,
// a range of one. The flags say how the command uses it (RW UPDATE or RO ACCESS).
void WriteKeySpecs(RespWriter& writer, const CommandSpec& spec) {
  if (spec.first_key <= 0) {
    writer.ArrayHeader(0);
    return;
  }
  EXACTLY_ASSERT(spec.last_key == spec.first_key && spec.key_step == 1);
  const bool writes = (spec.flags & kWrite) != 0;
  writer.ArrayHeader(1);
  writer.MapHeader(3);
  writer.Bulk("flags");
  writer.ArrayHeader(2);
  writer.Simple(writes ? "RW" : "RO");
  writer.Simple(writes ? "UPDATE" : "ACCESS");
  writer.Bulk("begin_search");
  writer.MapHeader(2);
  writer.Bulk("type");
  writer.Bulk("index");
  writer.Bulk("spec");
  writer.MapHeader(1);
  writer.Bulk("index");
  writer.Integer(spec.first_key);
  writer.Bulk("find_keys");
  writer.MapHeader(2);
  writer.Bulk("type");
  writer.Bulk("range");
  writer.Bulk("spec");
  writer.MapHeader(3);
  writer.Bulk("lastkey");
  writer.Integer(spec.last_key - spec.first_key);
  writer.Bulk("keystep");
  writer.Integer(spec.key_step);
  writer.Bulk("limit");
  writer.Integer(0);
}

// One command's COMMAND INFO entry, in Redis 7's ten-element shape.
void WriteInfo(RespWriter& writer, const CommandSpec& spec) {
  writer.ArrayHeader(10);
  writer.Bulk(LowerName(spec.name));
  writer.Integer(spec.arity);
  WriteFlags(writer, spec.flags);
  writer.Integer(spec.first_key);
  writer.Integer(spec.last_key);
  writer.Integer(spec.key_step);
  writer.ArrayHeader(1);
  writer.Simple(Category(spec));
  writer.ArrayHeader(0);  // tips
  WriteKeySpecs(writer, spec);
  writer.ArrayHeader(0);  // subcommands
}

void WriteDocs(RespWriter& writer, const CommandSpec& spec) {
  const std::vector<ArgumentSpec> arguments = ArgumentsFromSyntax(spec.syntax, spec.name);
  writer.Bulk(LowerName(spec.name));
  writer.MapHeader(arguments.empty() ? 4 : 5);
  writer.Bulk("summary");
  writer.Bulk(spec.summary);
  writer.Bulk("since");
  writer.Bulk("0.1.0");
  writer.Bulk("group");
  writer.Bulk((spec.flags & kConnection) ? "connection" : "exactly");
  writer.Bulk("syntax");
  writer.Bulk(spec.syntax);
  if (!arguments.empty()) {
    writer.Bulk("arguments");
    WriteArguments(writer, arguments);
  }
}

void WriteHelp(RespWriter& writer) {
  static constexpr std::string_view kLines[] = {
      "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
      "(no subcommand)",
      "    Return details about all commands.",
      "COUNT",
      "    Return the total number of commands.",
      "LIST",
      "    Return the names of all commands.",
      "INFO [<command-name> ...]",
      "    Return details about the given commands, or all of them.",
      "DOCS [<command-name> ...]",
      "    Return documentation about the given commands, or all of them.",
      "GETKEYS <full-command>",
      "    Return the keys from a full command.",
      "HELP",
      "    Print this help.",
  };
  writer.ArrayHeader(std::size(kLines));
  for (std::string_view line : kLines) writer.Simple(line);
}

}  // namespace

const CommandSpec* FindCommand(std::string_view name) {
  const Table& table = GetTable();
  if (name.size() > table.longest_name) return nullptr;
  const NameKey key = NameKey::Of(name);
  for (size_t i = NameSlot(key);; i = (i + 1) & (kNameSlots - 1)) {
    const Table::Slot& slot = table.slots[i];
    if (slot.spec == nullptr) return nullptr;
    // The size tells "CLAIM" from "CLAIM\0", which pads to the same key.
    if (slot.key == key && slot.spec->name.size() == name.size()) return slot.spec;
  }
}

std::span<const CommandSpec> AllCommands() { return GetTable().rows; }

std::string CheckArity(const CommandSpec& spec, size_t argc) {
  const bool fits = spec.arity >= 0 ? argc == static_cast<size_t>(spec.arity)
                                    : argc >= static_cast<size_t>(-spec.arity);
  if (fits) return {};
  return ErrArity(spec.name);
}

ParsedCommand ParseRequest(std::span<const std::string_view> args, const CommandSpec** spec) {
  *spec = nullptr;
  if (args.empty()) return Refuse(ErrSyntax());
  const CommandSpec* found = FindCommand(args[0]);
  if (found == nullptr) return Refuse(ErrUnknownCommand(args[0], args.subspan(1)));
  *spec = found;
  if (std::string error = CheckArity(*found, args.size()); !error.empty()) return Refuse(error);
  if (found->parse == nullptr) return {};
  return found->parse(args);
}

void WriteCommandReply(RespWriter& writer, std::span<const std::string_view> args) {
  const std::span<const CommandSpec> rows = AllCommands();
  if (args.size() <= 1) {
    writer.ArrayHeader(rows.size());
    for (const CommandSpec& row : rows) WriteInfo(writer, row);
    return;
  }
  const std::string_view sub = args[1];
  const std::span<const std::string_view> names = args.subspan(2);
  if (KeywordIs(sub, "COUNT") && names.empty()) {
    writer.Integer(static_cast<int64_t>(rows.size()));
  } else if (KeywordIs(sub, "LIST") && names.empty()) {
    writer.ArrayHeader(rows.size());
    for (const CommandSpec& row : rows) writer.Bulk(LowerName(row.name));
  } else if (KeywordIs(sub, "INFO")) {
    if (names.empty()) {
      writer.ArrayHeader(rows.size());
      for (const CommandSpec& row : rows) WriteInfo(writer, row);
      return;
    }
    writer.ArrayHeader(names.size());
    for (std::string_view name : names) {
      if (const CommandSpec* spec = FindCommand(name)) {
        WriteInfo(writer, *spec);
      } else {
        writer.Null();
      }
    }
  } else if (KeywordIs(sub, "DOCS")) {
    std::vector<const CommandSpec*> found;
    if (names.empty()) {
      for (const CommandSpec& row : rows) found.push_back(&row);
    } else {
      for (std::string_view name : names) {
        if (const CommandSpec* spec = FindCommand(name)) found.push_back(spec);
      }
    }
    writer.MapHeader(found.size());
    for (const CommandSpec* spec : found) WriteDocs(writer, *spec);
  } else if (KeywordIs(sub, "GETKEYS") && !names.empty()) {
    // The key of a command as sent (names[0] its name), by the row's key position.
    const CommandSpec* spec = FindCommand(names[0]);
    if (spec == nullptr) {
      writer.Error(kCodeErr, ErrGetKeysUnknownCommand());
    } else if (!CheckArity(*spec, names.size()).empty()) {
      writer.Error(kCodeErr, ErrGetKeysArity());
    } else if (spec->first_key <= 0 || static_cast<size_t>(spec->first_key) >= names.size()) {
      writer.Error(kCodeErr, ErrGetKeysNoKey());
    } else {
      writer.ArrayHeader(1);
      writer.Bulk(names[static_cast<size_t>(spec->first_key)]);
    }
  } else if (KeywordIs(sub, "HELP") && names.empty()) {
    WriteHelp(writer);
  } else {
    writer.Error(kCodeErr, ErrUnknownSubcommand("COMMAND", sub));
  }
}

std::string CommandHelp() {
  std::string help;
  for (const CommandSpec& row : AllCommands()) {
    help += "  ";
    help += row.syntax;
    help += "\n      ";
    help += row.summary;
    help += '\n';
  }
  return help;
}

}  // namespace exactly::net
