// Endpoint patterns and the rules file of `exactly race audit`.
#include "race/audit_rules.h"

#include "fmt/format.h"

namespace exactly::race {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Iterative glob match with backtracking to the last '*'.
bool Glob(std::string_view pattern, std::string_view text) {
  size_t p = 0;
  size_t t = 0;
  size_t star = std::string_view::npos;
  size_t resume = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace

std::string PathOf(std::string_view url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return std::string(url);
  const size_t slash = url.find('/', scheme + 3);
  return slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
}

bool EndpointPattern::Matches(std::string_view m, std::string_view url) const {
  if (!method.empty() && method != "*" && method != m) return false;
  return Glob(glob, url) || Glob(glob, PathOf(url));
}

base::Result<EndpointPattern> ParseEndpointPattern(const std::string& text) {
  EndpointPattern p;
  p.text = text;
  std::string_view s = Trim(text);
  const size_t space = s.find(' ');
  if (space != std::string_view::npos) {
    std::string method(s.substr(0, space));
    bool word = !method.empty();
    for (char& c : method) {
      word = word && (std::isalpha(static_cast<unsigned char>(c)) || c == '*');
      c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    if (!word) {
      return base::Status::InvalidArgument(
          fmt::format("pattern '{}': expected [METHOD ]URL-GLOB, e.g. 'POST */api/*'", text));
    }
    p.method = method;
    s = Trim(s.substr(space + 1));
  }
  if (s.empty()) {
    return base::Status::InvalidArgument(fmt::format("pattern '{}': no URL glob", text));
  }
  p.glob = std::string(s);
  return p;
}

base::Result<std::vector<AuditRule>> ParseAuditRules(std::string_view text) {
  std::vector<AuditRule> rules;
  int line_no = 0;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++line_no;
    // A comment starts with '#' at the start of a line or after a space.
    for (size_t k = 0; k < line.size(); ++k) {
      if (line[k] == '#' && (k == 0 || line[k - 1] == ' ' || line[k - 1] == '\t')) {
        line = line.substr(0, k);
        break;
      }
    }
    line = Trim(line);
    if (line.empty()) continue;
    auto error = [&](const std::string& why) {
      return base::Status::InvalidArgument(fmt::format("rules line {}: {}", line_no, why));
    };
    if (line.front() == '[') {
      if (line.back() != ']') return error("a section header is [METHOD URL-GLOB]");
      base::Result<EndpointPattern> p =
          ParseEndpointPattern(std::string(line.substr(1, line.size() - 2)));
      if (!p.ok()) return error(p.status().message());
      AuditRule rule;
      rule.pattern = p.value();
      rule.line = line_no;
      rules.push_back(std::move(rule));
      continue;
    }
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos) return error("expected 'key = value' or '[pattern]'");
    if (rules.empty()) return error("a key before the first [pattern] section");
    const std::string key(Trim(line.substr(0, eq)));
    const std::string value(Trim(line.substr(eq + 1)));
    AuditRule& rule = rules.back();
    if (key == "observe") {
      rule.observe = value;
    } else if (key == "observe-command") {
      rule.observe_command = value;
    } else if (key == "observe-value") {
      rule.observe_value = value;
    } else if (key == "observe-json") {
      rule.observe_json = value;
    } else if (key == "success") {
      base::Result<SuccessRule> s = ParseSuccessRule(value);
      if (!s.ok()) return error(s.status().message());
      rule.success.push_back(s.value());
      rule.success_texts.push_back(value);
    } else if (key == "expect") {
      base::Result<Expectation> e = ParseExpectation(value);
      if (!e.ok()) return error(e.status().message());
      rule.expectations.push_back(e.value());
    } else {
      return error(fmt::format(
          "unknown key '{}' (observe, observe-command, observe-value, observe-json, success, "
          "expect)",
          key));
    }
  }
  return rules;
}

const AuditRule* RuleFor(const std::vector<AuditRule>& rules, std::string_view method,
                         std::string_view url) {
  for (const AuditRule& r : rules) {
    if (r.pattern.Matches(method, url)) return &r;
  }
  return nullptr;
}

}  // namespace exactly::race
