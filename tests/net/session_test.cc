// Tests for net/session: dispatch by the command table, authentication, HELLO,
// the MULTI queue and the connection's own commands, over a real loopback
// connection with a fake server behind it.
#include "net/session.h"

#include <gtest/gtest.h>

#include "net/command_table.h"
#include "net/errors.h"
#include "session_harness.h"

namespace exactly::net::testing {
namespace {

std::string ErrorReply(std::string_view code, const std::string& message) {
  return "-" + std::string(code) + " " + message + "\r\n";
}

TEST(SessionRowsTest, EveryRowNamesItsHandler) {
  for (const CommandSpec& spec : AllCommands()) {
    EXPECT_NE(spec.handle, nullptr) << spec.name;
    EXPECT_EQ((spec.flags & kConnection) != 0, spec.parse == nullptr) << spec.name;
    if (spec.parse != nullptr) {
      EXPECT_EQ(spec.handle, RunDataCommand) << spec.name;
    }
  }
  for (std::string_view name : {"MULTI", "EXEC", "DISCARD"}) {
    EXPECT_TRUE(FindCommand(name)->flags & kGroupControl) << name;
  }
}

TEST_F(SessionTest, PingAndEcho) {
  EXPECT_EQ(Ask({"PING"}), "+PONG\r\n");
  EXPECT_EQ(Ask({"ping", "hi"}), "$2\r\nhi\r\n");
  EXPECT_EQ(Ask({"ECHO", "x"}), "$1\r\nx\r\n");
}

TEST_F(SessionTest, UnknownCommandAndArity) {
  EXPECT_EQ(Ask({"NOPE", "a"}),
            ErrorReply(kCodeErr, ErrUnknownCommand("NOPE", std::vector<std::string_view>{"a"})));
  EXPECT_EQ(Ask({"ECHO"}), ErrorReply(kCodeErr, ErrArity("ECHO")));
  EXPECT_EQ(connection_->last_command, "ECHO");
}

TEST_F(SessionTest, DataCommandIsParsedAndSubmitted) {
  EXPECT_EQ(Ask({"CLAIM", "k", "o"}), "+SUBMITTED\r\n");
  ASSERT_EQ(server_.submitted.size(), 1u);
  EXPECT_EQ(server_.submitted[0].kind, core::CommandKind::kClaim);
  EXPECT_EQ(Ask({"CLAIM", "k", "o", "BOGUS"}), ErrorReply(kCodeErr, ErrUnknownOption("BOGUS")));
  EXPECT_EQ(server_.submitted.size(), 1u);
}

TEST_F(SessionTest, NothingButAuthBeforeAuthenticating) {
  server_.users = Acl::FromPassword("pw");
  connection_->user = nullptr;
  EXPECT_EQ(Ask({"PING"}), ErrorReply(kCodeNoAuth, ErrNoAuth()));
  EXPECT_EQ(Ask({"CLAIM", "k", "o"}), ErrorReply(kCodeNoAuth, ErrNoAuth()));
  EXPECT_TRUE(server_.submitted.empty());
  EXPECT_EQ(Ask({"AUTH", "bad"}), ErrorReply(kCodeWrongPass, ErrWrongPass()));
  EXPECT_EQ(Ask({"AUTH", "bob", "pw"}), ErrorReply(kCodeWrongPass, ErrWrongPass()));
  EXPECT_EQ(Ask({"AUTH", "Default", "pw"}), ErrorReply(kCodeWrongPass, ErrWrongPass()));
  EXPECT_EQ(Ask({"AUTH", "default", "pw"}), "+OK\r\n");
  EXPECT_NE(connection_->user, nullptr);
  EXPECT_EQ(Ask({"PING"}), "+PONG\r\n");
}

TEST_F(SessionTest, AclRefusesCommandsAndKeysAndDoomsTheGroup) {
  connection_->user = nullptr;
  server_.users = Acl::Parse("user app on >pw +@claims +@connection ~phone:*\n").value();
  EXPECT_EQ(Ask({"PING"}), ErrorReply(kCodeNoAuth, ErrNoAuth()));
  EXPECT_EQ(Ask({"AUTH", "pw"}), ErrorReply(kCodeWrongPass, ErrWrongPass()));  // default is off
  EXPECT_EQ(Ask({"AUTH", "app", "pw"}), "+OK\r\n");
  EXPECT_EQ(Ask({"ACL", "WHOAMI"}), "$3\r\napp\r\n");
  EXPECT_EQ(Ask({"CLAIM", "phone:1", "u"}), "+SUBMITTED\r\n");
  EXPECT_EQ(Ask({"CLAIM", "email:1", "u"}),
            ErrorReply(kCodeNoPerm, "User app has no permissions to access the 'email:1' key"));
  EXPECT_EQ(Ask({"BALANCE", "phone:1"}),
            ErrorReply(kCodeNoPerm, "User app has no permissions to run the 'balance' command"));
  EXPECT_EQ(Ask({"ACL", "LIST"}),
            ErrorReply(kCodeNoPerm, "User app has no permissions to run the 'acl' command"));
  EXPECT_EQ(server_.submitted.size(), 1u);
  // Refused at queue time: the group is doomed and nothing of it runs.
  EXPECT_EQ(Ask({"MULTI"}), "+OK\r\n");
  EXPECT_EQ(Ask({"CLAIM", "phone:2", "u"}), "+QUEUED\r\n");
  EXPECT_EQ(Ask({"TRANSFER", "t", "a", "b", "1"}),
            ErrorReply(kCodeNoPerm, "User app has no permissions to run the 'transfer' command"));
  EXPECT_EQ(Ask({"CLAIM", "other", "u"}),
            ErrorReply(kCodeNoPerm, "User app has no permissions to access the 'other' key"));
  EXPECT_EQ(Ask({"EXEC"}), ErrorReply(kCodeExecAbort, ErrExecAbort()));
  EXPECT_EQ(server_.submitted.size(), 1u);
  // A failed AUTH keeps the user.
  EXPECT_EQ(Ask({"AUTH", "app", "bad"}), ErrorReply(kCodeWrongPass, ErrWrongPass()));
  EXPECT_EQ(Ask({"ACL", "WHOAMI"}), "$3\r\napp\r\n");
}

TEST_F(SessionTest, HelloAuthAsAnAclUser) {
  connection_->user = nullptr;
  server_.users = Acl::Parse("user app on >pw +@claims ~*\n").value();
  EXPECT_EQ(Ask({"HELLO", "3", "AUTH", "app", "no"}), ErrorReply(kCodeWrongPass, ErrWrongPass()));
  EXPECT_EQ(connection_->user, nullptr);
  EXPECT_EQ(Ask({"HELLO", "2", "AUTH", "app", "pw"}).substr(0, 5), "*14\r\n");
  ASSERT_NE(connection_->user, nullptr);
  EXPECT_EQ(connection_->user->name, "app");
}

TEST_F(SessionTest, AuthWithoutAPasswordSet) {
  EXPECT_EQ(Ask({"AUTH", "pw"}), ErrorReply(kCodeErr, ErrAuthNotConfigured()));
  EXPECT_EQ(Ask({"AUTH", "bob", "pw"}), ErrorReply(kCodeWrongPass, ErrWrongPass()));
}

TEST_F(SessionTest, HelloChoosesTheProtocol) {
  const std::string hello3 = Ask({"HELLO", "3", "SETNAME", "n1"});
  EXPECT_EQ(hello3.substr(0, 4), "%7\r\n");
  EXPECT_NE(hello3.find("$7\r\nexactly\r\n"), std::string::npos);
  EXPECT_EQ(connection_->protocol, 3);
  EXPECT_EQ(connection_->name, "n1");
  EXPECT_EQ(Ask({"HELLO", "2"}).substr(0, 5), "*14\r\n");
  EXPECT_EQ(connection_->protocol, 2);
}

TEST_F(SessionTest, HelloRefusalsChangeNothing) {
  EXPECT_EQ(Ask({"HELLO", "4"}), ErrorReply(kCodeNoProto, ErrProtocolVersion()));
  EXPECT_EQ(Ask({"HELLO", "3", "BOGUS"}), ErrorReply(kCodeErr, ErrHelloSyntax()));
  EXPECT_EQ(Ask({"HELLO", "3", "SETNAME"}), ErrorReply(kCodeErr, ErrHelloSyntax()));
  EXPECT_EQ(Ask({"HELLO", "3", "AUTH", "bob", "x"}), ErrorReply(kCodeWrongPass, ErrWrongPass()));
  EXPECT_EQ(connection_->protocol, 2);
  EXPECT_TRUE(connection_->name.empty());
}

TEST_F(SessionTest, HelloAuthenticates) {
  server_.users = Acl::FromPassword("pw");
  connection_->user = nullptr;
  EXPECT_EQ(Ask({"HELLO", "3"}), ErrorReply(kCodeNoAuth, ErrHelloNoAuth()));
  EXPECT_EQ(Ask({"HELLO", "3", "AUTH", "default", "bad"}),
            ErrorReply(kCodeWrongPass, ErrWrongPass()));
  EXPECT_EQ(connection_->user, nullptr);
  EXPECT_EQ(Ask({"HELLO", "3", "AUTH", "default", "pw"}).substr(0, 4), "%7\r\n");
  EXPECT_NE(connection_->user, nullptr);
}

TEST_F(SessionTest, SelectConfigWatch) {
  EXPECT_EQ(Ask({"SELECT", "0"}), "+OK\r\n");
  EXPECT_EQ(Ask({"SELECT", "1"}), ErrorReply(kCodeErr, ErrSelectDb()));
  EXPECT_EQ(Ask({"CONFIG", "GET", "save"}), "*0\r\n");
  EXPECT_EQ(Ask({"CONFIG", "SET", "a", "b"}), ErrorReply(kCodeErr, ErrConfigSubcommand()));
  EXPECT_EQ(Ask({"WATCH", "k"}), ErrorReply(kCodeErr, ErrWatch()));
  EXPECT_EQ(Ask({"UNWATCH"}), ErrorReply(kCodeErr, ErrWatch()));
}

TEST_F(SessionTest, CommandCountsTheRows) {
  EXPECT_EQ(Ask({"COMMAND", "COUNT"}), ":" + std::to_string(AllCommands().size()) + "\r\n");
}

TEST_F(SessionTest, MultiQueuesAndExecSubmitsOneGroup) {
  EXPECT_EQ(Ask({"MULTI"}), "+OK\r\n");
  EXPECT_EQ(Ask({"MULTI"}), ErrorReply(kCodeErr, ErrNestedMulti()));
  EXPECT_EQ(Ask({"CLAIM", "a", "o"}), "+QUEUED\r\n");
  EXPECT_EQ(Ask({"CLAIM", "b", "o"}), "+QUEUED\r\n");
  EXPECT_TRUE(server_.submitted.empty());
  EXPECT_EQ(Ask({"EXEC"}), "+SUBMITTED\r\n");
  ASSERT_EQ(server_.submitted.size(), 1u);
  EXPECT_EQ(server_.submitted[0].kind, core::CommandKind::kGroup);
  EXPECT_EQ(server_.submitted[0].group.size(), 2u);
  EXPECT_FALSE(connection_->in_multi);
}

TEST_F(SessionTest, RefusalInsideMultiAbortsTheExec) {
  EXPECT_EQ(Ask({"MULTI"}), "+OK\r\n");
  EXPECT_EQ(Ask({"PING"}), ErrorReply(kCodeErr, ErrNotInMulti("PING")));
  EXPECT_EQ(Ask({"EXEC"}), ErrorReply(kCodeExecAbort, ErrExecAbort()));
  for (const std::vector<std::string>& bad :
       {std::vector<std::string>{"NOPE"}, {"CLAIM"}, {"CLAIM", "k", "o", "BAD"}}) {
    EXPECT_EQ(Ask({"MULTI"}), "+OK\r\n");
    Ask(bad);
    EXPECT_EQ(Ask({"EXEC"}), ErrorReply(kCodeExecAbort, ErrExecAbort())) << bad[0];
  }
  EXPECT_TRUE(server_.submitted.empty());
}

TEST_F(SessionTest, ExecAndDiscardWithoutMulti) {
  EXPECT_EQ(Ask({"EXEC"}), ErrorReply(kCodeErr, ErrExecWithoutMulti()));
  EXPECT_EQ(Ask({"DISCARD"}), ErrorReply(kCodeErr, ErrDiscardWithoutMulti()));
  EXPECT_EQ(Ask({"MULTI"}), "+OK\r\n");
  EXPECT_EQ(Ask({"CLAIM", "a", "o"}), "+QUEUED\r\n");
  EXPECT_EQ(Ask({"DISCARD"}), "+OK\r\n");
  EXPECT_FALSE(connection_->in_multi);
  EXPECT_TRUE(connection_->multi_queue.empty());
}

TEST_F(SessionTest, SnapshotReportsEachOutcome) {
  server_.snapshot = {SnapshotStart::Status::kStarted, Lsn{7}};
  EXPECT_EQ(Ask({"SNAPSHOT"}), "+snapshot started at lsn 7\r\n");
  server_.snapshot = {SnapshotStart::Status::kRunning, Lsn{7}};
  EXPECT_EQ(Ask({"SNAPSHOT"}), ErrorReply(kCodeErr, ErrSnapshotRunning()));
  server_.snapshot = {SnapshotStart::Status::kForkFailed, Lsn{}};
  EXPECT_EQ(Ask({"SNAPSHOT"}), ErrorReply(kCodeErr, ErrSnapshotFork()));
}

TEST_F(SessionTest, ShutdownAnswersThenAsksTheServer) {
  EXPECT_EQ(Ask({"SHUTDOWN"}), "+OK\r\n");
  EXPECT_EQ(server_.shutdowns, 1);
}

TEST_F(SessionTest, QuitClosesAfterItsReply) {
  EXPECT_EQ(Ask({"QUIT"}), "+OK\r\n");
  EXPECT_TRUE(ClosedByServer(client_, *connection_));
}

}  // namespace
}  // namespace exactly::net::testing
