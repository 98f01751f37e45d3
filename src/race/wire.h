// What `exactly race` puts on the wire and reads back: targets (http://, resp://),
// HTTP/1.1 request bytes, RESP multibulk commands, and incremental readers for an
// HTTP/1.1 response (Boost.Beast's parser) and a RESP reply (rendered as text).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace exactly::race {

struct Target {
  enum class Scheme { kHttp, kResp };
  Scheme scheme = Scheme::kHttp;
  std::string host;
  uint16_t port = 80;
  std::string path = "/";  // may hold templates; "/" for resp://
};

// `http://host[:port][/path]` (port 80 by default) or `resp://host[:port]` (7379).
base::Result<Target> ParseTarget(const std::string& url);

struct HttpRequest {
  std::string method = "GET";
  std::string host;  // the Host header
  std::string path = "/";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

// `Name: value` as given to -H.
base::Result<std::pair<std::string, std::string>> ParseHeader(const std::string& text);

// The request's bytes: request line, Host, the given headers, Content-Length when
// there is a body (and a Content-Type guess, form or JSON, unless given).
std::string SerializeHttp(const HttpRequest& request);

// Splits a command line into words: spaces separate, single or double quotes group.
base::Result<std::vector<std::string>> SplitCommand(std::string_view line);

// A RESP multibulk array of bulk strings.
std::string SerializeResp(const std::vector<std::string>& words);

// Reads one response from bytes as they arrive.
class ResponseReader {
 public:
  enum class Progress { kNeedMore, kDone, kMalformed };
  virtual ~ResponseReader() = default;
  // Feeds the next bytes; once kDone, status() and body() hold the response.
  virtual Progress Feed(std::string_view bytes) = 0;
  // The peer closed the connection: a response that ends at close is complete.
  virtual Progress Eof() = 0;
  // HTTP status; for RESP 200 for a reply and 500 for an error reply.
  virtual int status() const = 0;
  // HTTP body, or the RESP reply rendered as words, e.g. "result ok id t1 ...".
  virtual const std::string& body() const = 0;
  // Whether the connection can carry another request (HTTP keep-alive; always RESP).
  virtual bool keep_alive() const = 0;
  // Bytes fed beyond the response (pipelined replies); empty for HTTP.
  virtual std::string TakeLeftover() = 0;
};

std::unique_ptr<ResponseReader> MakeHttpReader();
std::unique_ptr<ResponseReader> MakeRespReader();

// Parses one RESP value at the front of `data`. Returns the bytes it took, 0 when
// more bytes are needed, or -1 when the data is not RESP. `text` gets the value
// rendered: strings as they are, arrays as space-separated words, errors with a
// leading '-', nil as "(nil)".
int64_t ParseRespValue(std::string_view data, std::string& text, bool& is_error);

}  // namespace exactly::race
