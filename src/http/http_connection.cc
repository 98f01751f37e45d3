// Parses HTTP/1.1 requests with Beast, maps them to commands and writes their
// responses back in order, each held until durable (see http_connection.h).
#include "http/http_connection.h"

#include <xxhash.h>

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/json/parse.hpp>
#include <charconv>
#include <utility>
#include <variant>
#include <vector>

#include "base/assert.h"
#include "core/limits.h"
#include "http/console_routes.h"
#include "http/http_auth.h"
#include "http/json_reply.h"
#include "http/limits.h"
#include "http/metrics.h"
#include "http/openapi.h"
#include "http/routes.h"
#include "net/args.h"
#include "net/command_table.h"
#include "net/errors.h"

namespace exactly::http {
namespace {

namespace bhttp = boost::beast::http;

// A whole TLS record's plaintext fits one read (net/transport.h).
constexpr size_t kReadChunkBytes = net::kTlsRecordBytes;
constexpr std::string_view kJson = "application/json";
constexpr std::string_view kProblemJson = "application/problem+json";

const std::string& OpenApi() {
  static const std::string document = OpenApiJson();
  return document;
}

}  // namespace

std::string ResponseText(int status, std::string_view content_type, std::string_view body,
                         bool close) {
  char digits[24];
  std::string out;
  out.reserve(128 + body.size());
  out += "HTTP/1.1 ";
  out.append(digits, std::to_chars(digits, digits + sizeof(digits), status).ptr);
  out += ' ';
  out += StatusReason(status);
  out += "\r\nContent-Type: ";
  out += content_type;
  out += "\r\nContent-Length: ";
  out.append(digits, std::to_chars(digits, digits + sizeof(digits), body.size()).ptr);
  if (status == 401) {
    out += "\r\nWWW-Authenticate: ";
    out += kAuthChallenge;
  }
  if (status == 405) out += "\r\nAllow: POST, GET";
  if (close) out += "\r\nConnection: close";
  out += "\r\n\r\n";
  out += body;
  return out;
}

std::string RefusalResponse(int status, std::string_view code, std::string_view message) {
  return ResponseText(status, kProblemJson, ProblemJson(status, code, message), /*close=*/true);
}

std::string StoredResponse(int status, std::string_view content_type, std::string_view body) {
  std::string stored = std::to_string(status);
  stored += ' ';
  stored += content_type;
  stored += '\n';
  stored += body;
  return stored;
}

std::string RequestFingerprint(std::string_view method, std::string_view path,
                               std::string_view body) {
  std::string text(method);
  text += ' ';
  text += path;
  text += '\n';
  text += body;
  static constexpr char kHex[] = "0123456789abcdef";
  uint64_t hash = XXH3_64bits(text.data(), text.size());
  std::string hex(16, '0');
  for (int i = 15; i >= 0; --i, hash >>= 4) hex[static_cast<size_t>(i)] = kHex[hash & 15];
  return hex;
}

HttpConnection::HttpConnection(boost::asio::ip::tcp::socket socket, uint64_t id,
                               HttpHandler* handler, net::SocketPoller& poller,
                               const net::TlsContext* tls)
    : net::SocketConnection(std::move(socket), id, poller, tls), handler_(handler) {
  ResetParser();
}

HttpConnection::~HttpConnection() = default;

void HttpConnection::ResetParser() {
  continue_sent_ = false;
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(kHeaderBytesMax));
  parser_->body_limit(kBodyBytesMax);
  parser_->eager(true);
}

void HttpConnection::Start() {
  if (!Register(shared_from_this())) Finish();
}

bool HttpConnection::Backlogged() const {
  return slots_.size() >= kRequestsInFlightMax ||
         output_.size() - output_start_ >= kOutputPauseBytes;
}

void HttpConnection::Read() {
  if (closed_) return;
  want_read_ = !close_after_replies_ && !Backlogged();
  UpdateWatch();
}

void HttpConnection::OnReadable() {
  if (write_waits_for_read()) Write();  // TLS: a write waited for this
  if (closed_ || !want_read_) return;
  if (input_start_ > 0) {
    input_.erase(0, input_start_);
    input_start_ = 0;
  }
  const size_t have = input_.size();
  input_.resize(have + kReadChunkBytes);
  const ptrdiff_t got = Receive(input_.data() + have, kReadChunkBytes);
  if (got <= 0) {
    input_.resize(have);
    if (got == net::kIoWouldBlock) return;
    Finish();  // end of stream, a reset, or a failed TLS handshake
    return;
  }
  input_.resize(have + static_cast<size_t>(got));
  ParseInput();
  Read();
  Account();
}

void HttpConnection::ParseInput() {
  while (!closed_ && !close_after_replies_ && input_start_ < input_.size()) {
    if (Backlogged()) {
      parse_paused_ = true;
      return;
    }
    boost::system::error_code error;
    const size_t used = parser_->put(
        boost::asio::buffer(input_.data() + input_start_, input_.size() - input_start_), error);
    input_start_ += used;
    if (error == bhttp::error::need_more) {
      MaybeContinue();
      if (used == 0) return;
      continue;
    }
    if (error) {
      const int status = error == bhttp::error::body_limit     ? 413
                         : error == bhttp::error::header_limit ? 431
                                                               : 400;
      RefuseAndClose(status, net::ErrHttpRequest(error.message()));
      return;
    }
    if (parser_->is_done()) {
      Request request = parser_->release();
      ResetParser();
      Handle(std::move(request));
    } else {
      MaybeContinue();
    }
  }
}

void HttpConnection::MaybeContinue() {
  // A client that sent `Expect: 100-continue` waits for this before its body
  // (curl does, for a second). Interim responses must not overtake earlier
  // final ones, so it is sent only when none is pending.
  if (continue_sent_ || !parser_->is_header_done() || !slots_.empty()) return;
  const auto& header = parser_->get();
  const auto expect = header.find(bhttp::field::expect);
  if (expect == header.end() || !boost::beast::iequals(expect->value(), "100-continue")) return;
  continue_sent_ = true;
  output_ += "HTTP/1.1 100 Continue\r\n\r\n";
  QueueFlush();
}

void HttpConnection::RefuseAndClose(int status, std::string_view detail) {
  slots_.emplace_back().keep_alive = false;
  RespondProblem(first_slot_ + slots_.size() - 1, status, net::kCodeErr, detail);
  close_after_replies_ = true;
  Read();
  QueueFlush();
}

void HttpConnection::Handle(Request request) {
  const bool keep_alive = request.keep_alive();
  slots_.emplace_back().keep_alive = keep_alive;
  const uint64_t slot = first_slot_ + slots_.size() - 1;
  // Nothing after a request that asked to close is read.
  if (!keep_alive) close_after_replies_ = true;

  // The console's page and script hold no data: served without a password, so a
  // browser can open the page, which then sends one with its reads.
  if (request.method() == bhttp::verb::get &&
      FindConsoleAsset(std::string_view(request.target())
                           .substr(0, std::string_view(request.target()).find('?'))) != nullptr) {
    HandleConsole(slot, request.target());
    return;
  }
  const std::string_view target(request.target());
  const std::string_view path = target.substr(0, target.find('?'));
  const std::string_view method(request.method_string());
  // The API's description is the same for every server of a version: no login.
  if (path == "/v1/openapi.json" && request.method() == bhttp::verb::get) {
    Respond(slot, Lsn{0}, 200, kJson, OpenApi());
    return;
  }
  const auto authorization = request.find(bhttp::field::authorization);
  const HttpCaller caller = Authenticate(
      handler_->Users(), authorization == request.end() ? std::string_view()
                                                        : std::string_view(authorization->value()));
  if (caller.user == nullptr) {
    RespondProblem(slot, 401, caller.code, caller.message);
    return;
  }
  if (path == "/metrics" && request.method() == bhttp::verb::get) {
    if (std::string refusal = MetricsRefusal(*caller.user); !refusal.empty()) {
      RespondProblem(slot, 403, net::kCodeNoPerm, refusal);
      return;
    }
    Respond(slot, Lsn{0}, 200, "text/plain; version=0.0.4; charset=utf-8",
            MetricsText(handler_->Facts(), handler_->Stats()));
    return;
  }
  // The console's table pages and numbers show every key: the same rule as /metrics.
  if (request.method() == bhttp::verb::get &&
      FindConsoleRoute(target).kind != ConsoleRoute::Kind::kNone) {
    if (std::string refusal = MetricsRefusal(*caller.user); !refusal.empty()) {
      RespondProblem(slot, 403, net::kCodeNoPerm, refusal);
      return;
    }
    HandleConsole(slot, target);
    return;
  }
  if (request.method() == bhttp::verb::post && path.starts_with("/v1/")) {
    HandlePost(slot, request, path, *caller.user);
    return;
  }
  const bool known = path == "/v1/openapi.json" || path == "/metrics" || FindRoute(path) != nullptr;
  RespondProblem(slot, known ? 405 : 404, net::kCodeErr, net::ErrNoRoute(method, path));
}

void HttpConnection::HandlePost(uint64_t slot, const Request& request, std::string_view path,
                                const net::User& user) {
  const bool group = path == kGroupPath;
  const Route* route = group ? nullptr : FindRoute(path);
  if (route == nullptr && !group) {
    RespondProblem(slot, 404, net::kCodeErr, net::ErrNoRoute("POST", path));
    return;
  }
  SlotAt(slot).route = group ? std::string_view("multi") : std::string_view(route->command);
  boost::system::error_code json_error;
  boost::json::value body = boost::json::parse(request.body(), json_error);
  if (json_error || !body.is_object()) {
    RespondProblem(slot, 400, net::kCodeErr,
                   net::ErrJsonBody(json_error ? json_error.message() : "not an object"));
    return;
  }
  // The same path from arguments to a command as RESP's, so its errors are RESP's.
  net::ParsedCommand parsed =
      group ? GroupFromJson(body.as_object()) : CommandFromJson(*route, body.as_object());
  if (!parsed.error.empty()) {
    RespondProblem(slot, 400, net::kCodeErr, parsed.error);
    return;
  }
  if (std::string refusal = PostRefusal(user, route, body.as_object(), parsed.command);
      !refusal.empty()) {
    RespondProblem(slot, 403, net::kCodeNoPerm, refusal);
    return;
  }
  if (const auto header = request.find("Idempotency-Key"); header != request.end()) {
    BeginIdempotent(slot, request, header->value(), std::move(parsed.command));
    return;
  }
  handler_->Submit(*this, slot, std::move(parsed.command));
}

void HttpConnection::BeginIdempotent(uint64_t slot, const Request& request, std::string_view header,
                                     core::Command&& command) {
  // The draft's syntax is a Structured Field string ("..."); a bare token is
  // taken as it is.
  std::string key(header);
  if (key.size() >= 2 && key.front() == '"' && key.back() == '"') {
    std::string unquoted;
    for (size_t i = 1; i + 1 < key.size(); ++i) {
      if (key[i] == '\\' && i + 2 < key.size()) ++i;
      unquoted += key[i];
    }
    key = std::move(unquoted);
  }
  if (std::string error = net::CheckLength(key, "Idempotency-Key", 1, kIdempotencyKeyBytesMax);
      !error.empty()) {
    RespondProblem(slot, 400, net::kCodeErr, error);
    return;
  }
  Slot& target = SlotAt(slot);
  target.stage = Stage::kBegin;
  target.idem_key = "http:" + key;
  target.command = std::move(command);
  const std::string fingerprint =
      RequestFingerprint(request.method_string(), request.target(), request.body());
  // Through the parser like any IDEM BEGIN, so its defaults (LEASE, TTL) are RESP's.
  const std::string_view args[] = {"IDEM", "BEGIN", target.idem_key, "FINGERPRINT", fingerprint};
  const net::CommandSpec* spec = nullptr;
  net::ParsedCommand begin = net::ParseRequest(args, &spec);
  EXACTLY_ASSERT(begin.error.empty());
  handler_->Submit(*this, slot, std::move(begin.command));
}

void HttpConnection::SubmitLater(uint64_t slot, core::Command command) {
  deferred_.emplace_back(slot, std::move(command));
  QueueFlush();
}

void HttpConnection::Advance(uint64_t slot, Lsn wait_lsn, const core::Reply& reply) {
  Slot& target = SlotAt(slot);
  switch (target.stage) {
    case Stage::kPlain:
      break;
    case Stage::kBegin: {
      if (reply.Is(core::Outcome::kRun)) {
        for (const auto& [name, value] : reply.fields) {
          if (name == "token") target.idem_token = static_cast<uint64_t>(std::get<int64_t>(value));
        }
        target.stage = Stage::kCommand;
        SubmitLater(slot, std::move(target.command));
        return;
      }
      target.stage = Stage::kPlain;
      if (reply.Is(core::Outcome::kDone)) {
        for (const auto& [name, value] : reply.fields) {
          if (name == "response") {
            CountOutcome(target, "replayed");
            RespondStored(slot, wait_lsn, std::get<std::string>(value));
            return;
          }
        }
      }
      if (reply.Is(core::Outcome::kRunning)) {
        RespondProblem(slot, 409, net::kCodeErr, net::ErrIdempotencyInFlight());
        return;
      }
      if (reply.Is(core::Outcome::kMismatch)) {
        RespondProblem(slot, 422, net::kCodeErr, net::ErrIdempotencyMismatch());
        return;
      }
      break;  // an engine error: answered as any reply
    }
    case Stage::kCommand: {
      // The response is sent once the END that stores it is durable; END's LSN
      // comes after the command's.
      if (reply.is_error()) {
        const int status = ErrorStatus(reply.error_code, reply.error_message, true);
        CountError(status, reply.error_code);
        target.stored = StoredResponse(status, kProblemJson,
                                       ProblemJson(status, reply.error_code, reply.error_message));
      } else {
        CountOutcome(target, reply.result());
        target.stored = StoredResponse(200, kJson, ReplyJson(reply));
      }
      const std::string token = std::to_string(target.idem_token);
      const bool fits = target.stored.size() <= core::kIdemResponseBytesMax;
      target.stage = fits ? Stage::kEnd : Stage::kAbort;
      std::vector<std::string_view> args = {"IDEM", fits ? "END" : "ABORT", target.idem_key, token};
      if (fits) args.push_back(target.stored);
      const net::CommandSpec* spec = nullptr;
      net::ParsedCommand next = net::ParseRequest(args, &spec);
      EXACTLY_ASSERT(next.error.empty());
      SubmitLater(slot, std::move(next.command));
      return;
    }
    case Stage::kEnd:
    case Stage::kAbort: {
      // Stored (or, too large to store, dropped): either way this request ran.
      target.stage = Stage::kPlain;
      const std::string stored = std::move(target.stored);
      RespondStored(slot, wait_lsn, stored);
      return;
    }
  }
  target.stage = Stage::kPlain;
  FillReply(slot, wait_lsn, reply);
}

void HttpConnection::RespondStored(uint64_t slot, Lsn wait_lsn, std::string_view stored) {
  // "<status> <content type>\n<body>"; anything else (an IDEM END on an http:
  // key sent over RESP) is answered as the bytes it is.
  const size_t space = stored.find(' ');
  const size_t newline = stored.find('\n');
  int status = 0;
  if (space == 3 && newline != std::string_view::npos && newline > space) {
    std::from_chars(stored.data(), stored.data() + 3, status);
  }
  if (status < 200 || status > 599) {
    Respond(slot, wait_lsn, 200, "application/octet-stream", stored);
    return;
  }
  Respond(slot, wait_lsn, status, stored.substr(space + 1, newline - space - 1),
          stored.substr(newline + 1));
}

HttpConnection::Slot& HttpConnection::SlotAt(uint64_t slot) {
  EXACTLY_ASSERT(slot >= first_slot_);
  EXACTLY_ASSERT(slot - first_slot_ < slots_.size());
  return slots_[slot - first_slot_];
}

void HttpConnection::Render(Slot& target, int status, std::string_view content_type,
                            std::string_view body) {
  slot_bytes_ -= target.bytes.size();
  target.bytes = ResponseText(status, content_type, body, !target.keep_alive);
  slot_bytes_ += target.bytes.size();
  target.filled = true;
}

void HttpConnection::Respond(uint64_t slot, Lsn wait_lsn, int status, std::string_view content_type,
                             std::string_view body) {
  if (closed_) return;
  Slot& target = SlotAt(slot);
  EXACTLY_ASSERT(!target.filled);
  Render(target, status, content_type, body);
  target.wait_lsn = wait_lsn;
  Release();
}

void HttpConnection::RespondProblem(uint64_t slot, int status, std::string_view code,
                                    std::string_view detail) {
  CountError(status, code);
  Respond(slot, Lsn{0}, status, kProblemJson, ProblemJson(status, code, detail));
}

void HttpConnection::CountOutcome(const Slot& slot, std::string_view outcome) {
  if (!slot.route.empty() && !outcome.empty()) ++handler_->Stats().requests[{slot.route, outcome}];
}

void HttpConnection::CountError(int status, std::string_view code) {
  ++handler_->Stats().errors[{status, std::string(code.empty() ? net::kCodeErr : code)}];
}

void HttpConnection::FillJson(uint64_t slot, Lsn wait_lsn, std::string_view body) {
  Respond(slot, wait_lsn, 200, kJson, body);
}

void HttpConnection::FillReply(uint64_t slot, Lsn wait_lsn, const core::Reply& reply) {
  if (closed_) return;
  if (SlotAt(slot).stage != Stage::kPlain) {
    Advance(slot, wait_lsn, reply);
    return;
  }
  if (reply.is_error()) {
    const int status = ErrorStatus(reply.error_code, reply.error_message, /*from_engine=*/true);
    CountError(status, reply.error_code);
    Respond(slot, wait_lsn, status, kProblemJson,
            ProblemJson(status, reply.error_code, reply.error_message));
    return;
  }
  CountOutcome(SlotAt(slot), reply.result());
  Respond(slot, wait_lsn, 200, kJson, ReplyJson(reply));
}

void HttpConnection::FillError(uint64_t slot, std::string_view code, std::string_view message) {
  if (closed_) return;
  Slot& target = SlotAt(slot);
  const int status = ErrorStatus(code, message, /*from_engine=*/false);
  if (target.stage == Stage::kCommand) {
    // The command was refused before it ran (memory, shutting down): free the
    // key for a retry rather than leave it running until its lease ends.
    target.stored = StoredResponse(status, kProblemJson, ProblemJson(status, code, message));
    target.stage = Stage::kAbort;
    const std::string token = std::to_string(target.idem_token);
    const std::string_view args[] = {"IDEM", "ABORT", target.idem_key, token};
    const net::CommandSpec* spec = nullptr;
    net::ParsedCommand abort = net::ParseRequest(args, &spec);
    EXACTLY_ASSERT(abort.error.empty());
    SubmitLater(slot, std::move(abort.command));
    return;
  }
  // BEGIN, END or ABORT refused (the journal failed, the server is stopping):
  // the command's outcome is not known to be durable, so it is not sent.
  target.stage = Stage::kPlain;
  RespondProblem(slot, status, code, message);
}

void HttpConnection::Release() {
  if (closed_) return;
  const Lsn durable = handler_->DurableLsn();
  while (!slots_.empty() && slots_.front().filled && slots_.front().wait_lsn <= durable) {
    output_ += slots_.front().bytes;
    slot_bytes_ -= slots_.front().bytes.size();
    slots_.pop_front();
    ++first_slot_;
  }
  if (output_start_ < output_.size() || (close_after_replies_ && slots_.empty())) QueueFlush();
  Account();
}

void HttpConnection::FailHeld(std::string_view code, std::string_view message) {
  if (closed_) return;
  const Lsn durable = handler_->DurableLsn();
  for (Slot& slot : slots_) {
    if (!slot.filled || slot.wait_lsn <= durable) continue;
    CountError(503, code);
    Render(slot, 503, kProblemJson, ProblemJson(503, code, message));
    slot.wait_lsn = Lsn{0};
  }
  Release();
}

void HttpConnection::QueueFlush() {
  if (flush_queued_ || closed_) return;
  flush_queued_ = true;
  poller_.QueueFlush(shared_from_this());
}

void HttpConnection::OnFlush() {
  flush_queued_ = false;
  std::vector<std::pair<uint64_t, core::Command>> deferred;
  deferred.swap(deferred_);
  for (auto& [slot, command] : deferred) {
    if (closed_) break;
    handler_->Submit(*this, slot, std::move(command));
  }
  Write();
}

void HttpConnection::OnWritable() {
  if (read_waits_for_write()) OnReadable();  // TLS: a read waited for this
  Write();
}

void HttpConnection::OnError() { Finish(); }

void HttpConnection::Write() {
  if (closed_) return;
  while (output_start_ < output_.size()) {
    const ptrdiff_t sent = Send(output_.data() + output_start_, output_.size() - output_start_);
    if (sent == net::kIoWouldBlock) break;
    if (sent == 0) {
      Finish();
      return;
    }
    output_start_ += static_cast<size_t>(sent);
  }
  want_write_ = output_start_ < output_.size();
  if (!want_write_) {
    output_.clear();
    output_start_ = 0;
    // Keep a usual burst's capacity, give back a large one (as RESP's output does).
    if (output_.capacity() > kOutputPauseBytes) output_.shrink_to_fit();
    if (close_after_replies_ && slots_.empty()) {
      Close();
      return;
    }
  }
  Read();
  if (parse_paused_ && !Backlogged()) {
    parse_paused_ = false;
    ParseInput();
    Read();
  }
  Account();
}

void HttpConnection::Close() {
  if (closed_) return;
  ShutdownSocket();
  Finish();
}

void HttpConnection::Finish() {
  if (closed_) return;
  ReleaseSocket();
  slots_.clear();
  slot_bytes_ = 0;
  std::string().swap(input_);
  std::string().swap(output_);
  output_start_ = 0;
  Account();
  handler_->OnClosed(*this);
}

void HttpConnection::Account() {
  // Capacities, not sizes: what the buffers hold on to. The parser reserves a
  // declared Content-Length (at most kBodyBytesMax) once the first body bytes are in.
  const size_t bytes = closed_ ? 0
                               : input_.capacity() + output_.capacity() +
                                     parser_->get().body().capacity() + slot_bytes_ +
                                     slots_.size() * sizeof(Slot);
  if (bytes == accounted_bytes_) return;
  const int64_t delta = static_cast<int64_t>(bytes) - static_cast<int64_t>(accounted_bytes_);
  accounted_bytes_ = bytes;
  handler_->OnBufferBytes(*this, delta);
}

}  // namespace exactly::http
