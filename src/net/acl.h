// Acl: the server's users, their passwords and bearer tokens, and what each may
// run on which keys; read once at start from --aclfile (docs/acl.md), or made from
// --requirepass, and never changed while the server runs.
//
// A connection points at its User (net/connection.h) once it has authenticated;
// every request then asks the user: `unrestricted` (every command, every key, what
// a server without an ACL file gives everyone) lets it through with one load and
// one branch; otherwise the command's row is a bit in `commands` and each key the
// command names (its key, from, to or lock name fields, and an IFLOCK name) must
// match one of `keys`, each a prefix or an exact name.
//
// Secrets are kept as SHA-256 digests only and compared with CRYPTO_memcmp, so the
// time a refusal takes does not tell how much of a guess was right.
//
// Thread-safety: an Acl is immutable after construction; any thread may read it.
#pragma once

#include <array>
#include <bitset>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "core/command.h"
#include "net/command_table.h"

namespace exactly::net {

// Command table rows an ACL can name: one bit each in User::commands.
inline constexpr size_t kAclCommandsMax = 128;
// Bounds on what an ACL file may hold (docs/limits.md).
inline constexpr size_t kAclFileBytesMax = 1 << 20;
inline constexpr size_t kAclUsersMax = 1000;
inline constexpr size_t kAclUserNameBytesMax = 128;

using Sha256 = std::array<unsigned char, 32>;

// SHA-256 of `text` (OpenSSL's libcrypto).
Sha256 Sha256Of(std::string_view text);
// `digest` as 64 lowercase hex digits, the form the ACL file's `#<hash>` rules
// take and ACL LIST shows.
std::string Sha256Hex(const Sha256& digest);

// A key pattern: `~prefix*` (prefix) or `~name` (that key only); `~*` is all keys.
struct KeyPattern {
  std::string text;  // the prefix, or the whole name
  bool prefix = false;
  bool operator==(const KeyPattern&) const = default;
};

struct User {
  std::string name;
  bool enabled = false;
  bool nopass = false;                    // any password (and none) authenticates
  std::vector<Sha256> passwords;          // SHA-256 of each password
  std::vector<Sha256> tokens;             // SHA-256 of each bearer token (HTTP)
  std::bitset<kAclCommandsMax> commands;  // by row index in AllCommands()
  bool all_keys = false;
  std::vector<KeyPattern> keys;
  // Every command and every key: no check at all on the request path.
  bool unrestricted = false;
  // Every @admin row: also what CLUSTER's subcommands that change the group need.
  bool admin = false;
  // The rules as ACL LIST shows them, secrets as digests.
  std::string rules;

  // Whether the row may run for this user (any key).
  bool MayRun(const CommandSpec& spec) const;
  // Whether `key` matches one of the user's key patterns.
  bool MayTouch(std::string_view key) const;
};

class Acl {
 public:
  // What a server without --aclfile has: the user `default`, with every command
  // and key, needing `requirepass` if it is not empty (as password, and as a
  // bearer token on HTTP), none otherwise.
  static Acl FromPassword(std::string_view requirepass);
  // Parses an ACL file's text (docs/acl.md). InvalidArgument "line N: ..." for the
  // first bad line. `default` is off unless the text defines it.
  static base::Result<Acl> Parse(std::string_view text);
  // Reads and parses `path`; the message names the file.
  static base::Result<Acl> Load(const std::string& path);

  Acl(Acl&&) = default;
  Acl& operator=(Acl&&) = default;
  Acl(const Acl&) = delete;
  Acl& operator=(const Acl&) = delete;

  // The user named `name` (exact), nullptr if none.
  const User* Find(std::string_view name) const;
  // The user `name` if it is enabled and `password` is one of its own (any when
  // it is nopass); nullptr otherwise.
  const User* Authenticate(std::string_view name, std::string_view password) const;
  // The enabled user one of whose bearer tokens is `token`; nullptr if none.
  const User* AuthenticateToken(std::string_view token) const;
  // The user a new connection starts as: `default` if it is enabled and needs no
  // password; nullptr (the connection must AUTH) otherwise. Protected mode
  // (docs/acl.md) is in force exactly while this is not nullptr.
  const User* OpenUser() const { return open_user_; }
  // Every user, in file order (`default` first when the file does not define it).
  std::span<const User> users() const { return users_; }

 private:
  Acl() = default;
  void Finish();

  std::vector<User> users_;  // never resized after construction: connections point in
  const User* open_user_ = nullptr;
};

// The ACL categories, "@all" first, each with a one-line description, for ACL CAT
// and docs/acl.md.
struct AclCategory {
  std::string_view name;  // "claims"
  std::string_view summary;
};
std::span<const AclCategory> AclCategories();
// Whether row `spec` is in category `name` (without the @).
bool InCategory(const CommandSpec& spec, std::string_view name);

// "" if `user` may run row `spec`, else the NOPERM text naming the user and the
// command ("User alice has no permissions to run the 'transfer' command").
std::string CommandRefusal(const User& user, const CommandSpec& spec);

// The NOPERM text for a subcommand `user` may not run ("User alice has no
// permissions to run the 'cluster|addnode' command").
std::string SubcommandRefusal(const User& user, std::string_view command,
                              std::string_view subcommand);

// "" if `user` may touch every key `command` names (its fields that are keys: key,
// from, to, a lock's name; then IFLOCK's lock name; a group's sub-commands in
// order), else the NOPERM text naming the user and the first refused key.
std::string KeyRefusal(const User& user, const core::Command& command);

}  // namespace exactly::net
