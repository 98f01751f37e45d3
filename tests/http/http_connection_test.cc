// Tests for http/http_connection over real loopback TCP sockets: a POST becomes
// the command RESP would send, its response leaves only once durable and in
// request order, and every malformed request answers problem+json and submits
// nothing.
#include "http/http_connection.h"

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/parse.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "net/errors.h"
#include "net/run_loop.h"
#include "net/socket_poller.h"

namespace exactly::http {
namespace {

using boost::asio::ip::tcp;

// Remembers what was submitted; the test answers it.
class FakeHandler final : public HttpHandler {
 public:
  struct Submitted {
    net::ReplyTarget* target;
    uint64_t slot;
    core::Command command;
  };
  void Submit(net::ReplyTarget& target, uint64_t slot, core::Command&& command) override {
    submitted.push_back(Submitted{&target, slot, std::move(command)});
  }
  Lsn DurableLsn() const override { return Lsn{durable}; }
  void OnClosed(HttpConnection&) override { ++closed; }
  const net::Acl& Users() const override { return users; }
  HttpStats& Stats() override { return stats; }
  net::ServerFacts Facts() const override { return facts; }
  void OnBufferBytes(HttpConnection&, int64_t delta) override {
    buffer_bytes += delta;
    EXPECT_GE(buffer_bytes, 0);
  }
  void SubmitRead(HttpConnection& connection, uint64_t slot,
                  std::function<std::string(const core::Engine&)> render) override {
    reads.push_back(Read{&connection, slot, std::move(render)});
  }
  ConsoleNumbers Numbers() const override { return numbers; }

  struct Read {
    HttpConnection* connection;
    uint64_t slot;
    std::function<std::string(const core::Engine&)> render;
  };
  std::vector<Read> reads;
  ConsoleNumbers numbers;
  std::vector<Submitted> submitted;
  int64_t buffer_bytes = 0;  // the sum of what the connection reported
  HttpStats stats;
  net::ServerFacts facts;
  uint64_t durable = 0;
  int closed = 0;
  net::Acl users = net::Acl::FromPassword("");
};

struct Response {
  int status = 0;
  std::string head;
  std::string body;
};

class HttpConnectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tcp::acceptor acceptor(io_, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
    client_.connect(acceptor.local_endpoint());
    tcp::socket server_side(io_);
    acceptor.accept(server_side);
    connection_ = std::make_shared<HttpConnection>(std::move(server_side), 1, &handler_, poller_);
    connection_->Start();
  }

  void RunUntil(const std::function<bool()>& done) { net::RunLoopUntil(io_, done); }

  void Send(const std::string& bytes) { boost::asio::write(client_, boost::asio::buffer(bytes)); }

  void Post(std::string_view path, std::string_view body, const std::string& headers = "") {
    Send("POST " + std::string(path) + " HTTP/1.1\r\nHost: t\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n" + headers + "\r\n" + std::string(body));
  }

  // Reads what has arrived into received_ without blocking.
  void Drain() {
    boost::system::error_code error;
    while (client_.available(error) > 0) {
      char chunk[4096];
      const size_t got = client_.read_some(boost::asio::buffer(chunk), error);
      if (error) return;
      received_.append(chunk, got);
    }
  }

  // Whether received_ starts with a whole response; moves it into *out if so.
  bool TakeResponse(Response* out) {
    const size_t end = received_.find("\r\n\r\n");
    if (end == std::string::npos) return false;
    const std::string head = received_.substr(0, end);
    const size_t length_at = head.find("Content-Length: ");
    const size_t length = std::stoul(head.substr(length_at + 16));
    if (received_.size() < end + 4 + length) return false;
    out->head = head;
    out->status = std::stoi(head.substr(9, 3));
    out->body = received_.substr(end + 4, length);
    received_.erase(0, end + 4 + length);
    return true;
  }

  Response Receive() {
    Response response;
    RunUntil([&] {
      Drain();
      return TakeResponse(&response);
    });
    return response;
  }

  bool Idle() {
    io_.run_for(std::chrono::milliseconds(20));
    io_.restart();
    Drain();
    return received_.empty();
  }

  boost::asio::io_context io_;
  net::SocketPoller poller_{io_};
  FakeHandler handler_;
  tcp::socket client_{io_};
  std::shared_ptr<HttpConnection> connection_;
  std::string received_;
};

core::Reply Won(std::string key) {
  core::Reply reply = core::Reply::WithOutcome(core::Outcome::kWon);
  reply.Add("key", std::move(key)).Add("amount", 5);
  return reply;
}

TEST_F(HttpConnectionTest, PostBecomesTheCommandAndWaitsUntilDurable) {
  handler_.durable = 6;
  Post("/v1/claim", R"({"key":"phone:+86","owner":"u1","ttl_ms":30000})");
  RunUntil([&] { return handler_.submitted.size() == 1; });
  const core::Command& command = handler_.submitted[0].command;
  EXPECT_EQ(command.kind, core::CommandKind::kClaim);
  EXPECT_EQ(command.As<core::cmd::Claim>().key, "phone:+86");
  EXPECT_EQ(command.As<core::cmd::Claim>().owner, "u1");
  handler_.submitted[0].target->FillReply(handler_.submitted[0].slot, Lsn{7}, Won("phone:+86"));
  EXPECT_TRUE(Idle()) << "a response left before its lsn was durable";
  handler_.durable = 7;
  connection_->Release();
  const Response response = Receive();
  EXPECT_EQ(response.status, 200);
  EXPECT_NE(response.head.find("Content-Type: application/json"), std::string::npos);
  EXPECT_EQ(response.body, R"({"result":"won","key":"phone:+86","amount":"5"})");
}

TEST_F(HttpConnectionTest, BuffersAreReportedAsTheyGrowAndShrink) {
  // A declared body is reserved once its first bytes are in: it counts before the
  // rest arrives.
  Send("POST /v1/claim HTTP/1.1\r\nHost: t\r\nContent-Length: 900000\r\n\r\n{\"key\":");
  RunUntil([&] { return handler_.buffer_bytes >= 900000; });
  EXPECT_EQ(static_cast<size_t>(handler_.buffer_bytes), connection_->buffer_bytes());
  connection_->Close();
  EXPECT_EQ(handler_.buffer_bytes, 0);
  EXPECT_EQ(connection_->buffer_bytes(), 0u);
}

TEST_F(HttpConnectionTest, HeldResponsesCountUntilTheyLeave) {
  Post("/v1/claim", R"({"key":"a","owner":"u"})");
  RunUntil([&] { return handler_.submitted.size() == 1; });
  const int64_t before = handler_.buffer_bytes;
  core::Reply reply = Won(std::string(100000, 'k'));
  handler_.submitted[0].target->FillReply(handler_.submitted[0].slot, Lsn{9}, reply);
  EXPECT_GE(handler_.buffer_bytes, before + 100000) << "a held response was not counted";
  handler_.durable = 9;
  connection_->Release();
  EXPECT_NE(Receive().body.find(R"("result":"won")"), std::string::npos);
  EXPECT_EQ(static_cast<size_t>(handler_.buffer_bytes), connection_->buffer_bytes());
  connection_->Close();
  EXPECT_EQ(handler_.buffer_bytes, 0);
}

TEST_F(HttpConnectionTest, PipelinedResponsesLeaveInRequestOrder) {
  Post("/v1/claim", R"({"key":"a","owner":"u"})");
  Post("/v1/claim", R"({"key":"b","owner":"u"})");
  RunUntil([&] { return handler_.submitted.size() == 2; });
  handler_.submitted[1].target->FillReply(handler_.submitted[1].slot, Lsn{0}, Won("b"));
  EXPECT_TRUE(Idle()) << "the second response overtook the first";
  handler_.submitted[0].target->FillReply(handler_.submitted[0].slot, Lsn{0}, Won("a"));
  EXPECT_NE(Receive().body.find(R"("key":"a")"), std::string::npos);
  EXPECT_NE(Receive().body.find(R"("key":"b")"), std::string::npos);
}

TEST_F(HttpConnectionTest, MalformedRequestsAnswerProblemsAndSubmitNothing) {
  struct Case {
    std::string path;
    std::string body;
    int status;
    std::string detail;
  };
  const std::vector<Case> cases = {
      {"/v1/claim", "{not json", 400, ""},
      {"/v1/claim", "[1]", 400, net::ErrJsonBody("not an object")},
      {"/v1/claim", R"({"key":"k"})", 400, net::ErrMissingMember("owner")},
      {"/v1/claim", R"({"key":"k","owner":"o","ttl_ms":0})", 400,
       net::ErrIntegerRange("TTL", 1, 3153600000000, "ms")},
      {"/v1/transfer", R"({"id":"t","from":"a","to":"a","amount":1})", 400, net::ErrSameAccount()},
      {"/v1/nothing", "{}", 404, net::ErrNoRoute("POST", "/v1/nothing")},
  };
  for (const Case& c : cases) {
    Post(c.path, c.body);
    const Response response = Receive();
    EXPECT_EQ(response.status, c.status) << c.body;
    EXPECT_NE(response.head.find("application/problem+json"), std::string::npos);
    const boost::json::value problem = boost::json::parse(response.body);
    EXPECT_EQ(problem.at("status").as_int64(), c.status);
    EXPECT_EQ(problem.at("code").as_string(), "ERR");
    if (!c.detail.empty()) {
      EXPECT_EQ(problem.at("detail").as_string(), c.detail) << c.body;
    }
  }
  EXPECT_TRUE(handler_.submitted.empty());
}

TEST_F(HttpConnectionTest, GetsTheDocumentAndRefusesOtherMethods) {
  Send("GET /v1/openapi.json HTTP/1.1\r\nHost: t\r\n\r\n");
  const Response document = Receive();
  EXPECT_EQ(document.status, 200);
  EXPECT_EQ(boost::json::parse(document.body).at("openapi").as_string(), "3.1.0");
  Send("GET /v1/claim HTTP/1.1\r\nHost: t\r\n\r\n");
  const Response wrong_method = Receive();
  EXPECT_EQ(wrong_method.status, 405);
  EXPECT_NE(wrong_method.head.find("Allow: POST"), std::string::npos);
}

TEST_F(HttpConnectionTest, ConsoleServesItsPageAndStats) {
  Send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
  const Response page = Receive();
  EXPECT_EQ(page.status, 200);
  EXPECT_NE(page.head.find("Content-Type: text/html"), std::string::npos);
  EXPECT_NE(page.body.find("/console/console.js"), std::string::npos);
  Send("GET /console/console.js HTTP/1.1\r\nHost: t\r\n\r\n");
  const Response script = Receive();
  EXPECT_EQ(script.status, 200);
  EXPECT_NE(script.head.find("Content-Type: text/javascript"), std::string::npos);
  handler_.numbers.console_writes = true;
  handler_.numbers.commit_batches = 3;
  Send("GET /v1/stats HTTP/1.1\r\nHost: t\r\n\r\n");
  const boost::json::value stats = boost::json::parse(Receive().body);
  EXPECT_EQ(stats.at("console_writes").as_bool(), true);
  EXPECT_EQ(stats.at("commit").at("batches").to_number<uint64_t>(), 3u);
  EXPECT_TRUE(handler_.reads.empty());
  EXPECT_TRUE(handler_.submitted.empty());
}

TEST_F(HttpConnectionTest, TablePagesAreReadInOrderAndHeldUntilDurable) {
  Send("GET /v1/tables/claims?prefix=phone%3A&limit=5 HTTP/1.1\r\nHost: t\r\n\r\n");
  RunUntil([&] { return handler_.reads.size() == 1; });
  // The handler runs the read when the pipeline reaches it; here, on an engine
  // that holds one claim.
  core::Engine engine;
  core::BatchOutput out;
  std::vector<core::Command> commands;
  core::cmd::Claim claim;
  claim.key = "phone:1";
  claim.owner = "u1";
  commands.push_back(claim);
  engine.ApplyBatch(commands, TimestampMs{1'700'000'000'000}, Lsn{4}, &out);
  ASSERT_EQ(out.replies.at(0).result(), "won");
  const std::string body = handler_.reads[0].render(engine);
  handler_.reads[0].connection->FillJson(handler_.reads[0].slot, Lsn{4}, body);
  EXPECT_TRUE(Idle()) << "a page showed state before it was durable";
  handler_.durable = 4;
  connection_->Release();
  const Response response = Receive();
  EXPECT_EQ(response.status, 200);
  const boost::json::value page = boost::json::parse(response.body);
  EXPECT_EQ(page.at("table").as_string(), "claims");
  ASSERT_EQ(page.at("rows").as_array().size(), 1u);
  EXPECT_EQ(page.at("rows").at(0).at("key").as_string(), "phone:1");
  EXPECT_EQ(page.at("rows").at(0).at("owner").as_string(), "u1");
  EXPECT_EQ(page.at("cursor").as_string(), "");
}

TEST_F(HttpConnectionTest, BadTableRequestsAreProblemsAndReadNothing) {
  const std::vector<std::pair<std::string, int>> cases = {
      {"/v1/tables/transfers", 404},
      {"/v1/tables/claims?limit=0", 400},
      {"/v1/tables/claims?limit=1001", 400},
      {"/v1/tables/claims?limit=ten", 400},
      {"/v1/tables/claims?cursor=zz", 400},
      {"/v1/tables/locks?cursor=12", 400},
      {"/v1/tables/claims?prefix=%zz", 400},
      {"/v1/tables/claims?sort=key", 400},
      {"/v1/tables/claims?prefix=" + std::string(513, 'k'), 400},
  };
  for (const auto& [target, status] : cases) {
    Send("GET " + target + " HTTP/1.1\r\nHost: t\r\n\r\n");
    const Response response = Receive();
    EXPECT_EQ(response.status, status) << target;
    EXPECT_NE(response.head.find("application/problem+json"), std::string::npos) << target;
  }
  EXPECT_TRUE(handler_.reads.empty());
  // At the limits: accepted.
  Send("GET /v1/tables/claims?limit=1000&prefix=" + std::string(512, 'k') +
       " HTTP/1.1\r\nHost: t\r\n\r\n");
  RunUntil([&] { return handler_.reads.size() == 1; });
}

TEST_F(HttpConnectionTest, EngineErrorsAndStorageFailureAreProblems) {
  Post("/v1/account", R"({"key":"a"})");
  Post("/v1/account", R"({"key":"b"})");
  RunUntil([&] { return handler_.submitted.size() == 2; });
  handler_.submitted[0].target->FillReply(handler_.submitted[0].slot, Lsn{0},
                                          core::Reply::Error("ERR", "accounts table full (max 1)"));
  const Response refused = Receive();
  EXPECT_EQ(refused.status, 422);
  EXPECT_EQ(boost::json::parse(refused.body).at("detail").as_string(),
            "accounts table full (max 1)");
  handler_.submitted[1].target->FillReply(handler_.submitted[1].slot, Lsn{9}, Won("b"));
  connection_->FailHeld(net::kCodeIoErr, "disk gone");
  const Response failed = Receive();
  EXPECT_EQ(failed.status, 503);
  EXPECT_EQ(boost::json::parse(failed.body).at("code").as_string(), "IOERR");
}

TEST_F(HttpConnectionTest, MetricsCountWhatWasAnswered) {
  Post("/v1/claim", R"({"key":"a","owner":"u"})");
  RunUntil([&] { return handler_.submitted.size() == 1; });
  handler_.submitted[0].target->FillReply(handler_.submitted[0].slot, Lsn{0}, Won("a"));
  EXPECT_EQ(Receive().status, 200);
  Post("/v1/claim", R"({"key":"a"})");
  EXPECT_EQ(Receive().status, 400);
  handler_.facts.tables.claims = 1;
  Send("GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n");
  const Response metrics = Receive();
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.head.find("text/plain; version=0.0.4"), std::string::npos);
  EXPECT_NE(metrics.body.find("exactly_http_requests_total{command=\"claim\",outcome=\"won\"} 1\n"),
            std::string::npos)
      << metrics.body;
  EXPECT_NE(metrics.body.find("exactly_http_errors_total{status=\"400\",code=\"ERR\"} 1\n"),
            std::string::npos);
  EXPECT_NE(metrics.body.find("exactly_table_records{table=\"claims\"} 1\n"), std::string::npos);
}

TEST_F(HttpConnectionTest, ExpectContinueIsAnsweredBeforeTheBody) {
  const std::string body = R"({"key":"k","owner":"o"})";
  Send("POST /v1/claim HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: " +
       std::to_string(body.size()) + "\r\n\r\n");
  const std::string interim = "HTTP/1.1 100 Continue\r\n\r\n";
  RunUntil([&] {
    Drain();
    return received_.size() >= interim.size();
  });
  EXPECT_EQ(received_, interim);
  received_.clear();
  Send(body);
  RunUntil([&] { return handler_.submitted.size() == 1; });
}

TEST_F(HttpConnectionTest, GarbageAnswers400AndCloses) {
  Send("NOT HTTP AT ALL\r\n\r\n");
  EXPECT_EQ(Receive().status, 400);
  RunUntil([&] { return handler_.closed == 1; });
}

TEST_F(HttpConnectionTest, AnOversizedBodyIsRefusedBeforeItIsRead) {
  Send("POST /v1/claim HTTP/1.1\r\nHost: t\r\nContent-Length: 999999999\r\n\r\n{");
  EXPECT_EQ(Receive().status, 413);
  RunUntil([&] { return handler_.closed == 1; });
  EXPECT_TRUE(handler_.submitted.empty());
}

TEST_F(HttpConnectionTest, ConnectionCloseClosesAfterTheResponse) {
  Send("GET /v1/openapi.json HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  const Response response = Receive();
  EXPECT_NE(response.head.find("Connection: close"), std::string::npos);
  RunUntil([&] { return handler_.closed == 1; });
}

TEST_F(HttpConnectionTest, APasswordNeedsABearerToken) {
  handler_.users = net::Acl::FromPassword("s3cret");
  Post("/v1/claim", R"({"key":"k","owner":"o"})");
  const Response refused = Receive();
  EXPECT_EQ(refused.status, 401);
  EXPECT_EQ(boost::json::parse(refused.body).at("detail").as_string(), net::ErrNoAuth());
  Post("/v1/claim", R"({"key":"k","owner":"o"})", "Authorization: Bearer s3cre\r\n");
  EXPECT_EQ(Receive().status, 401);
  EXPECT_TRUE(handler_.submitted.empty());
  Post("/v1/claim", R"({"key":"k","owner":"o"})", "Authorization: Bearer s3cret\r\n");
  RunUntil([&] { return handler_.submitted.size() == 1; });
}

core::Reply IdemReply(core::Outcome outcome, int64_t token, std::string response) {
  core::Reply reply = core::Reply::WithOutcome(outcome);
  reply.Add("token", token).Add("response", std::move(response));
  return reply;
}

TEST_F(HttpConnectionTest, IdempotencyKeyRunsBeginCommandEndThenAnswers) {
  const std::string body = R"({"key":"k","owner":"o"})";
  Post("/v1/claim", body, "Idempotency-Key: \"abc\"\r\n");
  RunUntil([&] { return handler_.submitted.size() == 1; });
  const core::Command& begin = handler_.submitted[0].command;
  EXPECT_EQ(begin.kind, core::CommandKind::kIdemBegin);
  EXPECT_EQ(begin.As<core::cmd::IdemBegin>().key, "http:abc");
  EXPECT_EQ(begin.As<core::cmd::IdemBegin>().fingerprint,
            RequestFingerprint("POST", "/v1/claim", body));
  auto answer = [&](size_t i, Lsn lsn, const core::Reply& reply) {
    handler_.submitted[i].target->FillReply(handler_.submitted[i].slot, lsn, reply);
  };
  answer(0, Lsn{1}, IdemReply(core::Outcome::kRun, 77, ""));
  RunUntil([&] { return handler_.submitted.size() == 2; });
  EXPECT_EQ(handler_.submitted[1].command.kind, core::CommandKind::kClaim);
  answer(1, Lsn{2}, Won("k"));
  RunUntil([&] { return handler_.submitted.size() == 3; });
  const core::Command& end = handler_.submitted[2].command;
  EXPECT_EQ(end.kind, core::CommandKind::kIdemEnd);
  EXPECT_EQ(end.As<core::cmd::IdemEnd>().key, "http:abc");
  EXPECT_EQ(end.As<core::cmd::IdemEnd>().token, 77u);
  const std::string json = R"({"result":"won","key":"k","amount":"5"})";
  const std::string& stored = end.As<core::cmd::IdemEnd>().response;
  EXPECT_EQ(stored, StoredResponse(200, "application/json", json));
  answer(2, Lsn{3}, IdemReply(core::Outcome::kDone, 77, stored));
  handler_.durable = 2;
  EXPECT_TRUE(Idle()) << "answered before the END storing it was durable";
  handler_.durable = 3;
  connection_->Release();
  const Response response = Receive();
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, json);
}

TEST_F(HttpConnectionTest, IdempotencyKeyRepeatsAnswerStoredInFlightOrMismatch) {
  const std::string stored = StoredResponse(201, "application/json", R"({"result":"won"})");
  const std::vector<std::pair<core::Outcome, int>> cases = {
      {core::Outcome::kDone, 201}, {core::Outcome::kRunning, 409}, {core::Outcome::kMismatch, 422}};
  for (size_t i = 0; i < cases.size(); ++i) {
    Post("/v1/claim", R"({"key":"k","owner":"o"})", "Idempotency-Key: same\r\n");
    RunUntil([&] { return handler_.submitted.size() == i + 1; });
    handler_.submitted[i].target->FillReply(handler_.submitted[i].slot, Lsn{0},
                                            IdemReply(cases[i].first, 1, stored));
    const Response response = Receive();
    EXPECT_EQ(response.status, cases[i].second);
    if (cases[i].second == 201) {
      EXPECT_EQ(response.body, R"({"result":"won"})");
    }
  }
  EXPECT_EQ(handler_.submitted.size(), cases.size()) << "a repeat ran its command";
}

TEST_F(HttpConnectionTest, IdempotencyKeyOfAMalformedRequestIsNotTaken) {
  Post("/v1/claim", R"({"key":"k"})", "Idempotency-Key: k1\r\n");
  EXPECT_EQ(Receive().status, 400);
  Post("/v1/claim", R"({"key":"k","owner":"o"})",
       "Idempotency-Key: " + std::string(256, 'x') + "\r\n");
  EXPECT_EQ(Receive().status, 400);
  EXPECT_TRUE(handler_.submitted.empty());
}

}  // namespace
}  // namespace exactly::http
