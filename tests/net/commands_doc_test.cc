// docs/commands.md must document every row of the command table, with its syntax.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "net/command_table.h"

namespace exactly::net {
namespace {

std::string ReadDoc() {
  const char* source_dir = std::getenv("EXACTLY_SOURCE_DIR");
  if (source_dir == nullptr) return {};
  std::ifstream file(std::string(source_dir) + "/docs/commands.md");
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

TEST(CommandsDocTest, EveryCommandIsDocumented) {
  if (std::getenv("EXACTLY_SOURCE_DIR") == nullptr) {
    GTEST_SKIP() << "EXACTLY_SOURCE_DIR is not set (run through ctest)";
  }
  const std::string doc = ReadDoc();
  ASSERT_FALSE(doc.empty()) << "docs/commands.md is missing or empty";
  for (const CommandSpec& spec : AllCommands()) {
    EXPECT_NE(doc.find("### " + std::string(spec.name) + "\n"), std::string::npos)
        << spec.name << " has no section in docs/commands.md";
    EXPECT_NE(doc.find(std::string(spec.syntax)), std::string::npos)
        << spec.name << "'s syntax in docs/commands.md differs from the table: " << spec.syntax;
  }
}

}  // namespace
}  // namespace exactly::net
