// COMMAND DOCS argument specs from the syntax lines: the shapes redis-cli reads, and
// every row's syntax printed back as redis-cli prints its hints.
#include "net/command_docs.h"

#include <gtest/gtest.h>

#include <string>

#include "net/command_table.h"

namespace exactly::net {
namespace {

TEST(CommandDocsTest, TokensOptionsAndAlternatives) {
  auto args =
      ArgumentsFromSyntax("CLAIM key owner [TTL ms|UNTIL unix-ms] [PERSIST] [NOTE text]", "CLAIM");
  ASSERT_EQ(args.size(), 5u);
  EXPECT_EQ(args[0].name, "key");
  EXPECT_EQ(args[0].type, "key");
  EXPECT_EQ(args[1].type, "string");
  EXPECT_EQ(args[2].type, "oneof");
  EXPECT_TRUE(args[2].optional);
  ASSERT_EQ(args[2].arguments.size(), 2u);
  EXPECT_EQ(args[2].arguments[0].token, "TTL");
  EXPECT_EQ(args[2].arguments[0].name, "ms");
  EXPECT_EQ(args[2].arguments[0].type, "integer");
  EXPECT_EQ(args[3].type, "pure-token");
  EXPECT_EQ(args[3].token, "PERSIST");
  EXPECT_EQ(args[4].token, "NOTE");
  EXPECT_EQ(args[4].name, "text");
}

TEST(CommandDocsTest, RepetitionAndBlocks) {
  auto watch = ArgumentsFromSyntax("WATCH key [key ...]", "WATCH");
  ASSERT_EQ(watch.size(), 1u);
  EXPECT_TRUE(watch[0].multiple);
  EXPECT_FALSE(watch[0].optional);
  auto iflock = ArgumentsFromSyntax("UNCLAIM key owner [IFLOCK name token]", "UNCLAIM");
  ASSERT_EQ(iflock.size(), 3u);
  EXPECT_EQ(iflock[2].type, "block");
  EXPECT_EQ(iflock[2].token, "IFLOCK");
  EXPECT_EQ(iflock[2].arguments.size(), 2u);
}

TEST(CommandDocsTest, SubcommandAlternativesDropTheCommandName) {
  auto args = ArgumentsFromSyntax("IDEM END key token response | IDEM ABORT key token", "IDEM");
  ASSERT_EQ(args.size(), 1u);
  EXPECT_EQ(args[0].type, "oneof");
  EXPECT_EQ(HintText(args), "END key token response|ABORT key token");
}

TEST(CommandDocsTest, EveryRowPrintsBackItsSyntax) {
  for (const CommandSpec& row : AllCommands()) {
    const std::string syntax(row.syntax);
    std::string expected = syntax.substr(std::min(syntax.size(), row.name.size() + 1));
    // Alternatives repeat the command's name in the table; hints leave it out.
    for (size_t at;
         (at = expected.find(" | " + std::string(row.name) + " ")) != std::string::npos;) {
      expected.replace(at, row.name.size() + 4, "|");
    }
    for (size_t at; (at = expected.find(" | ")) != std::string::npos;) expected.replace(at, 3, "|");
    for (size_t at; (at = expected.find("name...")) != std::string::npos;) {
      expected.replace(at, 7, "name [name ...]");
    }
    EXPECT_EQ(HintText(ArgumentsFromSyntax(row.syntax, row.name)), expected) << row.name;
  }
}

}  // namespace
}  // namespace exactly::net
