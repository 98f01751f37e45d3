// Tests for net/resp_writer: the exact bytes of every value kind in RESP2 and RESP3.
#include "net/resp_writer.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

#include "core/reply.h"

namespace exactly::net {
namespace {

std::string Write(int protocol, void (*write)(RespWriter&)) {
  std::string out;
  RespWriter writer(&out, protocol);
  write(writer);
  return out;
}

TEST(RespWriterTest, Scalars) {
  std::string out;
  RespWriter writer(&out, 2);
  writer.Simple("OK");
  writer.Bulk(std::string_view("a\r\n\0", 4));
  writer.Bulk("");
  writer.Integer(0);
  writer.Integer(-42);
  writer.Integer(std::numeric_limits<int64_t>::min());
  writer.Integer(std::numeric_limits<int64_t>::max());
  using namespace std::string_literals;
  EXPECT_EQ(out,
            "+OK\r\n$4\r\na\r\n\0\r\n$0\r\n\r\n:0\r\n:-42\r\n"
            ":-9223372036854775808\r\n:9223372036854775807\r\n"s);
}

TEST(RespWriterTest, AppendsToExistingOutput) {
  std::string out = "+PONG\r\n";
  RespWriter(&out, 3).Integer(7);
  EXPECT_EQ(out, "+PONG\r\n:7\r\n");
}

TEST(RespWriterTest, NullBooleanDoubleVerbatimDifferByProtocol) {
  auto values = [](RespWriter& w) {
    w.Null();
    w.Boolean(true);
    w.Boolean(false);
    w.Double(1.5);
    w.Verbatim("a: 1");
  };
  EXPECT_EQ(Write(2, values), "$-1\r\n:1\r\n:0\r\n$3\r\n1.5\r\n$4\r\na: 1\r\n");
  EXPECT_EQ(Write(3, values), "_\r\n#t\r\n#f\r\n,1.5\r\n=8\r\ntxt:a: 1\r\n");
}

TEST(RespWriterTest, Headers) {
  auto headers = [](RespWriter& w) {
    w.ArrayHeader(0);
    w.ArrayHeader(12);
    w.MapHeader(3);
  };
  EXPECT_EQ(Write(2, headers), "*0\r\n*12\r\n*6\r\n");
  EXPECT_EQ(Write(3, headers), "*0\r\n*12\r\n%3\r\n");
}

TEST(RespWriterTest, ErrorsCannotBreakFraming) {
  std::string out;
  RespWriter writer(&out, 2);
  writer.Error("ERR", "unknown command 'a\r\nb'");
  writer.Error("", "x");
  writer.Error("NOAUTH", "Authentication required.");
  writer.Simple("a\nb");
  EXPECT_EQ(out,
            "-ERR unknown command 'a  b'\r\n-ERR x\r\n-NOAUTH Authentication required.\r\n"
            "+a b\r\n");
}

core::Reply ClaimHeld() {
  core::Reply reply = core::Reply::WithOutcome(core::Outcome::kHeld);
  reply.Add("owner", std::string("bob")).Add("since", int64_t{1000}).Add("expires", int64_t{-1});
  return reply;
}

TEST(RespWriterTest, ReplyAsResp2FlatArray) {
  std::string out;
  RespWriter(&out, 2).Reply(ClaimHeld());
  EXPECT_EQ(out,
            "*8\r\n$6\r\nresult\r\n$4\r\nheld\r\n$5\r\nowner\r\n$3\r\nbob\r\n"
            "$5\r\nsince\r\n:1000\r\n$7\r\nexpires\r\n:-1\r\n");
}

TEST(RespWriterTest, ReplyAsResp3Map) {
  std::string out;
  RespWriter(&out, 3).Reply(ClaimHeld());
  EXPECT_EQ(out,
            "%4\r\n$6\r\nresult\r\n$4\r\nheld\r\n$5\r\nowner\r\n$3\r\nbob\r\n"
            "$5\r\nsince\r\n:1000\r\n$7\r\nexpires\r\n:-1\r\n");
}

// Every length the copy of a value takes a different path for (none, bytes, two
// overlapping 4- or 8-byte words, memcpy) writes exactly the value.
TEST(RespWriterTest, ValuesOfEveryLengthAreCopiedExactly) {
  for (size_t n = 0; n <= 40; ++n) {
    std::string value;
    for (size_t i = 0; i < n; ++i) value.push_back(static_cast<char>('a' + i % 26));
    core::Reply reply = core::Reply::WithOutcome(core::Outcome::kWon);
    reply.AddText("key", value);
    std::string out = "prefix";
    RespWriter(&out, 3).Reply(reply);
    EXPECT_EQ(out, "prefix%2\r\n$6\r\nresult\r\n$3\r\nwon\r\n$3\r\nkey\r\n$" + std::to_string(n) +
                       "\r\n" + value + "\r\n")
        << n;
  }
}

TEST(RespWriterTest, BoundsAreStrings) {
  core::Reply reply = core::Reply::WithOutcome(core::Outcome::kCreated);
  reply.Add("min", std::string("-inf")).Add("max", std::string("+inf"));
  std::string out;
  RespWriter(&out, 3).Reply(reply);
  EXPECT_EQ(out,
            "%3\r\n$6\r\nresult\r\n$7\r\ncreated\r\n$3\r\nmin\r\n$4\r\n-inf\r\n"
            "$3\r\nmax\r\n$4\r\n+inf\r\n");
}

TEST(RespWriterTest, NestedListsAreArraysOfReplies) {
  core::Reply entry = core::Reply::WithOutcome(core::Outcome::kWon);
  entry.Add("since", int64_t{5});
  core::Reply log = core::Reply::WithOutcome(core::Outcome::kOk);
  log.Add("entries", std::vector<core::Reply>{entry, entry});
  log.Add("empty", std::vector<core::Reply>{});

  std::string resp2;
  RespWriter(&resp2, 2).Reply(log);
  const std::string entry2 = "*4\r\n$6\r\nresult\r\n$3\r\nwon\r\n$5\r\nsince\r\n:5\r\n";
  EXPECT_EQ(resp2, "*6\r\n$6\r\nresult\r\n$2\r\nok\r\n$7\r\nentries\r\n*2\r\n" + entry2 + entry2 +
                       "$5\r\nempty\r\n*0\r\n");

  std::string resp3;
  RespWriter(&resp3, 3).Reply(log);
  const std::string entry3 = "%2\r\n$6\r\nresult\r\n$3\r\nwon\r\n$5\r\nsince\r\n:5\r\n";
  EXPECT_EQ(resp3, "%3\r\n$6\r\nresult\r\n$2\r\nok\r\n$7\r\nentries\r\n*2\r\n" + entry3 + entry3 +
                       "$5\r\nempty\r\n*0\r\n");
}

// CLAIMLOG and HISTORY entries carry fields but no outcome: no `result` field.
TEST(RespWriterTest, ListEntryWithoutOutcomeHasOnlyItsFields) {
  core::Reply entry;
  entry.Add("event", std::string("claim")).Add("at", int64_t{7});
  std::string resp2;
  RespWriter(&resp2, 2).Reply(entry);
  EXPECT_EQ(resp2, "*4\r\n$5\r\nevent\r\n$5\r\nclaim\r\n$2\r\nat\r\n:7\r\n");
  std::string resp3;
  RespWriter(&resp3, 3).Reply(entry);
  EXPECT_EQ(resp3, "%2\r\n$5\r\nevent\r\n$5\r\nclaim\r\n$2\r\nat\r\n:7\r\n");
}

TEST(RespWriterTest, EngineErrorReply) {
  std::string out;
  RespWriter(&out, 3).Reply(core::Reply::Error("ERR", "account exists with other bounds"));
  EXPECT_EQ(out, "-ERR account exists with other bounds\r\n");
}

}  // namespace
}  // namespace exactly::net
