// docs/commands.md must document every row of the command table, with its syntax.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "net/command_table.h"

namespace exactly::net {
namespace {

// EXACTLY_SOURCE_DIR when the test runner sets it, else the tree this file was
// compiled from (CMake passes absolute source paths).
std::filesystem::path SourceDir() {
  if (const char* source_dir = std::getenv("EXACTLY_SOURCE_DIR")) return source_dir;
  return std::filesystem::path(__FILE__).parent_path().parent_path().parent_path();
}

std::string ReadDoc() {
  std::ifstream file(SourceDir() / "docs" / "commands.md");
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

TEST(CommandsDocTest, EveryCommandIsDocumented) {
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
