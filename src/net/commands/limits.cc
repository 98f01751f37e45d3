// Limits family: LIMIT key RATE n PER ms [BURST b] [COST c] | LIMIT key WINDOW n
// PER ms [COST c] — its row and argument parsing.
#include "core/limits.h"

#include "net/args.h"
#include "net/commands/families.h"
#include "net/errors.h"

namespace exactly::net {
namespace {

using Args = std::span<const std::string_view>;

std::string FillLimit(Args args, core::Command* out) {
  core::cmd::Limit& command = out->Emplace<core::cmd::Limit>();
  if (std::string error = CheckLength(args[1], "key", 1, core::kKeyBytesMax); !error.empty()) {
    return error;
  }
  command.key.assign(args[1]);
  const std::string_view mode = args[2];
  if (KeywordIs(mode, "WINDOW")) {
    command.window = true;
  } else if (!KeywordIs(mode, "RATE")) {
    return ErrOptionNeeds("LIMIT", "RATE or WINDOW");
  }
  std::string error;
  size_t i = 2;
  auto n = TakeInteger(args, &i, command.window ? "WINDOW" : "RATE", 1, core::kLimitCountMax, "",
                       &error);
  if (!n) return error;
  command.n = *n;
  if (i >= args.size() || !KeywordIs(args[i], "PER")) {
    return ErrRequiredOption("LIMIT", "PER ms");
  }
  auto per = TakeInteger(args, &i, "PER", 1, core::kTtlMsMax, "ms", &error);
  if (!per) return error;
  command.per_ms = *per;
  bool cost_seen = false;
  while (i < args.size()) {
    const std::string_view option = args[i];
    if (KeywordIs(option, "BURST") && !command.window) {
      if (command.burst != 0) return ErrDuplicateOption("BURST");
      auto burst = TakeInteger(args, &i, "BURST", 1, core::kLimitCountMax, "", &error);
      if (!burst) return error;
      command.burst = *burst;
    } else if (TakeIntegerOnce(args, &i, "COST", 1, core::kLimitCountMax, "", &cost_seen,
                               &command.cost, &error)) {
      if (!error.empty()) return error;
    } else {
      return ErrUnknownOption(option);
    }
  }
  const int64_t capacity = command.burst > 0 ? command.burst : command.n;
  if (command.cost > capacity) return ErrCostAboveCapacity();
  return {};
}

constexpr CommandSpec kRows[] = {
    {"LIMIT", -6, DataFlags(core::CommandKind::kLimit), ParseInto<FillLimit>,
     "LIMIT key RATE n PER ms [BURST b] [COST c] | LIMIT key WINDOW n PER ms [COST c]",
     "Rate-limit key (GCRA or a fixed window; volatile, never logged): allowed | limited, with "
     "remaining, retry_after_ms, reset_ms.",
     1, 1, 1},
};

}  // namespace

std::span<const CommandSpec> LimitCommands() { return kRows; }

}  // namespace exactly::net
