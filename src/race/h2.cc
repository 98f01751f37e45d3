// h2c single-packet release for `exactly race --h2`.
#include "race/h2.h"

#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <thread>

#include "fmt/format.h"
#include "race/socket.h"

namespace exactly::race {
namespace {

constexpr uint8_t kData = 0x0;
constexpr uint8_t kHeaders = 0x1;
constexpr uint8_t kRstStream = 0x3;
constexpr uint8_t kSettings = 0x4;
constexpr uint8_t kPing = 0x6;
constexpr uint8_t kGoaway = 0x7;
constexpr uint8_t kContinuation = 0x9;
constexpr uint8_t kFlagEndStream = 0x1;
constexpr uint8_t kFlagAck = 0x1;
constexpr uint8_t kFlagEndHeaders = 0x4;
constexpr uint8_t kFlagPadded = 0x8;
constexpr uint8_t kFlagPriority = 0x20;
constexpr uint32_t kFrameMax = 16384;
constexpr uint32_t kWindow = (1u << 30);
constexpr std::string_view kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

std::string Be32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

uint32_t ReadBe(std::string_view s, size_t at, int bytes) {
  uint32_t v = 0;
  for (int k = 0; k < bytes; ++k) v = (v << 8) | static_cast<uint8_t>(s[at + k]);
  return v;
}

class Hpack {
 public:
  Hpack() {
    nghttp2_hd_deflate_new(&deflater_, 4096);
    nghttp2_hd_inflate_new(&inflater_);
  }
  ~Hpack() {
    nghttp2_hd_deflate_del(deflater_);
    nghttp2_hd_inflate_del(inflater_);
  }
  Hpack(const Hpack&) = delete;
  Hpack& operator=(const Hpack&) = delete;

  base::Result<std::string> Encode(const std::vector<std::pair<std::string, std::string>>& h) {
    std::vector<nghttp2_nv> nva;
    for (const auto& [name, value] : h) {
      nva.push_back({const_cast<uint8_t*>(reinterpret_cast<const uint8_t*>(name.data())),
                     const_cast<uint8_t*>(reinterpret_cast<const uint8_t*>(value.data())),
                     name.size(), value.size(), NGHTTP2_NV_FLAG_NONE});
    }
    std::string out(nghttp2_hd_deflate_bound(deflater_, nva.data(), nva.size()), '\0');
    const ssize_t n = nghttp2_hd_deflate_hd(deflater_, reinterpret_cast<uint8_t*>(out.data()),
                                            out.size(), nva.data(), nva.size());
    if (n < 0) return base::Status::InvalidArgument(nghttp2_strerror(static_cast<int>(n)));
    out.resize(static_cast<size_t>(n));
    return out;
  }

  // Decodes a whole header block; returns :status or -1 when malformed.
  int DecodeStatus(std::string_view block) {
    int status = 0;
    auto* in = reinterpret_cast<const uint8_t*>(block.data());
    size_t left = block.size();
    for (;;) {
      nghttp2_nv nv;
      int flags = 0;
      const ssize_t used = nghttp2_hd_inflate_hd2(inflater_, &nv, &flags, in, left, 1);
      if (used < 0) return -1;
      in += used;
      left -= static_cast<size_t>(used);
      if (flags & NGHTTP2_HD_INFLATE_EMIT) {
        const std::string_view name(reinterpret_cast<const char*>(nv.name), nv.namelen);
        if (name == ":status") {
          status =
              std::atoi(std::string(reinterpret_cast<const char*>(nv.value), nv.valuelen).c_str());
        }
      }
      if (flags & NGHTTP2_HD_INFLATE_FINAL) {
        nghttp2_hd_inflate_end_headers(inflater_);
        break;
      }
      if ((flags & NGHTTP2_HD_INFLATE_EMIT) == 0 && left == 0) break;
    }
    return status;
  }

 private:
  nghttp2_hd_deflater* deflater_ = nullptr;
  nghttp2_hd_inflater* inflater_ = nullptr;
};

struct Stream {
  size_t index = 0;
  std::string header_block;
  bool done = false;
};

}  // namespace

std::string H2Frame(uint8_t type, uint8_t flags, uint32_t stream_id, std::string_view payload) {
  std::string f;
  const uint32_t len = static_cast<uint32_t>(payload.size());
  f += static_cast<char>(len >> 16);
  f += static_cast<char>(len >> 8);
  f += static_cast<char>(len);
  f += static_cast<char>(type);
  f += static_cast<char>(flags);
  f += Be32(stream_id & 0x7fffffffu);
  f.append(payload);
  return f;
}

base::Result<RoundRun> FireH2(const Target& target, const std::vector<HttpRequest>& requests,
                              const FireOptions& options) {
  RoundRun run;
  run.requests.resize(requests.size());
  base::Result<Socket> connected = Connect(target.host, target.port);
  if (!connected.ok()) return connected.status();
  Socket sock = std::move(connected).value();
  Hpack hpack;

  // Our SETTINGS: no push, a large stream window; and a large connection window.
  std::string settings;
  settings += std::string("\x00\x02", 2) + Be32(0);        // ENABLE_PUSH 0
  settings += std::string("\x00\x04", 2) + Be32(kWindow);  // INITIAL_WINDOW_SIZE
  std::string hello(kPreface);
  hello += H2Frame(kSettings, 0, 0, settings);
  hello += H2Frame(0x8, 0, 0, Be32(kWindow - 65535));  // WINDOW_UPDATE on the connection
  if (base::Status s = SendAll(sock.fd(), hello); !s.ok()) return s;

  std::string inbox;
  std::map<uint32_t, Stream> streams;
  uint32_t continuing = 0;  // stream whose header block continues
  bool goaway = false;
  bool peer_settings = false;
  int64_t origin_us = 0;
  std::vector<char> buf(64 * 1024);

  // Handles every whole frame in `inbox`; answers SETTINGS and PING.
  auto pump = [&]() -> base::Status {
    while (inbox.size() >= 9) {
      const uint32_t len = ReadBe(inbox, 0, 3);
      if (inbox.size() < 9 + len) break;
      const uint8_t type = static_cast<uint8_t>(inbox[3]);
      const uint8_t flags = static_cast<uint8_t>(inbox[4]);
      const uint32_t id = ReadBe(inbox, 5, 4) & 0x7fffffffu;
      std::string_view payload = std::string_view(inbox).substr(9, len);
      if ((type == kData || type == kHeaders) && (flags & kFlagPadded) && !payload.empty()) {
        const uint8_t pad = static_cast<uint8_t>(payload[0]);
        if (pad + 1u > payload.size()) return base::Status::IoError("h2: bad padding");
        payload = payload.substr(1, payload.size() - 1 - pad);
      }
      if (type == kHeaders && (flags & kFlagPriority)) payload.remove_prefix(5);
      auto stream = streams.find(id);
      const bool ours = id != 0 && stream != streams.end() && !stream->second.done;
      auto end_stream = [&](Stream& s) {
        s.done = true;
        run.requests[s.index].end_us = NowUs() - origin_us;
      };
      if (type == kSettings && !(flags & kFlagAck)) {
        peer_settings = true;
        if (base::Status s = SendAll(sock.fd(), H2Frame(kSettings, kFlagAck, 0, {})); !s.ok()) {
          return s;
        }
      } else if (type == kPing && !(flags & kFlagAck)) {
        if (base::Status s = SendAll(sock.fd(), H2Frame(kPing, kFlagAck, 0, payload)); !s.ok()) {
          return s;
        }
      } else if (type == kGoaway) {
        goaway = true;
      } else if ((type == kHeaders || type == kContinuation) && stream != streams.end()) {
        Stream& s = stream->second;
        if (type == kHeaders) s.header_block.clear();
        s.header_block.append(payload);
        continuing = (flags & kFlagEndHeaders) ? 0 : id;
        if (flags & kFlagEndHeaders) {
          const int status = hpack.DecodeStatus(s.header_block);
          if (status < 0) return base::Status::IoError("h2: bad header block");
          // Trailers carry no :status; keep the first one.
          if (status > 0 && run.requests[s.index].status == 0) {
            run.requests[s.index].status = status;
          }
        }
        if (ours && (flags & kFlagEndStream)) end_stream(s);
      } else if (type == kData && ours) {
        run.requests[stream->second.index].body.append(payload);
        if (flags & kFlagEndStream) end_stream(stream->second);
      } else if (type == kRstStream && ours) {
        stream->second.done = true;
        run.requests[stream->second.index].error =
            fmt::format("stream reset by the server (code {})", ReadBe(payload, 0, 4));
      }
      inbox.erase(0, 9 + len);
    }
    return base::Status::Ok();
  };
  // Reads once (waiting up to timeout_ms) and handles whole frames.
  auto read_some = [&](int timeout_ms) -> base::Status {
    pollfd p{sock.fd(), POLLIN, 0};
    const int ready = ::poll(&p, 1, timeout_ms);
    if (ready <= 0) return base::Status::Ok();
    const ssize_t n = ::recv(sock.fd(), buf.data(), buf.size(), 0);
    if (n == 0) return base::Status::IoError("h2: connection closed");
    if (n < 0) {
      return errno == EINTR ? base::Status::Ok()
                            : base::Status::IoError(fmt::format("h2: {}", std::strerror(errno)));
    }
    inbox.append(buf.data(), static_cast<size_t>(n));
    return pump();
  };

  // Warm-up: the server's SETTINGS must arrive before the race, else it is no h2c.
  const int64_t warm_deadline = NowUs() + options.timeout_ms * 1000LL;
  while (!peer_settings && NowUs() < warm_deadline) {
    if (base::Status s = read_some(100); !s.ok()) {
      return base::Status::IoError(fmt::format("{} (does the target speak h2c?)", s.message()));
    }
  }
  if (!peer_settings) return base::Status::IoError("h2: no SETTINGS from the server (not h2c?)");

  std::string prefix;
  std::string finals;
  for (size_t k = 0; k < requests.size(); ++k) {
    const HttpRequest& r = requests[k];
    const uint32_t id = static_cast<uint32_t>(1 + 2 * k);
    streams[id].index = k;
    std::vector<std::pair<std::string, std::string>> headers = {
        {":method", r.method}, {":scheme", "http"}, {":authority", r.host}, {":path", r.path}};
    for (const auto& [name, value] : r.headers) {
      std::string lower = name;
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (lower == "connection" || lower == "host" || lower == "content-length") continue;
      headers.emplace_back(lower, value);
    }
    if (!r.body.empty()) headers.emplace_back("content-length", std::to_string(r.body.size()));
    base::Result<std::string> block = hpack.Encode(headers);
    if (!block.ok()) return block.status();
    if (block->size() > kFrameMax) return base::Status::InvalidArgument("h2: headers too large");
    prefix += H2Frame(kHeaders, kFlagEndHeaders, id, block.value());
    // All the body but its last byte goes now; the final DATA frame holds that byte
    // (or nothing, for a request without a body) and END_STREAM.
    std::string_view body = r.body;
    std::string_view last;
    if (!body.empty()) {
      last = body.substr(body.size() - 1);
      body.remove_suffix(1);
    }
    while (!body.empty()) {
      const size_t n = std::min<size_t>(body.size(), kFrameMax);
      prefix += H2Frame(kData, 0, id, body.substr(0, n));
      body.remove_prefix(n);
    }
    finals += H2Frame(kData, kFlagEndStream, id, last);
  }
  if (base::Status s = SendAll(sock.fd(), prefix); !s.ok()) return s;
  std::this_thread::sleep_for(std::chrono::milliseconds(options.settle_ms));
  // Handle what came meanwhile (SETTINGS ACK, WINDOW_UPDATE) before the release.
  if (base::Status s = read_some(0); !s.ok()) return s;
  int64_t released_us = 0;
  {
    const ReleasePriority priority;
    origin_us = NowUs();
    if (base::Status s = SendAll(sock.fd(), finals); !s.ok()) return s;
    released_us = NowUs();
  }
  run.release_spread_us = released_us - origin_us;
  for (RequestResult& r : run.requests) r.start_us = run.release_spread_us;

  const int64_t deadline = origin_us + options.timeout_ms * 1000LL;
  auto all_done = [&] {
    for (const auto& [id, s] : streams) {
      if (!s.done) return false;
    }
    return true;
  };
  base::Status failure;
  while (!all_done() && !goaway && NowUs() < deadline) {
    failure = read_some(static_cast<int>((deadline - NowUs()) / 1000) + 1);
    if (!failure.ok()) break;
  }
  (void)continuing;
  for (auto& [id, s] : streams) {
    if (s.done) continue;
    run.requests[s.index].error = !failure.ok() ? failure.message()
                                  : goaway      ? "GOAWAY before the response"
                                                : "timeout: no complete response";
    run.requests[s.index].body.clear();
  }
  return run;
}

}  // namespace exactly::race
