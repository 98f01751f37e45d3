// Per-request templating for `exactly race`.
#include "race/template.h"

#include <charconv>
#include <fstream>

#include "fmt/format.h"

namespace exactly::race {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

bool Known(std::string_view name) {
  return name == "i" || name == "user" || name == "rand" || name == "round";
}

}  // namespace

base::Status CheckTemplate(std::string_view text) {
  size_t pos = 0;
  while ((pos = text.find("{{", pos)) != std::string_view::npos) {
    const size_t close = text.find("}}", pos + 2);
    if (close == std::string_view::npos) {
      return base::Status::InvalidArgument(fmt::format("unclosed '{{{{' in '{}'", text));
    }
    const std::string_view name = Trim(text.substr(pos + 2, close - pos - 2));
    if (!Known(name)) {
      return base::Status::InvalidArgument(fmt::format(
          "unknown template variable '{{{{{}}}}}' (known: i, user, rand, round)", name));
    }
    pos = close + 2;
  }
  return base::Status::Ok();
}

std::string Expand(std::string_view text, const TemplateVars& vars) {
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t open = text.find("{{", pos);
    if (open == std::string_view::npos) break;
    const size_t close = text.find("}}", open + 2);
    if (close == std::string_view::npos) break;
    out.append(text.substr(pos, open - pos));
    const std::string_view name = Trim(text.substr(open + 2, close - open - 2));
    if (name == "i") {
      out += std::to_string(vars.i);
    } else if (name == "round") {
      out += std::to_string(vars.round);
    } else if (name == "user") {
      out += vars.user;
    } else if (name == "rand") {
      out += std::to_string(vars.rand);
    } else {
      out.append(text.substr(open, close + 2 - open));
    }
    pos = close + 2;
  }
  out.append(text.substr(pos));
  return out;
}

uint64_t SeededRand(uint64_t seed, int64_t round, int64_t i) {
  uint64_t z = seed ^ (static_cast<uint64_t>(round) * 0x9E3779B97F4A7C15ULL) ^
               (static_cast<uint64_t>(i) * 0xBF58476D1CE4E5B9ULL);
  z += 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

base::Result<std::vector<std::string>> LoadUsers(const std::string& spec) {
  std::vector<std::string> users;
  int64_t count = 0;
  const auto [end, ec] = std::from_chars(spec.data(), spec.data() + spec.size(), count);
  if (ec == std::errc() && end == spec.data() + spec.size()) {
    if (count < 1 || count > 1000000) {
      return base::Status::InvalidArgument("--users N takes 1..1000000");
    }
    for (int64_t u = 1; u <= count; ++u) users.push_back(fmt::format("user{}", u));
    return users;
  }
  std::ifstream in(spec);
  if (!in) return base::Status::InvalidArgument(fmt::format("cannot read users file '{}'", spec));
  std::string line;
  while (std::getline(in, line)) {
    const std::string_view user = Trim(line);
    if (!user.empty()) users.emplace_back(user);
  }
  if (users.empty()) {
    return base::Status::InvalidArgument(fmt::format("users file '{}' holds no user", spec));
  }
  return users;
}

const std::string& UserFor(const std::vector<std::string>& users, int64_t i) {
  static const std::string kNone;
  if (users.empty()) return kNone;
  return users[static_cast<size_t>(i - 1) % users.size()];
}

}  // namespace exactly::race
