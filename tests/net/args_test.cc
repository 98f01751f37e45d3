// Tests for net/args (strict integers, keywords, clock and offset forms) and the
// shape of net/errors texts that echo user input.
#include "net/args.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "net/errors.h"

namespace exactly::net {
namespace {

TEST(ArgsTest, ParseInt64IsStrict) {
  EXPECT_EQ(ParseInt64("0"), 0);
  EXPECT_EQ(ParseInt64("7"), 7);
  EXPECT_EQ(ParseInt64("-7"), -7);
  EXPECT_EQ(ParseInt64("9223372036854775807"), INT64_MAX);
  EXPECT_EQ(ParseInt64("-9223372036854775808"), INT64_MIN);
  for (std::string bad :
       {"", "-", "+1", "01", "-0", "00", " 1", "1 ", "1.0", "1e3", "0x10", "9223372036854775808",
        "-9223372036854775809", "99999999999999999999", "12a"}) {
    EXPECT_FALSE(ParseInt64(bad).has_value()) << bad;
  }
}

TEST(ArgsTest, KeywordIsCaseInsensitiveAndExact) {
  EXPECT_TRUE(KeywordIs("ttl", "TTL"));
  EXPECT_TRUE(KeywordIs("TtL", "TTL"));
  EXPECT_FALSE(KeywordIs("TTLX", "TTL"));
  EXPECT_FALSE(KeywordIs("TT", "TTL"));
  EXPECT_TRUE(KeywordIs("-InF", "-INF"));
}

TEST(ArgsTest, ClockAndOffset) {
  EXPECT_EQ(ParseClock("00:00"), 0);
  EXPECT_EQ(ParseClock("23:59"), 23 * 60 + 59);
  EXPECT_FALSE(ParseClock("24:00"));
  EXPECT_EQ(ParseTzOffset("+00:00"), 0);
  EXPECT_EQ(ParseTzOffset("-00:30"), -30);
  EXPECT_EQ(ParseTzOffset("+05:45"), 5 * 60 + 45);
  EXPECT_EQ(ParseTzOffset("+14:00"), 14 * 60);
  EXPECT_FALSE(ParseTzOffset("+14:01"));
  EXPECT_FALSE(ParseTzOffset("-14:30"));
}

TEST(ArgsTest, TakeValueAdvancesPastOptionAndValue) {
  std::vector<std::string_view> args = {"CMD", "NOTE", "text", "NOTE"};
  size_t i = 1;
  std::string_view value;
  std::string error;
  ASSERT_TRUE(TakeValue(args, &i, "NOTE", &value, &error));
  EXPECT_EQ(value, "text");
  EXPECT_EQ(i, 3u);
  EXPECT_FALSE(TakeValue(args, &i, "NOTE", &value, &error));
  EXPECT_EQ(error, "syntax error, NOTE needs a value");
}

TEST(ErrorsTest, UnknownCommandEchoIsBounded) {
  const std::string long_arg(500, 'x');
  std::vector<std::string_view> args = {long_arg, long_arg, "b"};
  const std::string message = ErrUnknownCommand(std::string(300, 'N'), args);
  EXPECT_LT(message.size(), 400u);
  EXPECT_TRUE(message.starts_with("unknown command '" + std::string(128, 'N') + "'"));
}

TEST(ErrorsTest, ArityNameIsLowerCase) {
  EXPECT_EQ(ErrArity("TRANSFER"), "wrong number of arguments for 'transfer' command");
  EXPECT_EQ(ErrUnknownSubcommand("client", "X"), "unknown subcommand 'X'. Try CLIENT HELP.");
}

}  // namespace
}  // namespace exactly::net
