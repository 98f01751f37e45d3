// HAR 1.2 (HTTP Archive, what every browser's devtools export as "Save all as HAR")
// read into the requests `exactly race audit` replays: method, URL, the recorded
// headers and cookies, and the body.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace exactly::race {

struct HarRequest {
  size_t entry = 0;  // 0-based position in log.entries
  std::string method;
  std::string url;
  // As recorded, minus what a replay must set itself: HTTP/2 pseudo-headers, Host,
  // Content-Length, hop-by-hop headers and Accept-Encoding (so bodies stay readable).
  // A Cookie header is built from request.cookies when the headers have none.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // postData.text, or its params form-encoded
};

// Parses a HAR document. Fails with InvalidArgument naming what is missing when the
// text is not JSON or has no log.entries; an entry without a request method or URL
// is skipped and counted in `skipped`.
base::Result<std::vector<HarRequest>> ParseHar(std::string_view text, size_t* skipped = nullptr);

// Whether a method changes state: POST, PUT, PATCH, DELETE.
bool IsStateChanging(std::string_view method);

}  // namespace exactly::race
