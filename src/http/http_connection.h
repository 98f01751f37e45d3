// HttpConnection: one HTTP/1.1 client socket, its requests parsed by Boost.Beast,
// and its responses in request order, each held until the journal is durable up
// to the LSN it depends on: the same promise net::Connection keeps for RESP.
//
// Bytes are fed to Beast's request_parser with put() (no Asio streams), so the
// socket lives in the server's own SocketPoller like a RESP client's: one recv
// per readiness report, one send per turn for every response released in it.
// Each request takes a slot in arrival order; `POST /v1/<command>` maps its JSON
// body to the command's RESP arguments (http/routes.h), runs net::ParseRequest
// and hands the command to the handler, which answers the slot through
// ReplyTarget::FillReply with the engine's reply; the connection renders it as
// JSON. Errors are problem+json (http/json_reply.h). GET /v1/openapi.json answers
// the API's description.
//
// Memory: reading pauses while kRequestsInFlightMax requests await responses or
// kOutputPauseBytes of responses are unsent; a request's header and body are
// bounded (http/limits.h) before they are buffered.
//
// Thread-safety: none; a connection lives on the event-loop thread.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/units.h"
#include "core/command.h"
#include "net/reply_target.h"
#include "net/socket_poller.h"

namespace exactly::http {

class HttpConnection;

// A whole HTTP/1.1 response: status line, Content-Type, Content-Length (and
// `Connection: close` when `close`), then `body`.
std::string ResponseText(int status, std::string_view content_type, std::string_view body,
                         bool close);
// A problem+json response for a client refused before it is taken on; closes.
std::string RefusalResponse(int status, std::string_view code, std::string_view message);

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
  // --requirepass; empty when none is set. With one, every request must carry
  // `Authorization: Bearer <password>`.
  virtual std::string_view RequirePass() const = 0;
};

class HttpConnection final : public net::PollClient,
                             public net::ReplyTarget,
                             public std::enable_shared_from_this<HttpConnection> {
 public:
  using Request = boost::beast::http::request<boost::beast::http::string_body>;

  // Takes the descriptor over from `socket`.
  HttpConnection(boost::asio::ip::tcp::socket socket, uint64_t id, HttpHandler* handler,
                 net::SocketPoller& poller);
  ~HttpConnection() override;
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  // Starts reading. The poller keeps the connection alive until it finishes.
  void Start();
  // Closes at once, dropping unsent responses.
  void Close();
  uint64_t id() const { return id_; }

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
  struct Slot {
    bool filled = false;
    bool keep_alive = true;  // false: the connection closes after this response
    Lsn wait_lsn;
    std::string bytes;  // the whole response, once filled
  };

  void ParseInput();
  void Handle(Request request);
  void HandlePost(uint64_t slot, const Request& request, std::string_view path);
  // Writes a whole response into `target` and marks it filled.
  void Render(Slot& target, int status, std::string_view content_type, std::string_view body);
  // Fills `slot` with a response of `status`, `content_type` and `body`.
  void Respond(uint64_t slot, Lsn wait_lsn, int status, std::string_view content_type,
               std::string_view body);
  void RespondProblem(uint64_t slot, int status, std::string_view code, std::string_view detail);
  // Answers a request that could not be parsed, then closes.
  void RefuseAndClose(int status, std::string_view detail);
  Slot& SlotAt(uint64_t slot);
  bool Backlogged() const;
  void Read();
  void Write();
  void QueueFlush();
  void UpdateWatch();
  void Finish();
  void ResetParser();

  int fd_;
  uint64_t id_;
  HttpHandler* handler_;
  net::SocketPoller& poller_;
  uint64_t poll_key_ = 0;

  std::string input_;
  size_t input_start_ = 0;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;

  std::deque<Slot> slots_;  // slots_[0] is slot number first_slot_
  uint64_t first_slot_ = 0;
  std::string output_;
  size_t output_start_ = 0;
  bool flush_queued_ = false;
  bool want_read_ = true;
  bool watching_read_ = true;
  bool want_write_ = false;
  bool watching_write_ = false;
  bool parse_paused_ = false;
  bool close_after_replies_ = false;
  bool closed_ = false;
};

}  // namespace exactly::http
