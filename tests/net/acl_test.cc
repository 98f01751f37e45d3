// The ACL file's parser, its line-numbered errors, password and token checks, and
// the command and key matchers.
#include "net/acl.h"

#include <gtest/gtest.h>

#include <string>

#include "net/command_table.h"

namespace exactly::net {
namespace {

const CommandSpec& Row(std::string_view name) {
  const CommandSpec* spec = FindCommand(name);
  EXPECT_NE(spec, nullptr) << name;
  return *spec;
}

Acl MustParse(std::string_view text) {
  base::Result<Acl> acl = Acl::Parse(text);
  EXPECT_TRUE(acl.ok()) << acl.status().message();
  return std::move(acl).value();
}

std::string ParseError(std::string_view text) {
  base::Result<Acl> acl = Acl::Parse(text);
  EXPECT_FALSE(acl.ok()) << text;
  return acl.ok() ? "" : acl.status().message();
}

core::Command Parsed(std::initializer_list<std::string_view> words) {
  std::vector<std::string_view> args(words);
  const CommandSpec* spec = nullptr;
  ParsedCommand parsed = ParseRequest(args, &spec);
  EXPECT_TRUE(parsed.error.empty()) << parsed.error;
  return std::move(parsed.command);
}

TEST(AclTest, Sha256OfAKnownText) {
  // FIPS 180-2's "abc" example.
  EXPECT_EQ(Sha256Hex(Sha256Of("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(AclTest, FromPasswordMakesOneUnrestrictedDefaultUser) {
  const Acl open = Acl::FromPassword("");
  ASSERT_NE(open.OpenUser(), nullptr);
  EXPECT_TRUE(open.OpenUser()->unrestricted);
  EXPECT_EQ(open.OpenUser()->name, "default");

  const Acl closed = Acl::FromPassword("pw");
  EXPECT_EQ(closed.OpenUser(), nullptr);
  const User* user = closed.Authenticate("default", "pw");
  ASSERT_NE(user, nullptr);
  EXPECT_TRUE(user->unrestricted);
  EXPECT_EQ(closed.Authenticate("default", "pW"), nullptr);
  EXPECT_EQ(closed.Authenticate("bob", "pw"), nullptr);
  // The password is also the HTTP bearer token, as before the ACL file.
  EXPECT_EQ(closed.AuthenticateToken("pw"), user);
  EXPECT_EQ(closed.AuthenticateToken("p"), nullptr);
}

TEST(AclTest, UsersPasswordsAndTokens) {
  const std::string digest = Sha256Hex(Sha256Of("hashed"));
  const Acl acl = MustParse(
      "# the application\n"
      "user alice on >s3cret #" +
      digest +
      " token>tok-a +@claims ~phone:*\n"
      "\n"
      "user bob off >pw allcommands allkeys\r\n"
      "user carol on nopass +claimof ~k\n");
  ASSERT_EQ(acl.users().size(), 4u);  // default first, off, since the file has none
  EXPECT_EQ(acl.users()[0].name, "default");
  EXPECT_FALSE(acl.users()[0].enabled);
  EXPECT_EQ(acl.OpenUser(), nullptr);

  const User* alice = acl.Authenticate("alice", "s3cret");
  ASSERT_NE(alice, nullptr);
  EXPECT_EQ(acl.Authenticate("alice", "hashed"), alice);
  EXPECT_EQ(acl.Authenticate("alice", "s3cre"), nullptr);
  EXPECT_EQ(acl.Authenticate("Alice", "s3cret"), nullptr);
  EXPECT_EQ(acl.AuthenticateToken("tok-a"), alice);
  EXPECT_EQ(acl.AuthenticateToken("s3cret"), nullptr);
  // A disabled user cannot log in, even with its password.
  EXPECT_EQ(acl.Authenticate("bob", "pw"), nullptr);
  // nopass: any password.
  EXPECT_NE(acl.Authenticate("carol", "anything"), nullptr);
  // ACL LIST shows digests, never the secrets.
  EXPECT_EQ(alice->rules.find("s3cret"), std::string::npos);
  EXPECT_EQ(alice->rules.find("tok-a"), std::string::npos);
  EXPECT_NE(alice->rules.find("#" + Sha256Hex(Sha256Of("s3cret"))), std::string::npos);
  EXPECT_NE(alice->rules.find("token#" + Sha256Hex(Sha256Of("tok-a"))), std::string::npos);
}

TEST(AclTest, CommandsByFamilyCategoryAndName) {
  const Acl acl = MustParse(
      "user a on nopass +@claims +@connection -claimlog\n"
      "user b on nopass +@all -@admin\n"
      "user c on nopass +@read +transfer\n"
      "user d on nopass allcommands nocommands +ping\n");
  const User& a = *acl.Find("a");
  EXPECT_TRUE(a.MayRun(Row("CLAIM")));
  EXPECT_TRUE(a.MayRun(Row("CLAIMOF")));
  EXPECT_FALSE(a.MayRun(Row("CLAIMLOG")));
  EXPECT_FALSE(a.MayRun(Row("TRANSFER")));
  EXPECT_TRUE(a.MayRun(Row("PING")));
  EXPECT_TRUE(a.MayRun(Row("MULTI")));
  EXPECT_FALSE(a.MayRun(Row("SHUTDOWN")));
  EXPECT_FALSE(a.MayRun(Row("CLIENT")));  // CLIENT KILL reaches other connections: admin
  const User& b = *acl.Find("b");
  EXPECT_TRUE(b.MayRun(Row("TRANSFER")));
  EXPECT_FALSE(b.MayRun(Row("SNAPSHOT")));
  EXPECT_FALSE(b.MayRun(Row("ACL")));
  EXPECT_FALSE(b.unrestricted);
  const User& c = *acl.Find("c");
  EXPECT_TRUE(c.MayRun(Row("BALANCE")));
  EXPECT_TRUE(c.MayRun(Row("TRANSFER")));
  EXPECT_FALSE(c.MayRun(Row("ACCOUNT")));
  const User& d = *acl.Find("d");
  EXPECT_TRUE(d.MayRun(Row("PING")));
  EXPECT_FALSE(d.MayRun(Row("CLAIM")));
  EXPECT_EQ(CommandRefusal(d, Row("CLAIM")),
            "User d has no permissions to run the 'claim' command");
  EXPECT_EQ(CommandRefusal(d, Row("PING")), "");
}

// CLUSTER's membership subcommands need every @admin row besides CLUSTER itself.
TEST(AclTest, AdminIsEveryAdminRow) {
  const Acl acl = MustParse(
      "user ops on nopass +@cluster +@admin\n"
      "user router on nopass +@cluster +@connection\n"
      "user partial on nopass +@cluster +snapshot\n");
  EXPECT_TRUE(acl.Find("ops")->admin);
  EXPECT_FALSE(acl.Find("router")->admin);
  EXPECT_FALSE(acl.Find("partial")->admin);
  EXPECT_TRUE(Acl::FromPassword("").users()[0].admin);
  EXPECT_EQ(SubcommandRefusal(*acl.Find("router"), "CLUSTER", "ADDNODE"),
            "User router has no permissions to run the 'cluster|addnode' command");
}

TEST(AclTest, EveryRowIsInItsFamilyAndAll) {
  for (const CommandSpec& row : AllCommands()) {
    EXPECT_TRUE(InCategory(row, "all"));
    int families = 0;
    for (std::string_view family :
         {"claims", "ledger", "locks", "idem", "limits", "server", "cluster"}) {
      families += InCategory(row, family);
    }
    EXPECT_EQ(families, 1) << row.name;
  }
}

TEST(AclTest, KeyPatternsArePrefixesOrNames) {
  const Acl acl = MustParse("user a on nopass +@all ~phone:* ~acct:1 ~acct:2\n");
  const User& a = *acl.Find("a");
  EXPECT_TRUE(a.MayTouch("phone:"));
  EXPECT_TRUE(a.MayTouch("phone:+86"));
  EXPECT_FALSE(a.MayTouch("phone"));
  EXPECT_FALSE(a.MayTouch("Phone:1"));
  EXPECT_TRUE(a.MayTouch("acct:1"));
  EXPECT_FALSE(a.MayTouch("acct:10"));
  EXPECT_FALSE(a.unrestricted);
  const Acl all =
      MustParse("user a on nopass +@all ~x:* ~*\nuser b on nopass +@all ~x:* resetkeys\n");
  EXPECT_TRUE(all.Find("a")->MayTouch("anything"));
  EXPECT_TRUE(all.Find("a")->unrestricted);
  EXPECT_FALSE(all.Find("b")->MayTouch("x:1"));
}

TEST(AclTest, KeysAreTheCommandsKeyFields) {
  const Acl acl = MustParse("user a on nopass +@all ~acct:* ~phone:* ~lock:*\n");
  const User& a = *acl.Find("a");
  EXPECT_EQ(KeyRefusal(a, Parsed({"TRANSFER", "t1", "acct:1", "acct:2", "5"})), "");
  // TRANSFER names two accounts; the id is not a key.
  EXPECT_EQ(KeyRefusal(a, Parsed({"TRANSFER", "t1", "acct:1", "bank", "5"})),
            "User a has no permissions to access the 'bank' key");
  EXPECT_EQ(KeyRefusal(a, Parsed({"TRANSFER", "t1", "bank", "acct:1", "5"})),
            "User a has no permissions to access the 'bank' key");
  EXPECT_EQ(KeyRefusal(a, Parsed({"CLAIM", "phone:1", "u1"})), "");
  EXPECT_NE(KeyRefusal(a, Parsed({"CLAIM", "email:1", "u1"})), "");
  // The claim's owner is not a key.
  EXPECT_EQ(KeyRefusal(a, Parsed({"CLAIM", "phone:1", "email:1"})), "");
  EXPECT_NE(KeyRefusal(a, Parsed({"LOCK", "job", "o", "LEASE", "100"})), "");
  EXPECT_EQ(KeyRefusal(a, Parsed({"LOCK", "lock:job", "o", "LEASE", "100"})), "");
  EXPECT_NE(KeyRefusal(a, Parsed({"IDEM", "BEGIN", "op:1"})), "");
  EXPECT_NE(KeyRefusal(a, Parsed({"LIMIT", "ip:1", "RATE", "1", "PER", "1000"})), "");
  // IFLOCK's lock is read, so it is checked too.
  EXPECT_EQ(KeyRefusal(a, Parsed({"CLAIM", "phone:1", "u", "IFLOCK", "other", "1"})),
            "User a has no permissions to access the 'other' key");
  // A group: every sub-command's keys.
  core::Command group = core::cmd::Group();
  group.group.push_back(Parsed({"CLAIM", "phone:1", "u"}));
  group.group.push_back(Parsed({"BALANCE", "secret"}));
  EXPECT_EQ(KeyRefusal(a, group), "User a has no permissions to access the 'secret' key");
}

TEST(AclTest, BadLinesNameTheirLine) {
  EXPECT_EQ(ParseError("user a on\nuser b on +nosuch\n"),
            "line 2: user b: unknown command 'nosuch' in '+nosuch'");
  EXPECT_EQ(ParseError("\n\nuser a on +@nosuch\n"),
            "line 3: user a: unknown category '@nosuch' in '+@nosuch' (ACL CAT lists them)");
  EXPECT_EQ(ParseError("user a on\nuser a off\n"), "line 2: user a is defined twice");
  EXPECT_EQ(ParseError("alice on >pw\n"),
            "line 1: each line is 'user <name> [rule ...]' (or a # comment)");
  EXPECT_EQ(ParseError("user\n"), "line 1: each line is 'user <name> [rule ...]' (or a # comment)");
  EXPECT_EQ(ParseError("user a sometimes\n"), "line 1: user a: unknown rule 'sometimes'");
  EXPECT_EQ(ParseError("user a #abc\n"),
            "line 1: user a: '#abc' is not a SHA-256 digest (64 hex digits after #)");
  EXPECT_EQ(ParseError("user a ~a*b\n"),
            "line 1: user a: key pattern '~a*b': only a trailing '*' is supported (~prefix* or "
            "~name)");
  EXPECT_EQ(ParseError("user a ~a?\n"),
            "line 1: user a: key pattern '~a?': only a trailing '*' is supported (~prefix* or "
            "~name)");
  EXPECT_EQ(ParseError("user a >\n"), "line 1: user a: '>' needs a password after it");
  EXPECT_NE(ParseError("user a:b on\n").find("line 1: user name 'a:b'"), std::string::npos);
}

TEST(AclTest, PasswordRulesCanBeTakenBack) {
  const Acl acl = MustParse(
      "user a on >one >two <one\n"
      "user b on >pw nopass\n"
      "user c on nopass >pw\n"
      "user d on >pw resetpass\n"
      "user e on >pw +@all ~* reset\n");
  EXPECT_EQ(acl.Authenticate("a", "one"), nullptr);
  EXPECT_NE(acl.Authenticate("a", "two"), nullptr);
  EXPECT_NE(acl.Authenticate("b", "other"), nullptr);
  EXPECT_EQ(acl.Authenticate("c", "other"), nullptr);  // a password ends nopass
  EXPECT_NE(acl.Authenticate("c", "pw"), nullptr);
  EXPECT_EQ(acl.Authenticate("d", "pw"), nullptr);
  EXPECT_EQ(acl.Authenticate("e", "pw"), nullptr);  // reset: off, no password, nothing
}

TEST(AclTest, AnOpenDefaultUserFromTheFile) {
  const Acl acl = MustParse("user default on nopass +@read ~*\nuser admin on >pw +@all ~*\n");
  ASSERT_NE(acl.OpenUser(), nullptr);
  EXPECT_EQ(acl.OpenUser()->name, "default");
  EXPECT_FALSE(acl.OpenUser()->unrestricted);
  EXPECT_TRUE(acl.Find("admin")->unrestricted);
}

TEST(AclTest, LoadNamesTheFile) {
  base::Result<Acl> missing = Acl::Load("/nonexistent/exactly.acl");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("cannot read the ACL file /nonexistent/exactly.acl"),
            std::string::npos);
}

}  // namespace
}  // namespace exactly::net
