// Tests for net/resp_parser: framing, partial input, pipelining, inline commands and
// every limit checked before the bytes arrive.
#include "net/resp_parser.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace exactly::net {
namespace {

using Args = std::vector<std::string_view>;

ParseResult Parse(std::string_view buffer, Args* args, const ParserLimits& limits = {}) {
  return ParseCommand(buffer, limits, args);
}

std::vector<std::string> Strings(const Args& args) { return {args.begin(), args.end()}; }

TEST(RespParserTest, ParsesMultibulk) {
  Args args;
  const std::string frame = "*3\r\n$5\r\nCLAIM\r\n$3\r\nkey\r\n$5\r\nalice\r\n";
  ParseResult result = Parse(frame, &args);
  ASSERT_EQ(result.status, ParseStatus::kCommand);
  EXPECT_EQ(result.consumed, frame.size());
  EXPECT_EQ(Strings(args), (std::vector<std::string>{"CLAIM", "key", "alice"}));
}

TEST(RespParserTest, ArgsPointIntoTheBuffer) {
  Args args;
  const std::string frame = "*1\r\n$4\r\nPING\r\n";
  ASSERT_EQ(Parse(frame, &args).status, ParseStatus::kCommand);
  ASSERT_EQ(args.size(), 1u);
  EXPECT_EQ(args[0].data(), frame.data() + 8);
}

TEST(RespParserTest, EveryPrefixOfAValidFrameNeedsMore) {
  const std::vector<std::string> frames = {
      "*3\r\n$5\r\nCLAIM\r\n$3\r\nkey\r\n$5\r\nalice\r\n",
      "*2\r\n$0\r\n\r\n$4\r\na\r\nb\r\n",
      "*1\r\n$10\r\n0123456789\r\n",
      "PING\r\n",
      "CLAIM key \"alice smith\"\r\n",
      "*0\r\n",
  };
  for (const std::string& frame : frames) {
    for (size_t cut = 0; cut < frame.size(); ++cut) {
      Args args;
      ParseResult result = Parse(std::string_view(frame).substr(0, cut), &args);
      EXPECT_EQ(result.status, ParseStatus::kNeedMore) << "frame " << frame << " cut " << cut;
    }
    Args args;
    ParseResult result = Parse(frame, &args);
    EXPECT_EQ(result.status, ParseStatus::kCommand) << frame;
    EXPECT_EQ(result.consumed, frame.size()) << frame;
  }
}

TEST(RespParserTest, BinarySafeBulkWithCrLfInside) {
  Args args;
  const std::string frame = std::string("*2\r\n$3\r\nSET\r\n$6\r\na\r\n\0b\n\r\n", 26);
  ParseResult result = Parse(frame, &args);
  ASSERT_EQ(result.status, ParseStatus::kCommand);
  ASSERT_EQ(args.size(), 2u);
  EXPECT_EQ(args[1], std::string_view("a\r\n\0b\n", 6));
}

TEST(RespParserTest, PipelinedFramesParseOneAtATime) {
  const std::string buffer =
      "*1\r\n$4\r\nPING\r\nECHO hi\r\n*2\r\n$4\r\nECHO\r\n$2\r\nyo\r\n*1\r\n$4";
  Args args;
  size_t offset = 0;
  std::vector<std::vector<std::string>> seen;
  while (true) {
    ParseResult result = Parse(std::string_view(buffer).substr(offset), &args);
    if (result.status != ParseStatus::kCommand) {
      EXPECT_EQ(result.status, ParseStatus::kNeedMore);
      break;
    }
    seen.push_back(Strings(args));
    offset += result.consumed;
  }
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0], (std::vector<std::string>{"PING"}));
  EXPECT_EQ(seen[1], (std::vector<std::string>{"ECHO", "hi"}));
  EXPECT_EQ(seen[2], (std::vector<std::string>{"ECHO", "yo"}));
  EXPECT_EQ(buffer.substr(offset), "*1\r\n$4");
}

TEST(RespParserTest, EmptyAndNullMultibulkAreConsumedWithoutArgs) {
  for (std::string frame : {"*0\r\n", "*-1\r\n"}) {
    Args args = {"stale"};
    ParseResult result = Parse(frame, &args);
    EXPECT_EQ(result.status, ParseStatus::kCommand);
    EXPECT_EQ(result.consumed, frame.size());
    EXPECT_TRUE(args.empty());
  }
}

TEST(RespParserTest, InlineCommands) {
  Args args;
  ParseResult result = Parse("  CLAIM\tkey   owner  \r\nrest", &args);
  ASSERT_EQ(result.status, ParseStatus::kCommand);
  EXPECT_EQ(result.consumed, 23u);
  EXPECT_EQ(Strings(args), (std::vector<std::string>{"CLAIM", "key", "owner"}));

  result = Parse("PING\nPING\n", &args);  // a bare LF ends a line too
  ASSERT_EQ(result.status, ParseStatus::kCommand);
  EXPECT_EQ(result.consumed, 5u);

  result = Parse("CLAIM \"a key\" 'it''s'\r\n", &args);
  EXPECT_EQ(result.status, ParseStatus::kError);  // a closing quote must end the word

  result = Parse("CLAIM \"a key\" 'o w' \"\"\r\n", &args);
  ASSERT_EQ(result.status, ParseStatus::kCommand);
  EXPECT_EQ(Strings(args), (std::vector<std::string>{"CLAIM", "a key", "o w", ""}));
}

TEST(RespParserTest, EmptyInlineLinesAreSkipped) {
  Args args = {"stale"};
  ParseResult result = Parse("\r\n", &args);
  EXPECT_EQ(result.status, ParseStatus::kCommand);
  EXPECT_EQ(result.consumed, 2u);
  EXPECT_TRUE(args.empty());
  result = Parse("   \n", &args);
  EXPECT_EQ(result.status, ParseStatus::kCommand);
  EXPECT_EQ(result.consumed, 4u);
  EXPECT_TRUE(args.empty());
}

TEST(RespParserTest, UnbalancedQuotesAreAnError) {
  Args args;
  ParseResult result = Parse("CLAIM \"key owner\r\n", &args);
  EXPECT_EQ(result.status, ParseStatus::kError);
  EXPECT_EQ(result.error, "Protocol error: unbalanced quotes in request");
}

TEST(RespParserTest, HugeDeclaredBulkIsRefusedBeforeTheBytesArrive) {
  Args args;
  ParseResult result = Parse("*2\r\n$4\r\nECHO\r\n$1048577\r\n", &args);
  EXPECT_EQ(result.status, ParseStatus::kError);
  EXPECT_EQ(result.error, "Protocol error: invalid bulk length");
  result = Parse("*1\r\n$99999999999999999999999\r\n", &args);
  EXPECT_EQ(result.status, ParseStatus::kError);
}

TEST(RespParserTest, BulkAtTheLimitWaitsForItsBytes) {
  Args args;
  std::string frame = "*1\r\n$1048576\r\n" + std::string(10, 'x');
  EXPECT_EQ(Parse(frame, &args).status, ParseStatus::kNeedMore);
  frame += std::string(1048576 - 10, 'x') + "\r\n";
  ParseResult result = Parse(frame, &args);
  ASSERT_EQ(result.status, ParseStatus::kCommand);
  EXPECT_EQ(args[0].size(), 1048576u);
}

TEST(RespParserTest, LimitsAreConfigurable) {
  Args args;
  ParserLimits limits;
  limits.bulk_bytes_max = 3;
  EXPECT_EQ(Parse("*1\r\n$3\r\nabc\r\n", &args, limits).status, ParseStatus::kCommand);
  EXPECT_EQ(Parse("*1\r\n$4\r\n", &args, limits).status, ParseStatus::kError);
  limits.args_max = 2;
  EXPECT_EQ(Parse("*2\r\n", &args, limits).status, ParseStatus::kNeedMore);
  EXPECT_EQ(Parse("*3\r\n", &args, limits).status, ParseStatus::kError);
  EXPECT_EQ(Parse("a b\r\n", &args, limits).status, ParseStatus::kCommand);
  ParseResult result = Parse("a b c\r\n", &args, limits);
  EXPECT_EQ(result.status, ParseStatus::kError);
  EXPECT_EQ(result.error, "Protocol error: too many arguments");
}

TEST(RespParserTest, TooManyArgsAtTheDefaultLimit) {
  Args args;
  EXPECT_EQ(Parse("*1024\r\n", &args).status, ParseStatus::kNeedMore);
  ParseResult result = Parse("*1025\r\n", &args);
  EXPECT_EQ(result.status, ParseStatus::kError);
  EXPECT_EQ(result.error, "Protocol error: invalid multibulk length");
}

TEST(RespParserTest, GarbageLengthsAreErrors) {
  const std::vector<std::string> bad = {
      "*abc\r\n",       "*\r\n",        "*3x\r\n",
      "*+3\r\n",        "*3\rX",        "*1\r\n$-1\r\n",
      "*1\r\n$abc\r\n", "*1\r\n$\r\n",  "*1\r\n$3\r\nabcXY",
      "*1\r\n:3\r\n",   "*1\r\n*1\r\n", "*1\r\n$3\r\nabc\n\n",
  };
  for (const std::string& frame : bad) {
    Args args;
    ParseResult result = Parse(frame, &args);
    EXPECT_EQ(result.status, ParseStatus::kError) << frame;
    EXPECT_FALSE(result.error.empty()) << frame;
  }
}

TEST(RespParserTest, NestedTypeByteIsNamed) {
  Args args;
  ParseResult result = Parse("*1\r\n*1\r\n$1\r\na\r\n", &args);
  ASSERT_EQ(result.status, ParseStatus::kError);
  EXPECT_EQ(result.error, "Protocol error: expected '$', got '*'");
}

TEST(RespParserTest, HeaderWithoutLineEndIsAnErrorOnceTooLong) {
  Args args;
  EXPECT_EQ(Parse("*1" + std::string(20, '0'), &args).status, ParseStatus::kNeedMore);
  EXPECT_EQ(Parse("*1" + std::string(40, '0'), &args).status, ParseStatus::kError);
}

TEST(RespParserTest, InlineLineLimit) {
  Args args;
  ParserLimits limits;
  limits.inline_bytes_max = 8;
  EXPECT_EQ(Parse("12345678\r\n", &args, limits).status, ParseStatus::kCommand);
  EXPECT_EQ(Parse("12345678\r", &args, limits).status, ParseStatus::kNeedMore);
  EXPECT_EQ(Parse("123456789\r\n", &args, limits).status, ParseStatus::kError);
  ParseResult result = Parse("1234567890", &args, limits);
  EXPECT_EQ(result.status, ParseStatus::kError);
  EXPECT_EQ(result.error, "Protocol error: too big inline request");
  // With the default limit, 64 KiB without a newline is still a slow client.
  EXPECT_EQ(Parse(std::string(65536, 'a'), &args).status, ParseStatus::kNeedMore);
  EXPECT_EQ(Parse(std::string(65538, 'a'), &args).status, ParseStatus::kError);
}

TEST(RespParserTest, EmptyBufferNeedsMore) {
  Args args;
  EXPECT_EQ(Parse("", &args).status, ParseStatus::kNeedMore);
}

}  // namespace
}  // namespace exactly::net
