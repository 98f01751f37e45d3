// Tests for net/command_table and the family parsers: lookups, arity, every
// command's fields, every malformed input's error, and each limit at and one past it.
#include "net/command_table.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/limits.h"
#include "net/resp_writer.h"

namespace exactly::net {
namespace {

ParsedCommand Run(const std::vector<std::string>& words) {
  std::vector<std::string_view> args(words.begin(), words.end());
  const CommandSpec* spec = nullptr;
  return ParseRequest(args, &spec);
}

// The error of a request that must fail (and that it did fail).
std::string ErrorOf(const std::vector<std::string>& words) {
  ParsedCommand parsed = Run(words);
  EXPECT_FALSE(parsed.error.empty()) << "accepted: " << words[0];
  return parsed.error;
}

core::Command Ok(const std::vector<std::string>& words) {
  ParsedCommand parsed = Run(words);
  EXPECT_EQ(parsed.error, "") << words[0];
  return parsed.command;
}

TEST(CommandTableTest, FindIsCaseInsensitive) {
  ASSERT_NE(FindCommand("claim"), nullptr);
  EXPECT_EQ(FindCommand("claim"), FindCommand("CLAIM"));
  EXPECT_EQ(FindCommand("ClAiM")->name, "CLAIM");
  EXPECT_EQ(FindCommand("CLAIMX"), nullptr);
  EXPECT_EQ(FindCommand("CLAI"), nullptr);
  EXPECT_EQ(FindCommand(""), nullptr);
  // Names pad with zeros to one key: a NUL must not make "CLAIM\0" CLAIM.
  EXPECT_EQ(FindCommand(std::string_view("CLAIM\0", 6)), nullptr);
  EXPECT_EQ(FindCommand(std::string_view("\0", 1)), nullptr);
  EXPECT_EQ(FindCommand("CLAIMCLAIMCLAIMC"), nullptr);   // the longest a key holds
  EXPECT_EQ(FindCommand("CLAIMCLAIMCLAIMCL"), nullptr);  // longer than any name
  EXPECT_EQ(FindCommand("\xc3\xa9"
                        "claim"),
            nullptr);
  for (const CommandSpec& spec : AllCommands()) {
    EXPECT_EQ(FindCommand(spec.name), &spec) << spec.name;
  }
}

TEST(CommandTableTest, RowsAreConsistent) {
  for (const CommandSpec& spec : AllCommands()) {
    EXPECT_EQ((spec.flags & kConnection) != 0, spec.parse == nullptr) << spec.name;
    EXPECT_NE(spec.arity, 0) << spec.name;
    EXPECT_TRUE(spec.syntax.starts_with(spec.name)) << spec.name;
    EXPECT_FALSE(spec.summary.empty()) << spec.name;
    for (char c : spec.name) EXPECT_TRUE(c >= 'A' && c <= 'Z') << spec.name;
  }
  for (std::string_view name :
       {"PING", "HELLO", "AUTH", "CLIENT", "INFO", "SELECT", "COMMAND", "QUIT", "SNAPSHOT",
        "SHUTDOWN", "MULTI", "EXEC", "DISCARD", "ECHO"}) {
    const CommandSpec* spec = FindCommand(name);
    ASSERT_NE(spec, nullptr) << name;
    EXPECT_TRUE(spec->flags & kConnection) << name;
  }
  EXPECT_TRUE(FindCommand("AUTH")->flags & kNoAuth);
  EXPECT_TRUE(FindCommand("HELLO")->flags & kNoAuth);
  EXPECT_FALSE(FindCommand("CLAIM")->flags & kNoAuth);
  EXPECT_TRUE(FindCommand("CLAIM")->flags & kWrite);
  EXPECT_TRUE(FindCommand("BALANCE")->flags & kReadonly);
}

// The write/readonly flag of every data command comes from its kind's traits, and
// each parsed kind agrees with its row (IDEM's three kinds share one row).
TEST(CommandTableTest, FlagsAgreeWithTheKindsTraits) {
  const std::vector<std::vector<std::string_view>> examples = {
      {"CLAIM", "k", "o"},
      {"UNCLAIM", "k", "o"},
      {"CLAIMOF", "k"},
      {"CLAIMLOG", "k"},
      {"ACCOUNT", "a"},
      {"TRANSFER", "t", "a", "b", "1"},
      {"RESERVE", "r", "a", "b", "1", "TIMEOUT", "10"},
      {"COMMIT", "r"},
      {"CANCEL", "r"},
      {"BALANCE", "a"},
      {"HISTORY", "a"},
      {"LOCK", "l", "o", "LEASE", "10"},
      {"RENEW", "l", "1", "LEASE", "10"},
      {"UNLOCK", "l", "1"},
      {"FENCE", "l", "1"},
      {"IDEM", "BEGIN", "k"},
      {"IDEM", "END", "k", "1", "r"},
      {"IDEM", "ABORT", "k", "1"},
      {"LIMIT", "k", "RATE", "1", "PER", "10"},
  };
  size_t data_rows = 0;
  for (const CommandSpec& row : AllCommands()) data_rows += row.parse != nullptr ? 1 : 0;
  std::set<std::string_view> covered;
  for (const auto& args : examples) {
    const CommandSpec* spec = nullptr;
    ParsedCommand parsed = ParseRequest(args, &spec);
    ASSERT_NE(spec, nullptr) << args[0];
    ASSERT_EQ(parsed.error, "") << args[0];
    covered.insert(spec->name);
    const uint32_t data_flags = spec->flags & (kWrite | kReadonly);
    EXPECT_EQ(data_flags, DataFlags(parsed.command.kind)) << args[0];
    EXPECT_EQ((spec->flags & kWrite) != 0, core::Writes(parsed.command.kind)) << args[0];
    // A journaled command is always a write; LIMIT writes volatile state only.
    if (core::IsMutating(parsed.command.kind)) {
      EXPECT_TRUE(spec->flags & kWrite) << args[0];
    }
  }
  EXPECT_EQ(covered.size(), data_rows) << "a data command without an example here";
  EXPECT_FALSE(core::IsMutating(core::CommandKind::kLimit));
  EXPECT_TRUE(core::Writes(core::CommandKind::kLimit));
}

TEST(CommandTableTest, ArityErrors) {
  EXPECT_EQ(CheckArity(*FindCommand("CLAIM"), 3), "");
  EXPECT_EQ(CheckArity(*FindCommand("CLAIM"), 9), "");
  EXPECT_EQ(CheckArity(*FindCommand("CLAIM"), 2), "wrong number of arguments for 'claim' command");
  EXPECT_EQ(CheckArity(*FindCommand("UNCLAIM"), 2),
            "wrong number of arguments for 'unclaim' command");
  EXPECT_EQ(ErrorOf({"commit"}), "wrong number of arguments for 'commit' command");
  EXPECT_EQ(ErrorOf({"TRANSFER", "t1", "a", "b"}),
            "wrong number of arguments for 'transfer' command");
  EXPECT_EQ(ErrorOf({"BALANCE", "a", "b"}), "wrong number of arguments for 'balance' command");
}

TEST(CommandTableTest, UnknownCommand) {
  EXPECT_EQ(ErrorOf({"FOO", "a", "b"}), "unknown command 'FOO', with args beginning with: 'a' 'b'");
  EXPECT_EQ(ErrorOf({"foo"}), "unknown command 'foo', with args beginning with:");
}

TEST(CommandTableTest, ConnectionCommandsAreNotParsed) {
  std::vector<std::string_view> args = {"ping"};
  const CommandSpec* spec = nullptr;
  ParsedCommand parsed = ParseRequest(args, &spec);
  ASSERT_NE(spec, nullptr);
  EXPECT_EQ(spec->name, "PING");
  EXPECT_EQ(parsed.error, "");
}

TEST(ClaimParseTest, Plain) {
  core::Command c = Ok({"claim", "order:1", "worker-7"});
  EXPECT_EQ(c.kind, core::CommandKind::kClaim);
  EXPECT_EQ(c.As<core::cmd::Claim>().key, "order:1");
  EXPECT_EQ(c.As<core::cmd::Claim>().owner, "worker-7");
  EXPECT_EQ(c.As<core::cmd::Claim>().time.kind, core::TimeSpec::Kind::kNone);
  EXPECT_FALSE(c.As<core::cmd::Claim>().persist);
  EXPECT_EQ(c.As<core::cmd::Claim>().note, "");
}

TEST(ClaimParseTest, OptionsInAnyOrderAnyCase) {
  core::Command c = Ok({"CLAIM", "k", "o", "note", "hello world", "Persist", "ttl", "30000"});
  EXPECT_EQ(c.As<core::cmd::Claim>().time.kind, core::TimeSpec::Kind::kTtl);
  EXPECT_EQ(c.As<core::cmd::Claim>().time.ttl_ms, 30000);
  EXPECT_TRUE(c.As<core::cmd::Claim>().persist);
  EXPECT_EQ(c.As<core::cmd::Claim>().note, "hello world");

  c = Ok({"CLAIM", "k", "o", "UNTIL", "1700000000000"});
  EXPECT_EQ(c.As<core::cmd::Claim>().time.kind, core::TimeSpec::Kind::kUntil);
  EXPECT_EQ(c.As<core::cmd::Claim>().time.until_ms, 1700000000000);

  c = Ok({"CLAIM", "k", "o", "TZ", "-05:30", "PER", "Week", "AT", "09:15"});
  EXPECT_EQ(c.As<core::cmd::Claim>().time.kind, core::TimeSpec::Kind::kPer);
  EXPECT_EQ(c.As<core::cmd::Claim>().time.period, core::Period::kWeek);
  EXPECT_EQ(c.As<core::cmd::Claim>().time.at_minutes, 9 * 60 + 15);
  EXPECT_EQ(c.As<core::cmd::Claim>().time.tz_minutes, -(5 * 60 + 30));

  c = Ok({"CLAIM", "k", "o", "PER", "month"});
  EXPECT_EQ(c.As<core::cmd::Claim>().time.period, core::Period::kMonth);
  EXPECT_EQ(c.As<core::cmd::Claim>().time.at_minutes, 0);
  EXPECT_EQ(c.As<core::cmd::Claim>().time.tz_minutes, 0);
  EXPECT_EQ(Ok({"CLAIM", "k", "o", "PER", "HOUR"}).As<core::cmd::Claim>().time.period,
            core::Period::kHour);
  EXPECT_EQ(Ok({"CLAIM", "k", "o", "PER", "day"}).As<core::cmd::Claim>().time.period,
            core::Period::kDay);
  EXPECT_EQ(
      Ok({"CLAIM", "k", "o", "PER", "day", "TZ", "+14:00"}).As<core::cmd::Claim>().time.tz_minutes,
      14 * 60);
  EXPECT_EQ(
      Ok({"CLAIM", "k", "o", "PER", "day", "AT", "23:59"}).As<core::cmd::Claim>().time.at_minutes,
      23 * 60 + 59);
}

TEST(ClaimParseTest, BadOptions) {
  EXPECT_EQ(ErrorOf({"CLAIM", "k", "o", "FOREVER"}), "syntax error, unknown option 'FOREVER'");
  EXPECT_EQ(ErrorOf({"CLAIM", "k", "o", "TTL"}), "syntax error, TTL needs a value");
  EXPECT_EQ(ErrorOf({"CLAIM", "k", "o", "NOTE"}), "syntax error, NOTE needs a value");
  EXPECT_EQ(ErrorOf({"CLAIM", "k", "o", "PER"}), "syntax error, PER needs a value");
  EXPECT_EQ(ErrorOf({"CLAIM", "k", "o", "TTL", "5", "ttl", "6"}), "syntax error, TTL given twice");
  EXPECT_EQ(ErrorOf({"CLAIM", "k", "o", "PERSIST", "PERSIST"}),
            "syntax error, PERSIST given twice");
  EXPECT_EQ(ErrorOf({"CLAIM", "k", "o", "TTL", "5", "UNTIL", "6"}),
            "syntax error, TTL and UNTIL cannot be combined");
  EXPECT_EQ(ErrorOf({"CLAIM", "k", "o", "PER", "day", "TTL", "6"}),
            "syntax error, PER and TTL cannot be combined");
  EXPECT_EQ(ErrorOf({"CLAIM", "k", "o", "AT", "10:00"}), "syntax error, AT needs PER");
  EXPECT_EQ(ErrorOf({"CLAIM", "k", "o", "TTL", "5", "TZ", "+01:00"}), "syntax error, TZ needs PER");
  EXPECT_EQ(ErrorOf({"CLAIM", "k", "o", "PER", "day", "AT", "1:00", "AT", "2:00"}),
            "AT must be hh:mm, 00:00..23:59");
  EXPECT_EQ(ErrorOf({"CLAIM", "k", "o", "PER", "day", "AT", "01:00", "AT", "02:00"}),
            "syntax error, AT given twice");
}

TEST(ClaimParseTest, BadTimeValues) {
  const std::string ttl_error = "TTL must be an integer in 1..3153600000000 (ms)";
  EXPECT_EQ(ErrorOf({"CLAIM", "k", "o", "TTL", "0"}), ttl_error);
  EXPECT_EQ(ErrorOf({"CLAIM", "k", "o", "TTL", "-1"}), ttl_error);
  EXPECT_EQ(ErrorOf({"CLAIM", "k", "o", "TTL", "1.5"}), ttl_error);
  EXPECT_EQ(ErrorOf({"CLAIM", "k", "o", "TTL", "+5"}), ttl_error);
  EXPECT_EQ(ErrorOf({"CLAIM", "k", "o", "TTL", "05"}), ttl_error);
  EXPECT_EQ(Ok({"CLAIM", "k", "o", "TTL", std::to_string(core::kTtlMsMax)})
                .As<core::cmd::Claim>()
                .time.ttl_ms,
            core::kTtlMsMax);
  EXPECT_EQ(ErrorOf({"CLAIM", "k", "o", "TTL", std::to_string(core::kTtlMsMax + 1)}), ttl_error);
  EXPECT_EQ(Ok({"CLAIM", "k", "o", "TTL", "1"}).As<core::cmd::Claim>().time.ttl_ms, 1);

  EXPECT_EQ(Ok({"CLAIM", "k", "o", "UNTIL", "0"}).As<core::cmd::Claim>().time.until_ms, 0);
  EXPECT_EQ(Ok({"CLAIM", "k", "o", "UNTIL", std::to_string(core::kTimeMsMax)})
                .As<core::cmd::Claim>()
                .time.until_ms,
            core::kTimeMsMax);
  EXPECT_EQ(ErrorOf({"CLAIM", "k", "o", "UNTIL", std::to_string(core::kTimeMsMax + 1)}),
            "UNTIL must be an integer in 0..253402300799999 (unix ms)");
  EXPECT_EQ(ErrorOf({"CLAIM", "k", "o", "UNTIL", "-1"}),
            "UNTIL must be an integer in 0..253402300799999 (unix ms)");

  EXPECT_EQ(ErrorOf({"CLAIM", "k", "o", "PER", "year"}), "PER must be hour, day, week or month");
  for (std::string at : {"24:00", "12:60", "9:30", "0930", "09:3x", "09:300", ""}) {
    EXPECT_EQ(ErrorOf({"CLAIM", "k", "o", "PER", "day", "AT", at}),
              "AT must be hh:mm, 00:00..23:59")
        << at;
  }
  for (std::string tz : {"+14:01", "-15:00", "08:00", "Z", "+8:00", "+08:60", "+0800", ""}) {
    EXPECT_EQ(ErrorOf({"CLAIM", "k", "o", "PER", "day", "TZ", tz}),
              "TZ must be +hh:mm or -hh:mm within -14:00..+14:00")
        << tz;
  }
  EXPECT_EQ(
      Ok({"CLAIM", "k", "o", "PER", "day", "TZ", "-14:00"}).As<core::cmd::Claim>().time.tz_minutes,
      -14 * 60);
}

TEST(ClaimParseTest, LengthLimits) {
  const std::string key_max(core::kKeyBytesMax, 'k');
  const std::string owner_max(core::kOwnerBytesMax, 'o');
  const std::string note_max(core::kNoteBytesMax, 'n');
  core::Command c = Ok({"CLAIM", key_max, owner_max, "NOTE", note_max});
  EXPECT_EQ(c.As<core::cmd::Claim>().key, key_max);
  EXPECT_EQ(c.As<core::cmd::Claim>().owner, owner_max);
  EXPECT_EQ(c.As<core::cmd::Claim>().note, note_max);
  EXPECT_EQ(Ok({"CLAIM", "k", "o", "NOTE", ""}).As<core::cmd::Claim>().note, "");
  EXPECT_EQ(ErrorOf({"CLAIM", key_max + "k", "o"}), "key must be 1..512 bytes");
  EXPECT_EQ(ErrorOf({"CLAIM", "", "o"}), "key must be 1..512 bytes");
  EXPECT_EQ(ErrorOf({"CLAIM", "k", owner_max + "o"}), "owner must be 1..256 bytes");
  EXPECT_EQ(ErrorOf({"CLAIM", "k", ""}), "owner must be 1..256 bytes");
  EXPECT_EQ(ErrorOf({"CLAIM", "k", "o", "NOTE", note_max + "n"}), "note must be 0..1024 bytes");
  EXPECT_EQ(ErrorOf({"UNCLAIM", "k", owner_max + "o"}), "owner must be 1..256 bytes");
  EXPECT_EQ(ErrorOf({"CLAIMOF", key_max + "k"}), "key must be 1..512 bytes");
}

TEST(ClaimParseTest, BinarySafe) {
  const std::string key("a\0b\r\n", 5);
  core::Command c = Ok({"CLAIM", key, std::string("\xff\x00", 2)});
  EXPECT_EQ(c.As<core::cmd::Claim>().key, key);
  EXPECT_EQ(c.As<core::cmd::Claim>().owner, std::string("\xff\x00", 2));
}

TEST(ClaimParseTest, OtherClaimCommands) {
  core::Command c = Ok({"UNCLAIM", "k", "o"});
  EXPECT_EQ(c.kind, core::CommandKind::kUnclaim);
  EXPECT_EQ(c.As<core::cmd::Unclaim>().key, "k");
  EXPECT_EQ(c.As<core::cmd::Unclaim>().owner, "o");
  c = Ok({"claimof", "k"});
  EXPECT_EQ(c.kind, core::CommandKind::kClaimOf);
  EXPECT_EQ(c.As<core::cmd::ClaimOf>().key, "k");
  c = Ok({"CLAIMLOG", "k"});
  EXPECT_EQ(c.kind, core::CommandKind::kClaimLog);
  EXPECT_EQ(c.As<core::cmd::ClaimLog>().count, 0);
  EXPECT_EQ(Ok({"CLAIMLOG", "k", "count", "1000"}).As<core::cmd::ClaimLog>().count, 1000);
  EXPECT_EQ(Ok({"CLAIMLOG", "k", "COUNT", "1"}).As<core::cmd::ClaimLog>().count, 1);
  EXPECT_EQ(ErrorOf({"CLAIMLOG", "k", "COUNT", "1001"}), "COUNT must be an integer in 1..1000");
  EXPECT_EQ(ErrorOf({"CLAIMLOG", "k", "COUNT", "0"}), "COUNT must be an integer in 1..1000");
  EXPECT_EQ(ErrorOf({"CLAIMLOG", "k", "COUNT"}), "syntax error, COUNT needs a value");
  EXPECT_EQ(ErrorOf({"CLAIMLOG", "k", "LIMIT", "5"}), "syntax error, unknown option 'LIMIT'");
  EXPECT_EQ(ErrorOf({"CLAIMLOG", "k", "COUNT", "5", "COUNT", "6"}),
            "syntax error, COUNT given twice");
}

TEST(LedgerParseTest, Account) {
  core::Command c = Ok({"ACCOUNT", "alice"});
  EXPECT_EQ(c.kind, core::CommandKind::kAccount);
  EXPECT_EQ(c.As<core::cmd::Account>().key, "alice");
  EXPECT_EQ(c.As<core::cmd::Account>().min, (core::Bound{false, 0}));
  EXPECT_TRUE(c.As<core::cmd::Account>().max.infinite);

  c = Ok({"ACCOUNT", "a", "max", "100", "MIN", "-inf"});
  EXPECT_TRUE(c.As<core::cmd::Account>().min.infinite);
  EXPECT_EQ(c.As<core::cmd::Account>().max, (core::Bound{false, 100}));
  c = Ok({"ACCOUNT", "a", "MIN", "-9223372036854775808", "MAX", "+INF"});
  EXPECT_EQ(c.As<core::cmd::Account>().min, (core::Bound{false, INT64_MIN}));
  EXPECT_TRUE(c.As<core::cmd::Account>().max.infinite);
  c = Ok({"ACCOUNT", "a", "MIN", "-5", "MAX", "-5"});
  EXPECT_EQ(c.As<core::cmd::Account>().min.value, -5);
  EXPECT_EQ(c.As<core::cmd::Account>().max.value, -5);

  EXPECT_EQ(ErrorOf({"ACCOUNT", "a", "MIN", "+inf"}), "MIN must be an integer or -inf");
  EXPECT_EQ(ErrorOf({"ACCOUNT", "a", "MAX", "-inf"}), "MAX must be an integer or +inf");
  EXPECT_EQ(ErrorOf({"ACCOUNT", "a", "MIN", "1.5"}), "MIN must be an integer or -inf");
  EXPECT_EQ(ErrorOf({"ACCOUNT", "a", "MAX", "9223372036854775808"}),
            "MAX must be an integer or +inf");
  EXPECT_EQ(ErrorOf({"ACCOUNT", "a", "MIN", "10", "MAX", "9"}), "MIN must not be greater than MAX");
  EXPECT_EQ(ErrorOf({"ACCOUNT", "a", "MIN"}), "syntax error, MIN needs a value");
  EXPECT_EQ(ErrorOf({"ACCOUNT", "a", "MIN", "1", "MIN", "2"}), "syntax error, MIN given twice");
  EXPECT_EQ(ErrorOf({"ACCOUNT", "a", "LOW", "1"}), "syntax error, unknown option 'LOW'");
}

TEST(LedgerParseTest, Transfer) {
  core::Command c = Ok({"TRANSFER", "t1", "alice", "bob", "250"});
  EXPECT_EQ(c.kind, core::CommandKind::kTransfer);
  EXPECT_EQ(c.As<core::cmd::Transfer>().id, "t1");
  EXPECT_EQ(c.As<core::cmd::Transfer>().from, "alice");
  EXPECT_EQ(c.As<core::cmd::Transfer>().to, "bob");
  EXPECT_EQ(c.As<core::cmd::Transfer>().amount, 250);
  EXPECT_EQ(c.As<core::cmd::Transfer>().per.kind, core::TimeSpec::Kind::kNone);

  c = Ok({"transfer", "t1", "a", "b", "9223372036854775807", "note", "rent", "per", "month", "tz",
          "+01:00", "at", "00:00"});
  EXPECT_EQ(c.As<core::cmd::Transfer>().amount, INT64_MAX);
  EXPECT_EQ(c.As<core::cmd::Transfer>().note, "rent");
  EXPECT_EQ(c.As<core::cmd::Transfer>().per.kind, core::TimeSpec::Kind::kPer);
  EXPECT_EQ(c.As<core::cmd::Transfer>().per.period, core::Period::kMonth);
  EXPECT_EQ(c.As<core::cmd::Transfer>().per.tz_minutes, 60);

  EXPECT_EQ(ErrorOf({"TRANSFER", "t1", "a", "b", "5", "TTL", "10"}),
            "syntax error, unknown option 'TTL'");
  EXPECT_EQ(ErrorOf({"TRANSFER", "t1", "a", "b", "5", "PERSIST"}),
            "syntax error, unknown option 'PERSIST'");
  EXPECT_EQ(ErrorOf({"TRANSFER", "t1", "a", "b", "5", "AT", "10:00"}),
            "syntax error, AT needs PER");
  EXPECT_EQ(ErrorOf({"TRANSFER", "t1", "a", "a", "5"}), "from and to must be different accounts");
}

TEST(LedgerParseTest, Amounts) {
  auto amount_error = [](const std::string& amount) {
    return ErrorOf({"TRANSFER", "t1", "a", "b", amount});
  };
  EXPECT_EQ(amount_error("0"), "amount must be a positive integer, got '0'");
  EXPECT_EQ(amount_error("-5"), "amount must be a positive integer, got '-5'");
  EXPECT_EQ(amount_error("-0"), "amount must be a positive integer, got '-0'");
  EXPECT_EQ(amount_error("1.5"),
            "amount must be a positive integer in minor units (no sign, point or exponent), got "
            "'1.5'");
  EXPECT_NE(amount_error("1e3").find("minor units"), std::string::npos);
  EXPECT_NE(amount_error("+5").find("minor units"), std::string::npos);
  EXPECT_NE(amount_error("05").find("minor units"), std::string::npos);
  EXPECT_NE(amount_error("").find("minor units"), std::string::npos);
  EXPECT_NE(amount_error("five").find("minor units"), std::string::npos);
  EXPECT_EQ(amount_error("99999999999999999999"),
            "amount is out of range (max 9223372036854775807), got '99999999999999999999'");
  EXPECT_NE(amount_error("9223372036854775808").find("out of range"), std::string::npos);
  EXPECT_EQ(Ok({"TRANSFER", "t1", "a", "b", "1"}).As<core::cmd::Transfer>().amount, 1);
}

TEST(LedgerParseTest, TransferLengths) {
  const std::string id_max(core::kOwnerBytesMax, 'i');
  const std::string key_max(core::kKeyBytesMax, 'k');
  core::Command c = Ok({"TRANSFER", id_max, key_max, "b", "1"});
  EXPECT_EQ(c.As<core::cmd::Transfer>().id, id_max);
  EXPECT_EQ(c.As<core::cmd::Transfer>().from, key_max);
  EXPECT_EQ(ErrorOf({"TRANSFER", id_max + "i", "a", "b", "1"}), "id must be 1..256 bytes");
  EXPECT_EQ(ErrorOf({"TRANSFER", "", "a", "b", "1"}), "id must be 1..256 bytes");
  EXPECT_EQ(ErrorOf({"TRANSFER", "t", key_max + "k", "b", "1"}), "from must be 1..512 bytes");
  EXPECT_EQ(ErrorOf({"TRANSFER", "t", "a", "", "1"}), "to must be 1..512 bytes");
  EXPECT_EQ(ErrorOf({"COMMIT", id_max + "i"}), "id must be 1..256 bytes");
}

TEST(LedgerParseTest, Reserve) {
  core::Command c = Ok({"RESERVE", "r1", "a", "b", "10", "timeout", "5000"});
  EXPECT_EQ(c.kind, core::CommandKind::kReserve);
  EXPECT_EQ(c.As<core::cmd::Reserve>().id, "r1");
  EXPECT_EQ(c.As<core::cmd::Reserve>().amount, 10);
  EXPECT_EQ(c.As<core::cmd::Reserve>().timeout.kind, core::TimeSpec::Kind::kTtl);
  EXPECT_EQ(c.As<core::cmd::Reserve>().timeout.ttl_ms, 5000);
  EXPECT_EQ(ErrorOf({"RESERVE", "r1", "a", "b", "10"}), "syntax error, RESERVE needs TIMEOUT ms");
  EXPECT_EQ(ErrorOf({"RESERVE", "r1", "a", "b", "10", "TIMEOUT"}),
            "syntax error, TIMEOUT needs a value");
  EXPECT_EQ(ErrorOf({"RESERVE", "r1", "a", "b", "10", "TIMEOUT", "0"}),
            "TIMEOUT must be an integer in 1..3153600000000 (ms)");
  EXPECT_EQ(ErrorOf({"RESERVE", "r1", "a", "b", "10", "TIMEOUT", "1", "TIMEOUT", "2"}),
            "syntax error, TIMEOUT given twice");
  EXPECT_EQ(ErrorOf({"RESERVE", "r1", "a", "b", "10", "TIMEOUT", "1", "NOTE", "x"}),
            "syntax error, unknown option 'NOTE'");
  EXPECT_EQ(ErrorOf({"RESERVE", "r1", "a", "b", "0", "TIMEOUT", "1"}),
            "amount must be a positive integer, got '0'");
}

TEST(LedgerParseTest, IdAndKeyCommands) {
  core::Command c = Ok({"COMMIT", "r1"});
  EXPECT_EQ(c.kind, core::CommandKind::kCommit);
  EXPECT_EQ(c.As<core::cmd::Commit>().id, "r1");
  c = Ok({"cancel", "r1"});
  EXPECT_EQ(c.kind, core::CommandKind::kCancel);
  EXPECT_EQ(c.As<core::cmd::Cancel>().id, "r1");
  c = Ok({"BALANCE", "alice"});
  EXPECT_EQ(c.kind, core::CommandKind::kBalance);
  EXPECT_EQ(c.As<core::cmd::Balance>().key, "alice");
  c = Ok({"HISTORY", "alice", "COUNT", "3"});
  EXPECT_EQ(c.kind, core::CommandKind::kHistory);
  EXPECT_EQ(c.As<core::cmd::History>().key, "alice");
  EXPECT_EQ(c.As<core::cmd::History>().count, 3);
  EXPECT_EQ(ErrorOf({"HISTORY", "alice", "COUNT", "x"}), "COUNT must be an integer in 1..1000");
  EXPECT_EQ(ErrorOf({"BALANCE", ""}), "key must be 1..512 bytes");
}

TEST(CommandReplyTest, CountListInfoAndErrors) {
  std::string out;
  RespWriter writer(&out, 2);
  std::vector<std::string_view> count = {"COMMAND", "count"};
  WriteCommandReply(writer, count);
  EXPECT_EQ(out, ":" + std::to_string(AllCommands().size()) + "\r\n");

  out.clear();
  std::vector<std::string_view> info = {"COMMAND", "INFO", "claim", "nope"};
  WriteCommandReply(writer, info);
  EXPECT_TRUE(
      out.starts_with("*2\r\n*10\r\n$5\r\nclaim\r\n:-3\r\n*1\r\n+write\r\n:1\r\n:1\r\n:1\r\n"))
      << out;
  EXPECT_TRUE(out.ends_with("$-1\r\n")) << out;

  out.clear();
  std::vector<std::string_view> bad = {"COMMAND", "FROB"};
  WriteCommandReply(writer, bad);
  EXPECT_EQ(out, "-ERR unknown subcommand 'FROB'. Try COMMAND HELP.\r\n");

  out.clear();
  std::vector<std::string_view> docs = {"COMMAND", "DOCS", "balance"};
  WriteCommandReply(writer, docs);
  // summary, since, group, syntax and the argument specs.
  EXPECT_TRUE(out.starts_with("*2\r\n$7\r\nbalance\r\n*10\r\n$7\r\nsummary\r\n")) << out;
  EXPECT_NE(out.find("$9\r\narguments\r\n*1\r\n*4\r\n$4\r\nname\r\n$3\r\nkey\r\n"),
            std::string::npos)
      << out;
}

TEST(CommandHelpTest, ListsEverySyntax) {
  const std::string help = CommandHelp();
  for (const CommandSpec& spec : AllCommands()) {
    EXPECT_NE(help.find(spec.syntax), std::string::npos) << spec.name;
  }
}

TEST(LockParseTest, LockOptions) {
  core::Command c = Ok({"lock", "L", "w1", "LEASE", "1000"});
  EXPECT_EQ(c.kind, core::CommandKind::kLock);
  EXPECT_EQ(c.As<core::cmd::Lock>().name, "L");
  EXPECT_EQ(c.As<core::cmd::Lock>().owner, "w1");
  EXPECT_EQ(c.As<core::cmd::Lock>().lease_ms, 1000);
  EXPECT_EQ(c.As<core::cmd::Lock>().wait_ms, 0);
  c = Ok({"LOCK", "L", "w1", "wait", "0", "LEASE", "1", "ID", "r-1"});
  EXPECT_EQ(c.As<core::cmd::Lock>().wait_ms, 0);
  EXPECT_EQ(c.As<core::cmd::Lock>().lease_ms, 1);
  EXPECT_EQ(c.As<core::cmd::Lock>().id, "r-1");
  EXPECT_EQ(Ok({"LOCK", "L", "w", "LEASE", std::to_string(core::kTtlMsMax), "WAIT",
                std::to_string(core::kTtlMsMax)})
                .As<core::cmd::Lock>()
                .wait_ms,
            core::kTtlMsMax);
  EXPECT_EQ(ErrorOf({"LOCK", "L", "w", "WAIT", "10", "ID", "x"}),
            "syntax error, LOCK needs LEASE ms");
  EXPECT_EQ(ErrorOf({"LOCK", "L", "w", "LEASE", "0"}),
            "LEASE must be an integer in 1..3153600000000 (ms)");
  EXPECT_EQ(ErrorOf({"LOCK", "L", "w", "LEASE", std::to_string(core::kTtlMsMax + 1)}),
            "LEASE must be an integer in 1..3153600000000 (ms)");
  EXPECT_EQ(ErrorOf({"LOCK", "L", "w", "LEASE", "5", "WAIT", "-1"}),
            "WAIT must be an integer in 0..3153600000000 (ms)");
  EXPECT_EQ(ErrorOf({"LOCK", "L", "w", "LEASE", "5", "LEASE", "6"}),
            "syntax error, LEASE given twice");
  EXPECT_EQ(ErrorOf({"LOCK", "L", "w", "LEASE", "5", "NOPE"}),
            "syntax error, unknown option 'NOPE'");
  EXPECT_EQ(ErrorOf({"LOCK", "L", "w", "LEASE"}), "wrong number of arguments for 'lock' command");
  EXPECT_EQ(ErrorOf({"LOCK", "", "w", "LEASE", "5"}), "key must be 1..512 bytes");
  EXPECT_EQ(ErrorOf({"LOCK", "L", std::string(core::kOwnerBytesMax + 1, 'o'), "LEASE", "5"}),
            "owner must be 1..256 bytes");
  EXPECT_TRUE(FindCommand("LOCK")->flags & kBlocking);
  EXPECT_TRUE(FindCommand("IDEM")->flags & kBlocking);
  EXPECT_TRUE(FindCommand("FENCE")->flags & kReadonly);
}

TEST(LockParseTest, Tokens) {
  EXPECT_EQ(Ok({"UNLOCK", "L", "18446744073709551615"}).As<core::cmd::Unlock>().token, UINT64_MAX);
  EXPECT_EQ(Ok({"FENCE", "L", "0"}).As<core::cmd::Fence>().token, 0u);
  for (std::string bad : {"18446744073709551616", "-1", "+1", "01", "1.0", "", "x"}) {
    EXPECT_EQ(ErrorOf({"UNLOCK", "L", bad}), "token must be an unsigned 64-bit integer") << bad;
  }
  core::Command renew = Ok({"RENEW", "L", "42", "lease", "500"});
  EXPECT_EQ(renew.kind, core::CommandKind::kRenew);
  EXPECT_EQ(renew.As<core::cmd::Renew>().token, 42u);
  EXPECT_EQ(renew.As<core::cmd::Renew>().lease_ms, 500);
  EXPECT_EQ(ErrorOf({"RENEW", "L", "42", "TTL", "500"}), "syntax error, RENEW needs LEASE ms");
}

TEST(LockParseTest, IfLockOnMutatingCommands) {
  core::Command c = Ok({"TRANSFER", "t", "a", "b", "5", "IFLOCK", "L", "7", "NOTE", "n"});
  EXPECT_EQ(c.iflock_name, "L");
  EXPECT_EQ(c.iflock_token, 7u);
  EXPECT_EQ(c.As<core::cmd::Transfer>().note, "n");
  EXPECT_EQ(Ok({"CLAIM", "k", "o", "iflock", "L", "8"}).iflock_token, 8u);
  EXPECT_EQ(Ok({"UNCLAIM", "k", "o", "IFLOCK", "L", "9"}).iflock_token, 9u);
  EXPECT_EQ(Ok({"RESERVE", "r", "a", "b", "5", "IFLOCK", "L", "1", "TIMEOUT", "10"}).iflock_name,
            "L");
  EXPECT_EQ(Ok({"COMMIT", "r", "IFLOCK", "L", "2"}).iflock_token, 2u);
  EXPECT_EQ(Ok({"CANCEL", "r", "IFLOCK", "L", "3"}).iflock_token, 3u);
  EXPECT_EQ(Ok({"IDEM", "END", "k", "5", "resp", "IFLOCK", "L", "4"}).iflock_token, 4u);
  EXPECT_EQ(ErrorOf({"COMMIT", "r", "IFLOCK", "L"}),
            "syntax error, IFLOCK needs a lock name and a token");
  EXPECT_EQ(ErrorOf({"COMMIT", "r", "IFLOCK", "L", "x"}),
            "token must be an unsigned 64-bit integer");
  EXPECT_EQ(ErrorOf({"COMMIT", "r", "IFLOCK", "L", "1", "IFLOCK", "L", "2"}),
            "syntax error, IFLOCK given twice");
  EXPECT_EQ(ErrorOf({"UNCLAIM", "k", "o", "x"}), "syntax error, unknown option 'x'");
}

TEST(IdemParseTest, Subcommands) {
  core::Command c = Ok({"idem", "begin", "pay:1"});
  EXPECT_EQ(c.kind, core::CommandKind::kIdemBegin);
  EXPECT_EQ(c.As<core::cmd::IdemBegin>().key, "pay:1");
  EXPECT_EQ(c.As<core::cmd::IdemBegin>().lease_ms, core::kIdemLeaseMsDefault);
  EXPECT_EQ(c.As<core::cmd::IdemBegin>().ttl_ms, core::kIdemTtlMsDefault);
  c = Ok({"IDEM", "BEGIN", "k", "FINGERPRINT", "f", "LEASE", "5", "TTL", "6", "WAIT", "7"});
  EXPECT_EQ(c.As<core::cmd::IdemBegin>().fingerprint, "f");
  EXPECT_EQ(c.As<core::cmd::IdemBegin>().lease_ms, 5);
  EXPECT_EQ(c.As<core::cmd::IdemBegin>().ttl_ms, 6);
  EXPECT_EQ(c.As<core::cmd::IdemBegin>().wait_ms, 7);
  c = Ok({"IDEM", "END", "k", "12", ""});
  EXPECT_EQ(c.kind, core::CommandKind::kIdemEnd);
  EXPECT_EQ(c.As<core::cmd::IdemEnd>().token, 12u);
  EXPECT_EQ(c.As<core::cmd::IdemEnd>().response, "");
  const std::string response_max(core::kIdemResponseBytesMax, 'r');
  EXPECT_EQ(Ok({"IDEM", "END", "k", "12", response_max}).As<core::cmd::IdemEnd>().response.size(),
            response_max.size());
  EXPECT_EQ(ErrorOf({"IDEM", "END", "k", "12", response_max + "r"}),
            "response must be 0..65536 bytes");
  EXPECT_EQ(ErrorOf({"IDEM", "END", "k", "12"}), "wrong number of arguments for 'idem' command");
  c = Ok({"IDEM", "ABORT", "k", "3"});
  EXPECT_EQ(c.kind, core::CommandKind::kIdemAbort);
  EXPECT_EQ(c.As<core::cmd::IdemAbort>().token, 3u);
  EXPECT_EQ(ErrorOf({"IDEM", "FINISH", "k"}), "unknown subcommand 'FINISH'. Try IDEM HELP.");
  EXPECT_EQ(ErrorOf({"IDEM", "BEGIN", "k", "FINGERPRINT", ""}), "fingerprint must be 1..512 bytes");
  EXPECT_EQ(ErrorOf({"IDEM", "BEGIN", "k", "LEASE", "0"}),
            "LEASE must be an integer in 1..3153600000000 (ms)");
  EXPECT_EQ(ErrorOf({"IDEM", "ABORT", "k", "-3"}), "token must be an unsigned 64-bit integer");
}

TEST(LimitParseTest, RateAndWindow) {
  core::Command c = Ok({"LIMIT", "api", "RATE", "10", "PER", "1000"});
  EXPECT_EQ(c.kind, core::CommandKind::kLimit);
  EXPECT_FALSE(c.As<core::cmd::Limit>().window);
  EXPECT_EQ(c.As<core::cmd::Limit>().n, 10);
  EXPECT_EQ(c.As<core::cmd::Limit>().per_ms, 1000);
  EXPECT_EQ(c.As<core::cmd::Limit>().burst, 0);
  EXPECT_EQ(c.As<core::cmd::Limit>().cost, 1);
  c = Ok({"limit", "api", "rate", "10", "per", "1000", "cost", "20", "burst", "20"});
  EXPECT_EQ(c.As<core::cmd::Limit>().burst, 20);
  EXPECT_EQ(c.As<core::cmd::Limit>().cost, 20);
  c = Ok({"LIMIT", "login", "WINDOW", "5", "PER", "1000", "COST", "5"});
  EXPECT_TRUE(c.As<core::cmd::Limit>().window);
  EXPECT_EQ(c.As<core::cmd::Limit>().cost, 5);
  const std::string count_max = std::to_string(core::kLimitCountMax);
  EXPECT_EQ(Ok({"LIMIT", "k", "RATE", count_max, "PER", "1"}).As<core::cmd::Limit>().n,
            core::kLimitCountMax);
  EXPECT_EQ(ErrorOf({"LIMIT", "k", "RATE", std::to_string(core::kLimitCountMax + 1), "PER", "1"}),
            "RATE must be an integer in 1..1000000");
  EXPECT_EQ(ErrorOf({"LIMIT", "k", "WINDOW", "0", "PER", "1"}),
            "WINDOW must be an integer in 1..1000000");
  EXPECT_EQ(ErrorOf({"LIMIT", "k", "RATE", "5", "PER", "0"}),
            "PER must be an integer in 1..3153600000000 (ms)");
  EXPECT_EQ(ErrorOf({"LIMIT", "k", "RATE", "5", "EVERY", "10"}),
            "syntax error, LIMIT needs PER ms");
  EXPECT_EQ(ErrorOf({"LIMIT", "k", "SPEED", "5", "PER", "10"}),
            "syntax error, LIMIT needs RATE or WINDOW");
  EXPECT_EQ(ErrorOf({"LIMIT", "k", "RATE", "5", "PER", "10", "COST", "6"}),
            "COST must not exceed BURST (or n without BURST)");
  EXPECT_EQ(ErrorOf({"LIMIT", "k", "WINDOW", "5", "PER", "10", "BURST", "6"}),
            "syntax error, unknown option 'BURST'");
  EXPECT_EQ(ErrorOf({"LIMIT", "k", "WINDOW", "5", "PER", "10", "COST", "1", "COST", "1"}),
            "syntax error, COST given twice");
}

}  // namespace
}  // namespace exactly::net
