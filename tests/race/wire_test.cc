// Tests for race/wire: targets, request bytes, command splitting, response readers.
#include "race/wire.h"

#include <gtest/gtest.h>

#include "race/h2.h"

namespace exactly::race {
namespace {

TEST(WireTest, ParsesTargets) {
  base::Result<Target> http = ParseTarget("http://127.0.0.1:8000/api/sign?u={{user}}");
  ASSERT_TRUE(http.ok());
  EXPECT_EQ(http->scheme, Target::Scheme::kHttp);
  EXPECT_EQ(http->host, "127.0.0.1");
  EXPECT_EQ(http->port, 8000);
  EXPECT_EQ(http->path, "/api/sign?u={{user}}");
  base::Result<Target> resp = ParseTarget("resp://localhost");
  ASSERT_TRUE(resp.ok());
  EXPECT_EQ(resp->scheme, Target::Scheme::kResp);
  EXPECT_EQ(resp->port, 7379);
  EXPECT_EQ(ParseTarget("http://example.com")->path, "/");
  EXPECT_FALSE(ParseTarget("ftp://x").ok());
  EXPECT_FALSE(ParseTarget("http://:80/").ok());
  EXPECT_FALSE(ParseTarget("http://h:99999/").ok());
}

TEST(WireTest, SerializesHttpWithLengthAndType) {
  HttpRequest r;
  r.method = "POST";
  r.host = "h:1";
  r.path = "/x";
  r.headers = {{"X-User", "ann"}};
  r.body = "{\"a\":1}";
  const std::string bytes = SerializeHttp(r);
  EXPECT_TRUE(bytes.starts_with("POST /x HTTP/1.1\r\nHost: h:1\r\n"));
  EXPECT_NE(bytes.find("X-User: ann\r\n"), std::string::npos);
  EXPECT_NE(bytes.find("Content-Type: application/json\r\n"), std::string::npos);
  EXPECT_NE(bytes.find("Content-Length: 7\r\n\r\n{\"a\":1}"), std::string::npos);
}

TEST(WireTest, SplitsCommandsWithQuotes) {
  base::Result<std::vector<std::string>> w = SplitCommand("CLAIM 'a b' \"c\" d");
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(*w, (std::vector<std::string>{"CLAIM", "a b", "c", "d"}));
  EXPECT_FALSE(SplitCommand("CLAIM 'a").ok());
  EXPECT_FALSE(SplitCommand("   ").ok());
  EXPECT_EQ(SerializeResp({"PING"}), "*1\r\n$4\r\nPING\r\n");
}

TEST(WireTest, RendersRespReplies) {
  std::string text;
  bool error = false;
  const std::string flat = "*4\r\n$6\r\nresult\r\n$2\r\nok\r\n$2\r\nid\r\n:7\r\n";
  EXPECT_EQ(ParseRespValue(flat, text, error), static_cast<int64_t>(flat.size()));
  EXPECT_EQ(text, "result ok id 7");
  EXPECT_FALSE(error);
  EXPECT_EQ(ParseRespValue(flat.substr(0, flat.size() - 2), text, error), 0);
  EXPECT_GT(ParseRespValue("-ERR nope\r\n", text, error), 0);
  EXPECT_TRUE(error);
  EXPECT_EQ(text, "-ERR nope");
  EXPECT_EQ(ParseRespValue("?x\r\n", text, error), -1);
  const std::string map = "%1\r\n+result\r\n+won\r\n";
  EXPECT_GT(ParseRespValue(map, text, error), 0);
  EXPECT_EQ(text, "result won");
}

TEST(WireTest, RespReaderGivesStatusAndLeftover) {
  auto reader = MakeRespReader();
  EXPECT_EQ(reader->Feed("+O"), ResponseReader::Progress::kNeedMore);
  EXPECT_EQ(reader->Feed("K\r\n:1\r\n"), ResponseReader::Progress::kDone);
  EXPECT_EQ(reader->status(), 200);
  EXPECT_EQ(reader->body(), "OK");
  EXPECT_EQ(reader->TakeLeftover(), ":1\r\n");
}

TEST(WireTest, HttpReaderHandlesSplitsAndCloseDelimitedBodies) {
  auto reader = MakeHttpReader();
  EXPECT_EQ(reader->Feed("HTTP/1.1 409 Conflict\r\nContent-Le"),
            ResponseReader::Progress::kNeedMore);
  EXPECT_EQ(reader->Feed("ngth: 5\r\n\r\nta"), ResponseReader::Progress::kNeedMore);
  EXPECT_EQ(reader->Feed("ken"), ResponseReader::Progress::kDone);
  EXPECT_EQ(reader->status(), 409);
  EXPECT_EQ(reader->body(), "taken");
  auto until_close = MakeHttpReader();
  EXPECT_EQ(until_close->Feed("HTTP/1.0 200 OK\r\n\r\nhello"), ResponseReader::Progress::kNeedMore);
  EXPECT_EQ(until_close->Eof(), ResponseReader::Progress::kDone);
  EXPECT_EQ(until_close->body(), "hello");
  auto bad = MakeHttpReader();
  EXPECT_EQ(bad->Feed("garbage garbage\r\n\r\n"), ResponseReader::Progress::kMalformed);
}

TEST(WireTest, H2FrameHeader) {
  const std::string f = H2Frame(0x0, 0x1, 3, "x");
  ASSERT_EQ(f.size(), 10u);
  EXPECT_EQ(f.substr(0, 5), std::string("\x00\x00\x01\x00\x01", 5));
  EXPECT_EQ(f.substr(5, 4), std::string("\x00\x00\x00\x03", 4));
  EXPECT_EQ(f[9], 'x');
}

}  // namespace
}  // namespace exactly::race
