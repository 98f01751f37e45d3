// The ACL file's parser, password and token checks, categories and the request
// checks (see acl.h; the format is docs/acl.md).
#include "net/acl.h"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>
#include <type_traits>
#include <utility>

#include "base/assert.h"
#include "net/args.h"
#include "net/commands/families.h"

namespace exactly::net {
namespace {

constexpr AclCategory kCategories[] = {
    {"all", "every command"},
    {"claims", "CLAIM, UNCLAIM, CLAIMOF, CLAIMLOG"},
    {"ledger", "ACCOUNT, TRANSFER, RESERVE, COMMIT, CANCEL, BALANCE, HISTORY"},
    {"locks", "LOCK, RENEW, UNLOCK, FENCE"},
    {"idem", "IDEM"},
    {"limits", "LIMIT"},
    {"server", "the server and connection commands (PING ... SHUTDOWN, ACL)"},
    {"cluster", "CLUSTER (the topology), READONLY, READWRITE"},
    {"read", "commands that only read state"},
    {"write", "commands that may change state"},
    {"admin",
     "commands that operate the server or other connections (SNAPSHOT, SHUTDOWN, "
     "CLIENT, ACL)"},
    {"blocking", "commands that may park the client (LOCK ... WAIT, IDEM BEGIN ... WAIT)"},
    {"connection", "the connection's own commands (PING, HELLO, AUTH, MULTI, EXEC, INFO, ...)"},
};

size_t RowIndex(const CommandSpec& spec) {
  const std::span<const CommandSpec> rows = AllCommands();
  EXACTLY_ASSERT(&spec >= rows.data() && &spec < rows.data() + rows.size());
  const auto index = static_cast<size_t>(&spec - rows.data());
  EXACTLY_ASSERT(index < kAclCommandsMax);
  return index;
}

bool InFamily(std::span<const CommandSpec> family, const CommandSpec& spec) {
  for (const CommandSpec& row : family) {
    if (row.name == spec.name) return true;
  }
  return false;
}

std::string LowerName(std::string_view name) {
  std::string lower(name);
  for (char& c : lower) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  return lower;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<Sha256> ParseDigest(std::string_view hex) {
  Sha256 digest{};
  if (hex.size() != 2 * digest.size()) return std::nullopt;
  for (size_t i = 0; i < digest.size(); ++i) {
    const int high = HexDigit(hex[2 * i]);
    const int low = HexDigit(hex[2 * i + 1]);
    if (high < 0 || low < 0) return std::nullopt;
    digest[i] = static_cast<unsigned char>(high * 16 + low);
  }
  return digest;
}

// Whether `digest` is among `digests`, looking at every one so the time taken
// does not depend on where (or whether) it matches.
bool Contains(const std::vector<Sha256>& digests, const Sha256& digest) {
  bool found = false;
  for (const Sha256& candidate : digests) {
    found |= CRYPTO_memcmp(candidate.data(), digest.data(), digest.size()) == 0;
  }
  return found;
}

void Remove(std::vector<Sha256>* digests, const Sha256& digest) {
  std::erase_if(*digests, [&](const Sha256& d) { return d == digest; });
}

void SetCategory(User* user, std::string_view category, bool allow) {
  for (const CommandSpec& row : AllCommands()) {
    if (InCategory(row, category)) user->commands.set(RowIndex(row), allow);
  }
}

// Applies one rule of a user line to `user`; "" or what is wrong with it.
// `shown` gets the rule as ACL LIST shows it (a secret as its digest).
std::string ApplyRule(User* user, std::string_view rule, std::string* shown) {
  *shown = std::string(rule);
  if (rule == "on" || rule == "off") {
    user->enabled = rule == "on";
  } else if (rule == "nopass") {
    user->nopass = true;
    user->passwords.clear();
  } else if (rule == "resetpass") {
    user->nopass = false;
    user->passwords.clear();
  } else if (rule == "resettokens") {
    user->tokens.clear();
  } else if (rule.starts_with(">") || rule.starts_with("<")) {
    if (rule.size() == 1) return fmt::format("'{}' needs a password after it", rule);
    const Sha256 digest = Sha256Of(rule.substr(1));
    if (rule[0] == '>') {
      user->nopass = false;
      if (!Contains(user->passwords, digest)) user->passwords.push_back(digest);
      *shown = "#" + Sha256Hex(digest);
    } else {
      Remove(&user->passwords, digest);
      *shown = "!" + Sha256Hex(digest);
    }
  } else if (rule.starts_with("#") || rule.starts_with("!")) {
    const std::optional<Sha256> digest = ParseDigest(rule.substr(1));
    if (!digest) {
      return fmt::format("'{}' is not a SHA-256 digest (64 hex digits after {})", rule, rule[0]);
    }
    if (rule[0] == '#') {
      user->nopass = false;
      if (!Contains(user->passwords, *digest)) user->passwords.push_back(*digest);
    } else {
      Remove(&user->passwords, *digest);
    }
    *shown = std::string(1, rule[0]) + Sha256Hex(*digest);
  } else if (rule.starts_with("token>")) {
    if (rule.size() == 6) return "'token>' needs a token after it";
    const Sha256 digest = Sha256Of(rule.substr(6));
    if (!Contains(user->tokens, digest)) user->tokens.push_back(digest);
    *shown = "token#" + Sha256Hex(digest);
  } else if (rule.starts_with("token#")) {
    const std::optional<Sha256> digest = ParseDigest(rule.substr(6));
    if (!digest) return fmt::format("'{}' is not a SHA-256 digest (64 hex digits after #)", rule);
    if (!Contains(user->tokens, *digest)) user->tokens.push_back(*digest);
    *shown = "token#" + Sha256Hex(*digest);
  } else if (rule == "allcommands" || rule == "nocommands") {
    SetCategory(user, "all", rule == "allcommands");
  } else if (rule == "allkeys") {
    user->all_keys = true;
    user->keys.clear();
  } else if (rule == "resetkeys") {
    user->all_keys = false;
    user->keys.clear();
  } else if (rule == "reset") {
    std::string name = std::move(user->name);
    *user = User();
    user->name = std::move(name);
  } else if (rule.starts_with("~")) {
    const std::string_view pattern = rule.substr(1);
    if (pattern.empty()) return "'~' needs a key pattern after it (~prefix* or ~name)";
    if (pattern == "*") {
      user->all_keys = true;
      user->keys.clear();
      return "";
    }
    const size_t special = pattern.find_first_of("*?[]\\");
    const bool prefix = special == pattern.size() - 1 && pattern.back() == '*';
    if (special != std::string_view::npos && !prefix) {
      return fmt::format("key pattern '{}': only a trailing '*' is supported (~prefix* or ~name)",
                         rule);
    }
    KeyPattern key{std::string(prefix ? pattern.substr(0, pattern.size() - 1) : pattern), prefix};
    if (!user->all_keys && std::ranges::find(user->keys, key) == user->keys.end()) {
      user->keys.push_back(std::move(key));
    }
  } else if (rule.starts_with("+") || rule.starts_with("-")) {
    const bool allow = rule[0] == '+';
    const std::string_view name = rule.substr(1);
    if (name.starts_with("@")) {
      const std::string_view category = name.substr(1);
      bool known = false;
      for (const AclCategory& c : kCategories) known = known || c.name == category;
      if (!known) {
        return fmt::format("unknown category '{}' in '{}' (ACL CAT lists them)", name, rule);
      }
      SetCategory(user, category, allow);
    } else {
      const CommandSpec* spec = FindCommand(name);
      if (spec == nullptr) return fmt::format("unknown command '{}' in '{}'", name, rule);
      user->commands.set(RowIndex(*spec), allow);
    }
  } else {
    return fmt::format("unknown rule '{}'", rule);
  }
  return "";
}

base::Status Bad(size_t line, std::string message) {
  return base::Status::InvalidArgument(fmt::format("line {}: {}", line, message));
}

}  // namespace

Sha256 Sha256Of(std::string_view text) {
  Sha256 digest{};
  unsigned int length = 0;
  const int done =
      EVP_Digest(text.data(), text.size(), digest.data(), &length, EVP_sha256(), nullptr);
  EXACTLY_ASSERT(done == 1);
  EXACTLY_ASSERT(length == digest.size());
  return digest;
}

std::string Sha256Hex(const Sha256& digest) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char byte : digest) {
    hex += kHex[byte >> 4];
    hex += kHex[byte & 15];
  }
  return hex;
}

bool User::MayRun(const CommandSpec& spec) const { return commands.test(RowIndex(spec)); }

bool User::MayTouch(std::string_view key) const {
  if (all_keys) return true;
  for (const KeyPattern& pattern : keys) {
    if (pattern.prefix ? key.starts_with(pattern.text) : key == pattern.text) return true;
  }
  return false;
}

std::span<const AclCategory> AclCategories() { return kCategories; }

bool InCategory(const CommandSpec& spec, std::string_view name) {
  const uint32_t flags = spec.flags;
  if (name == "all") return true;
  if (name == "claims") return InFamily(ClaimCommands(), spec);
  if (name == "ledger") return InFamily(LedgerCommands(), spec);
  if (name == "locks") return InFamily(LockCommands(), spec);
  if (name == "idem") return InFamily(IdemCommands(), spec);
  if (name == "limits") return InFamily(LimitCommands(), spec);
  if (name == "server") return InFamily(ServerCommands(), spec);
  if (name == "cluster") return InFamily(ClusterCommands(), spec);
  if (name == "read") return (flags & kReadonly) != 0;
  if (name == "write") return (flags & kWrite) != 0;
  if (name == "admin") return (flags & kAdmin) != 0;
  if (name == "blocking") return (flags & kBlocking) != 0;
  if (name == "connection") return (flags & kConnection) != 0 && (flags & kAdmin) == 0;
  return false;
}

Acl Acl::FromPassword(std::string_view requirepass) {
  Acl acl;
  User& user = acl.users_.emplace_back();
  user.name = "default";
  user.enabled = true;
  SetCategory(&user, "all", true);
  user.all_keys = true;
  if (requirepass.empty()) {
    user.nopass = true;
    user.rules = "on nopass ~* +@all";
  } else {
    user.passwords.push_back(Sha256Of(requirepass));
    // HTTP's `Authorization: Bearer <password>` from before the ACL file.
    user.tokens.push_back(user.passwords.back());
    user.rules = "on #" + Sha256Hex(user.passwords.back()) + " token#" +
                 Sha256Hex(user.tokens.back()) + " ~* +@all";
  }
  acl.Finish();
  return acl;
}

base::Result<Acl> Acl::Parse(std::string_view text) {
  EXACTLY_ASSERT(AllCommands().size() <= kAclCommandsMax);
  Acl acl;
  std::vector<User> users;
  size_t line_number = 0;
  std::istringstream lines{std::string(text)};
  std::string line;
  while (std::getline(lines, line)) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::vector<std::string_view> words;
    const std::string_view rest(line);
    size_t i = 0;
    while (i < rest.size()) {
      while (i < rest.size() && (rest[i] == ' ' || rest[i] == '\t')) ++i;
      const size_t start = i;
      while (i < rest.size() && rest[i] != ' ' && rest[i] != '\t') ++i;
      if (i > start) words.push_back(rest.substr(start, i - start));
    }
    if (words.empty() || words[0].starts_with("#")) continue;
    if (words[0] != "user" || words.size() < 2) {
      return Bad(line_number, "each line is 'user <name> [rule ...]' (or a # comment)");
    }
    const std::string_view name = words[1];
    if (name.size() > kAclUserNameBytesMax || name.find(':') != std::string_view::npos) {
      return Bad(line_number,
                 fmt::format("user name '{}' is longer than {} bytes or has a ':'",
                             name.substr(0, kAclUserNameBytesMax), kAclUserNameBytesMax));
    }
    for (const User& seen : users) {
      if (seen.name == name) {
        return Bad(line_number, fmt::format("user {} is defined twice", name));
      }
    }
    if (users.size() >= kAclUsersMax) {
      return Bad(line_number, fmt::format("more than {} users", kAclUsersMax));
    }
    User& user = users.emplace_back();
    user.name = std::string(name);
    std::string shown;
    for (size_t w = 2; w < words.size(); ++w) {
      if (std::string error = ApplyRule(&user, words[w], &shown); !error.empty()) {
        return Bad(line_number, fmt::format("user {}: {}", name, error));
      }
      if (!user.rules.empty()) user.rules += ' ';
      user.rules += shown;
    }
  }
  bool has_default = false;
  for (const User& user : users) has_default = has_default || user.name == "default";
  if (!has_default) {
    // Without a line of its own, `default` can do nothing: every client must AUTH.
    User closed;
    closed.name = "default";
    closed.rules = "off resetpass resetkeys -@all";
    users.insert(users.begin(), std::move(closed));
  }
  acl.users_ = std::move(users);
  acl.Finish();
  return acl;
}

base::Result<Acl> Acl::Load(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    return base::Status::InvalidArgument(
        fmt::format("cannot read the ACL file {}: {}", path, std::strerror(errno)));
  }
  std::string text;
  text.resize(kAclFileBytesMax + 1);
  file.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(file.gcount()));
  if (text.size() > kAclFileBytesMax) {
    return base::Status::InvalidArgument(
        fmt::format("the ACL file {} is larger than {} bytes", path, kAclFileBytesMax));
  }
  base::Result<Acl> acl = Parse(text);
  if (!acl.ok()) {
    return base::Status::InvalidArgument(
        fmt::format("ACL file {}: {}", path, acl.status().message()));
  }
  return acl;
}

void Acl::Finish() {
  open_user_ = nullptr;
  for (User& user : users_) {
    user.unrestricted = user.all_keys && user.commands.count() == AllCommands().size();
    user.admin = std::ranges::all_of(AllCommands(), [&](const CommandSpec& spec) {
      return (spec.flags & kAdmin) == 0 || user.MayRun(spec);
    });
    if (user.name == "default" && user.enabled && user.nopass) open_user_ = &user;
  }
}

const User* Acl::Find(std::string_view name) const {
  for (const User& user : users_) {
    if (user.name == name) return &user;
  }
  return nullptr;
}

const User* Acl::Authenticate(std::string_view name, std::string_view password) const {
  const Sha256 digest = Sha256Of(password);
  const User* user = Find(name);
  if (user == nullptr || !user->enabled) return nullptr;
  if (user->nopass) return user;
  return Contains(user->passwords, digest) ? user : nullptr;
}

const User* Acl::AuthenticateToken(std::string_view token) const {
  const Sha256 digest = Sha256Of(token);
  const User* found = nullptr;
  for (const User& user : users_) {
    if (Contains(user.tokens, digest) && user.enabled && found == nullptr) found = &user;
  }
  return found;
}

std::string CommandRefusal(const User& user, const CommandSpec& spec) {
  if (user.MayRun(spec)) return "";
  return fmt::format("User {} has no permissions to run the '{}' command", user.name,
                     LowerName(spec.name));
}

std::string SubcommandRefusal(const User& user, std::string_view command,
                              std::string_view subcommand) {
  return fmt::format("User {} has no permissions to run the '{}|{}' command", user.name,
                     LowerName(command), LowerName(subcommand));
}

namespace {

// The first key of `command` (not a group) that `user` may not touch, or nullptr.
const std::string* FirstRefusedKey(const User& user, const core::Command& command) {
  const std::string* refused = nullptr;
  std::visit(
      [&](const auto& typed) {
        using S = std::decay_t<decltype(typed)>;
        core::ForEachField<S>([&](const auto& field) {
          using T = std::remove_cvref_t<decltype(typed.*field.member)>;
          if constexpr (std::is_same_v<T, std::string>) {
            const bool is_key = field.bit == core::bits::kKey || field.bit == core::bits::kFrom ||
                                field.bit == core::bits::kTo;
            if (is_key && refused == nullptr && !user.MayTouch(typed.*field.member)) {
              refused = &(typed.*field.member);
            }
          }
        });
      },
      command.args);
  if (refused == nullptr && !command.iflock_name.empty() && !user.MayTouch(command.iflock_name)) {
    refused = &command.iflock_name;
  }
  return refused;
}

}  // namespace

std::string KeyRefusal(const User& user, const core::Command& command) {
  if (user.all_keys) return "";
  const std::string* refused = nullptr;
  if (command.kind == core::CommandKind::kGroup) {
    for (const core::Command& sub : command.group) {
      refused = FirstRefusedKey(user, sub);
      if (refused != nullptr) break;
    }
  } else {
    refused = FirstRefusedKey(user, command);
  }
  if (refused == nullptr) return "";
  return fmt::format("User {} has no permissions to access the '{}' key", user.name, *refused);
}

}  // namespace exactly::net
