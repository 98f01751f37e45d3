// Request bytes and response readers for `exactly race`.
#include "race/wire.h"

#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <charconv>

#include "fmt/format.h"

namespace exactly::race {
namespace {

namespace http = boost::beast::http;

constexpr size_t kBodyMax = 8 * 1024 * 1024;
constexpr int kRespDepthMax = 32;

class HttpReader final : public ResponseReader {
 public:
  HttpReader() {
    parser_.eager(true);
    parser_.body_limit(kBodyMax);
  }

  Progress Feed(std::string_view bytes) override {
    pending_.append(bytes);
    while (!pending_.empty() && !parser_.is_done()) {
      boost::beast::error_code ec;
      const size_t used = parser_.put(boost::asio::buffer(pending_.data(), pending_.size()), ec);
      pending_.erase(0, used);
      if (ec == http::error::need_more) break;
      if (ec) return Progress::kMalformed;
      if (used == 0) break;
    }
    return Finish();
  }

  Progress Eof() override {
    if (parser_.is_done()) return Finish();
    boost::beast::error_code ec;
    parser_.put_eof(ec);
    if (ec) return Progress::kMalformed;
    return Finish();
  }

  int status() const override { return status_; }
  const std::string& body() const override { return body_; }
  bool keep_alive() const override { return keep_alive_; }
  std::string TakeLeftover() override { return {}; }

 private:
  Progress Finish() {
    if (!parser_.is_done()) return Progress::kNeedMore;
    const auto& message = parser_.get();
    status_ = static_cast<int>(message.result_int());
    body_ = message.body();
    keep_alive_ = message.keep_alive();
    return Progress::kDone;
  }

  http::response_parser<http::string_body> parser_;
  std::string pending_;
  int status_ = 0;
  std::string body_;
  bool keep_alive_ = false;
};

class RespReader final : public ResponseReader {
 public:
  Progress Feed(std::string_view bytes) override {
    pending_.append(bytes);
    bool is_error = false;
    std::string text;
    const int64_t used = ParseRespValue(pending_, text, is_error);
    if (used < 0) return Progress::kMalformed;
    if (used == 0) return Progress::kNeedMore;
    pending_.erase(0, static_cast<size_t>(used));
    body_ = std::move(text);
    status_ = is_error ? 500 : 200;
    return Progress::kDone;
  }
  Progress Eof() override { return status_ != 0 ? Progress::kDone : Progress::kMalformed; }
  int status() const override { return status_; }
  const std::string& body() const override { return body_; }
  bool keep_alive() const override { return true; }
  std::string TakeLeftover() override { return std::exchange(pending_, {}); }

 private:
  std::string pending_;
  int status_ = 0;
  std::string body_;
};

// Reads up to CRLF starting at `at`; returns the line's end or npos.
size_t LineEnd(std::string_view data, size_t at) {
  const size_t end = data.find("\r\n", at);
  return end;
}

int64_t ParseAt(std::string_view data, size_t at, std::string& text, bool& is_error, int depth) {
  if (depth > kRespDepthMax) return -1;
  if (at >= data.size()) return 0;
  const char type = data[at];
  const size_t end = LineEnd(data, at + 1);
  if (end == std::string_view::npos) return 0;
  const std::string_view line = data.substr(at + 1, end - at - 1);
  const int64_t header = static_cast<int64_t>(end + 2 - at);
  auto length = [&](int64_t& n) {
    const auto [p, ec] = std::from_chars(line.data(), line.data() + line.size(), n);
    return ec == std::errc() && p == line.data() + line.size();
  };
  switch (type) {
    case '+':
    case ':':
    case ',':
    case '(':
    case '#':
      text.append(line);
      return header;
    case '-':
      is_error = true;
      text += '-';
      text.append(line);
      return header;
    case '_':
      text += "(nil)";
      return header;
    case '$':
    case '=':
    case '!': {
      int64_t n = 0;
      if (!length(n) || n < -1 || n > static_cast<int64_t>(kBodyMax)) return -1;
      if (n == -1) {
        text += "(nil)";
        return header;
      }
      const size_t need = end + 2 + static_cast<size_t>(n) + 2;
      if (data.size() < need) return 0;
      if (type == '!') {
        is_error = true;
        text += '-';
      }
      text.append(data.substr(end + 2, static_cast<size_t>(n)));
      return static_cast<int64_t>(need - at);
    }
    case '*':
    case '%':
    case '~':
    case '>': {
      int64_t n = 0;
      if (!length(n) || n < -1) return -1;
      if (n == -1) {
        text += "(nil)";
        return header;
      }
      const int64_t items = type == '%' ? 2 * n : n;
      size_t pos = end + 2;
      for (int64_t k = 0; k < items; ++k) {
        if (k > 0) text += ' ';
        bool inner_error = false;
        const int64_t used = ParseAt(data, pos, text, inner_error, depth + 1);
        if (used <= 0) return used;
        pos += static_cast<size_t>(used);
      }
      return static_cast<int64_t>(pos - at);
    }
    default:
      return -1;
  }
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

base::Result<Target> ParseTarget(const std::string& url) {
  Target target;
  std::string_view rest = url;
  if (rest.starts_with("http://")) {
    target.scheme = Target::Scheme::kHttp;
    target.port = 80;
    rest.remove_prefix(7);
  } else if (rest.starts_with("resp://")) {
    target.scheme = Target::Scheme::kResp;
    target.port = 7379;
    rest.remove_prefix(7);
  } else if (rest.starts_with("https://")) {
    return base::Status::InvalidArgument("https:// is not supported yet: use http:// or h2c");
  } else {
    return base::Status::InvalidArgument(
        fmt::format("target '{}': expected http://host[:port]/path or resp://host[:port]", url));
  }
  const size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) target.path = std::string(rest.substr(slash));
  const size_t colon = authority.rfind(':');
  if (colon != std::string_view::npos) {
    const std::string_view port = authority.substr(colon + 1);
    unsigned value = 0;
    const auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || p != port.data() + port.size() || value == 0 || value > 65535) {
      return base::Status::InvalidArgument(fmt::format("target '{}': bad port", url));
    }
    target.port = static_cast<uint16_t>(value);
    authority = authority.substr(0, colon);
  }
  if (authority.empty()) {
    return base::Status::InvalidArgument(fmt::format("target '{}': no host", url));
  }
  target.host = std::string(authority);
  return target;
}

base::Result<std::pair<std::string, std::string>> ParseHeader(const std::string& text) {
  const size_t colon = text.find(':');
  if (colon == std::string::npos || colon == 0) {
    return base::Status::InvalidArgument(fmt::format("header '{}': expected 'Name: value'", text));
  }
  std::string value = text.substr(colon + 1);
  while (!value.empty() && value.front() == ' ') value.erase(0, 1);
  return std::pair<std::string, std::string>{text.substr(0, colon), value};
}

std::string SerializeHttp(const HttpRequest& request) {
  std::string out =
      fmt::format("{} {} HTTP/1.1\r\nHost: {}\r\n", request.method, request.path, request.host);
  bool has_type = false;
  bool has_agent = false;
  for (const auto& [name, value] : request.headers) {
    const std::string lower = Lower(name);
    has_type = has_type || lower == "content-type";
    has_agent = has_agent || lower == "user-agent";
    if (lower == "content-length" || lower == "host") continue;
    out += fmt::format("{}: {}\r\n", name, value);
  }
  if (!has_agent) out += "User-Agent: exactly-race\r\n";
  if (!request.body.empty() || request.method == "POST" || request.method == "PUT" ||
      request.method == "PATCH") {
    if (!has_type) {
      const bool json =
          !request.body.empty() && (request.body.front() == '{' || request.body.front() == '[');
      out += json ? "Content-Type: application/json\r\n"
                  : "Content-Type: application/x-www-form-urlencoded\r\n";
    }
    out += fmt::format("Content-Length: {}\r\n", request.body.size());
  }
  out += "\r\n";
  out += request.body;
  return out;
}

base::Result<std::vector<std::string>> SplitCommand(std::string_view line) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  char quote = 0;
  for (char c : line) {
    if (quote != 0) {
      if (c == quote) {
        quote = 0;
      } else {
        word += c;
      }
    } else if (c == '\'' || c == '"') {
      quote = c;
      in_word = true;
    } else if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) words.push_back(std::exchange(word, {}));
      in_word = false;
    } else {
      word += c;
      in_word = true;
    }
  }
  if (quote != 0) return base::Status::InvalidArgument("command: unclosed quote");
  if (in_word) words.push_back(word);
  if (words.empty()) return base::Status::InvalidArgument("command: empty");
  return words;
}

std::string SerializeResp(const std::vector<std::string>& words) {
  std::string out = fmt::format("*{}\r\n", words.size());
  for (const std::string& w : words) {
    out += fmt::format("${}\r\n", w.size());
    out += w;
    out += "\r\n";
  }
  return out;
}

int64_t ParseRespValue(std::string_view data, std::string& text, bool& is_error) {
  text.clear();
  is_error = false;
  return ParseAt(data, 0, text, is_error, 0);
}

std::unique_ptr<ResponseReader> MakeHttpReader() { return std::make_unique<HttpReader>(); }
std::unique_ptr<ResponseReader> MakeRespReader() { return std::make_unique<RespReader>(); }

}  // namespace exactly::race
