// HttpConnection: one HTTP/1.1 client socket, its requests parsed by Boost.Beast,
// and its responses in request order, each held until the journal is durable up
// to the LSN it depends on: the same promise net::Connection keeps for RESP.
//
// Bytes are fed to Beast's request_parser with put() (no Asio streams), so the
// socket lives in the server's own SocketPoller like a RESP client's, through the
// same net::SocketConnection (plain or TLS): one recv per readiness report, one
// send per turn for every response released in it.
// Each request takes a slot in arrival order; `POST /v1/<command>` maps its JSON
// body to the command's RESP arguments (http/routes.h), runs net::ParseRequest
// and hands the command to the handler, which answers the slot through
// ReplyTarget::FillReply with the engine's reply; the connection renders it as
// JSON. Errors are problem+json (http/json_reply.h). GET /v1/openapi.json answers
// the API's description, GET /metrics the Prometheus text (http/metrics.h).
//
// A POST with an `Idempotency-Key` header runs at most once per key, on the
// engine's own IDEM table, so the promise survives restarts: IDEM BEGIN
// "http:<key>" with a fingerprint of the method, path and body; on `run` the
// command itself; then IDEM END with the whole response, which is sent once the
// END is durable. A repeat with the same body gets the stored response, one
// while the first still runs 409, one with another body or path 422
// (draft-ietf-httpapi-idempotency-key-header, "Error Scenarios").
//
// Memory: reading pauses while kRequestsInFlightMax requests await responses or
// kOutputPauseBytes of responses are unsent; a request's header and body are
// bounded (http/limits.h) before they are buffered. What the buffers hold (input,
// the body being read, responses held or unsent) is reported to the handler as
// it changes, so --maxmemory-clients bounds HTTP clients with RESP's.
//
// Thread-safety: none; a connection lives on the event-loop thread.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/units.h"
#include "core/command.h"
#include "core/engine.h"
#include "http/console_routes.h"
#include "http/metrics.h"
#include "net/acl.h"
#include "net/reply_target.h"
#include "net/server_view.h"
#include "net/socket_connection.h"
#include "net/socket_poller.h"

namespace exactly::http {

class HttpConnection;

// A whole HTTP/1.1 response: status line, Content-Type, Content-Length (and
// `Connection: close` when `close`), then `body`.
std::string ResponseText(int status, std::string_view content_type, std::string_view body,
                         bool close);
// A problem+json response for a client refused before it is taken on; closes.
std::string RefusalResponse(int status, std::string_view code, std::string_view message);
// A response as an Idempotency-Key's IDEM END stores it: "<status> <content
// type>\n<body>", so a repeat answers the same status, type and body.
std::string StoredResponse(int status, std::string_view content_type, std::string_view body);
// The fingerprint of a request for IDEM BEGIN: 16 hex digits of XXH3 over its
// method, path and body (draft-ietf-httpapi-idempotency-key-header, "Idempotency
// Fingerprint").
std::string RequestFingerprint(std::string_view method, std::string_view path,
                               std::string_view body);

// What an HTTP connection hands its commands to (server/ implements it).
class HttpHandler {
 public:
  virtual ~HttpHandler() = default;
  // A parsed command for the next batch; the handler fills `slot` of `target`
  // (net::ServerView::Submit).
  virtual void Submit(net::ReplyTarget& target, uint64_t slot, core::Command&& command) = 0;
  // The highest LSN the journal reported durable.
  virtual Lsn DurableLsn() const = 0;
  // The connection has closed; no slot of it will be written any more.
  virtual void OnClosed(HttpConnection& connection) = 0;
  // The users requests authenticate as (http/http_auth.h); outlives the connections.
  virtual const net::Acl& Users() const = 0;
  // The HTTP port's counters, which the connections keep, for GET /metrics.
  virtual HttpStats& Stats() = 0;
  // The server's facts (INFO's), for GET /metrics.
  virtual net::ServerFacts Facts() const = 0;
  // The connection's buffers grew or shrank by `delta` bytes (its buffer_bytes());
  // the handler may close it, but only after this call returns.
  virtual void OnBufferBytes(HttpConnection& connection, int64_t delta) = 0;
  // The console (http/console_routes.h): a table page for `slot`, read in order
  // with the commands (server/pipeline.h, SubmitRead); `render` turns the engine's
  // state into the response body, answered through FillJson.
  virtual void SubmitRead(HttpConnection& connection, uint64_t slot,
                          std::function<std::string(const core::Engine&)> render) = 0;
  // The console's live numbers, for GET /v1/stats.
  virtual ConsoleNumbers Numbers() const = 0;
};

class HttpConnection final : public net::SocketConnection,
                             public net::ReplyTarget,
                             public std::enable_shared_from_this<HttpConnection> {
 public:
  using Request = boost::beast::http::request<boost::beast::http::string_body>;

  // Takes the descriptor over from `socket`; with `tls` (not owned, outlives
  // this) the client speaks HTTPS.
  HttpConnection(boost::asio::ip::tcp::socket socket, uint64_t id, HttpHandler* handler,
                 net::SocketPoller& poller, const net::TlsContext* tls = nullptr);
  ~HttpConnection() override;
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  // Starts reading. The poller keeps the connection alive until it finishes.
  void Start();
  // Closes at once, dropping unsent responses.
  void Close() override;
  // Bytes its buffers hold, as last reported to the handler; 0 once closed.
  size_t buffer_bytes() const { return accounted_bytes_; }

  // Answers `slot` with 200 and the JSON `body` once `wait_lsn` is durable (a
  // console table page, HttpHandler::SubmitRead).
  void FillJson(uint64_t slot, Lsn wait_lsn, std::string_view body);

  // net::ReplyTarget
  void FillReply(uint64_t slot, Lsn wait_lsn, const core::Reply& reply) override;
  void FillError(uint64_t slot, std::string_view code, std::string_view message) override;
  void Release() override;
  void FailHeld(std::string_view code, std::string_view message) override;
  bool closed() const override { return closed_; }
  bool has_held_replies() const override { return !slots_.empty(); }
  std::shared_ptr<net::ReplyTarget> SharedTarget() override { return shared_from_this(); }

  // net::PollClient
  void OnReadable() override;
  void OnWritable() override;
  void OnError() override;
  void OnFlush() override;

 private:
  // Where a request with an Idempotency-Key is: its IDEM BEGIN, its command,
  // then the IDEM END (or ABORT) that stores (or drops) its response.
  enum class Stage { kPlain, kBegin, kCommand, kEnd, kAbort };

  struct Slot {
    bool filled = false;
    bool keep_alive = true;  // false: the connection closes after this response
    Lsn wait_lsn;
    std::string bytes;  // the whole response, once filled
    Stage stage = Stage::kPlain;
    std::string idem_key;     // "http:<Idempotency-Key>"
    uint64_t idem_token = 0;  // IDEM BEGIN's token, for END or ABORT
    core::Command command;    // run once BEGIN answers `run`
    std::string stored;       // the response as IDEM END stores it (StoredResponse)
    std::string_view route;   // the route's command, for the metrics ("claim")
  };

  void ParseInput();
  // Answers `Expect: 100-continue` once the request's header is in.
  void MaybeContinue();
  void Handle(Request request);
  // Starts the IDEM BEGIN of a request with an Idempotency-Key (`header`).
  void BeginIdempotent(uint64_t slot, const Request& request, std::string_view header,
                       core::Command&& command);
  // The next step of an Idempotency-Key request after the engine's `reply`.
  void Advance(uint64_t slot, Lsn wait_lsn, const core::Reply& reply);
  // Submits `command` for `slot` from OnFlush, outside the pipeline's answering
  // of a batch (which must not be entered again from inside).
  void SubmitLater(uint64_t slot, core::Command command);
  // Fills `slot` with a stored response (StoredResponse's text).
  void RespondStored(uint64_t slot, Lsn wait_lsn, std::string_view stored);
  void HandlePost(uint64_t slot, const Request& request, std::string_view path,
                  const net::User& user);
  // The console's GET routes (http/console_routes.h); false if `path` is none of them.
  bool HandleConsole(uint64_t slot, std::string_view target);
  // Writes a whole response into `target` and marks it filled.
  void Render(Slot& target, int status, std::string_view content_type, std::string_view body);
  // Fills `slot` with a response of `status`, `content_type` and `body`.
  void Respond(uint64_t slot, Lsn wait_lsn, int status, std::string_view content_type,
               std::string_view body);
  void RespondProblem(uint64_t slot, int status, std::string_view code, std::string_view detail);
  // Counts a 200 answer of `slot`'s command with `outcome`, or a problem.
  void CountOutcome(const Slot& slot, std::string_view outcome);
  void CountError(int status, std::string_view code);
  // Answers a request that could not be parsed, then closes.
  void RefuseAndClose(int status, std::string_view detail);
  Slot& SlotAt(uint64_t slot);
  bool Backlogged() const;
  void Read();
  void Write();
  void QueueFlush();
  void Finish();
  void ResetParser();
  // Tells the handler how buffer_bytes() changed since it was last told.
  void Account();

  HttpHandler* handler_;

  std::string input_;
  size_t input_start_ = 0;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;

  std::deque<Slot> slots_;  // slots_[0] is slot number first_slot_
  uint64_t first_slot_ = 0;
  std::string output_;
  size_t output_start_ = 0;
  bool flush_queued_ = false;
  bool continue_sent_ = false;                                // for the request being parsed
  std::vector<std::pair<uint64_t, core::Command>> deferred_;  // for SubmitLater
  bool parse_paused_ = false;
  bool close_after_replies_ = false;
  size_t slot_bytes_ = 0;       // the rendered responses slots_ hold
  size_t accounted_bytes_ = 0;  // buffer bytes the handler was last told of
};

}  // namespace exactly::http
