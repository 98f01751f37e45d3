// net/errors.h is the only source of error text: every named error is used
// somewhere in src/, and no reply error in net/ or server/ spells its text inline.
#include "net/errors.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace exactly::net {
namespace {

// EXACTLY_SOURCE_DIR when the test runner sets it, else the tree this file was
// compiled from (CMake passes absolute source paths).
std::filesystem::path SourceDir() {
  if (const char* source_dir = std::getenv("EXACTLY_SOURCE_DIR")) return source_dir;
  return std::filesystem::path(__FILE__).parent_path().parent_path().parent_path();
}

std::string Read(const std::filesystem::path& path) {
  std::ifstream file(path);
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

bool IsErrorsFile(const std::filesystem::path& path) { return path.stem() == "errors"; }

// Every .h and .cc under src/<folder>, but net/errors.* itself.
std::vector<std::filesystem::path> Sources(const std::string& folder) {
  std::vector<std::filesystem::path> paths;
  for (const auto& entry :
       std::filesystem::recursive_directory_iterator(SourceDir() / "src" / folder)) {
    const auto extension = entry.path().extension();
    if ((extension == ".cc" || extension == ".h") && !IsErrorsFile(entry.path())) {
      paths.push_back(entry.path());
    }
  }
  return paths;
}

TEST(ErrorsTest, EveryNamedErrorIsUsed) {
  const std::string header = Read(SourceDir() / "src" / "net" / "errors.h");
  ASSERT_FALSE(header.empty()) << "src/net/errors.h not found";
  std::set<std::string> names;
  const std::regex declared(R"(std::string (Err\w+)\(|constexpr std::string_view (kCode\w+))");
  for (auto it = std::sregex_iterator(header.begin(), header.end(), declared);
       it != std::sregex_iterator(); ++it) {
    names.insert((*it)[1].matched ? (*it)[1].str() : (*it)[2].str());
  }
  ASSERT_GT(names.size(), 20u);
  std::string code;
  for (const char* folder : {"net", "http", "server"}) {
    for (const auto& path : Sources(folder)) code += Read(path);
  }
  for (const std::string& name : names) {
    EXPECT_TRUE(std::regex_search(code, std::regex("\\b" + name + "\\b")))
        << name
        << " is declared in net/errors.h but used nowhere in src/net, src/http or src/server";
  }
}

TEST(ErrorsTest, NoErrorTextOutsideTheTable) {
  // An error reply or refusal with a string literal for an argument (on its first line).
  const std::regex inline_text(R"((^|\W)(Error|Refuse\w*)\([^()]*")");
  for (const char* folder : {"net", "http", "server"}) {
    for (const auto& path : Sources(folder)) {
      std::istringstream lines(Read(path));
      std::string line;
      for (int number = 1; std::getline(lines, line); ++number) {
        if (line.find("//") != std::string::npos && line.find("//") < line.find('"')) continue;
        EXPECT_FALSE(std::regex_search(line, inline_text))
            << path.filename().string() << ":" << number
            << " spells an error text; name it in net/errors.h: " << line;
      }
    }
  }
}

TEST(ErrorsTest, TextsClientsMatchOn) {
  // Client libraries map these words to exceptions: they stay Redis's.
  EXPECT_EQ(ErrNoAuth(), "Authentication required.");
  EXPECT_EQ(ErrWrongPass(), "invalid username-password pair or user is disabled.");
  EXPECT_EQ(ErrExecAbort(), "Transaction discarded because of previous errors.");
  EXPECT_EQ(ErrNestedMulti(), "MULTI calls can not be nested");
  EXPECT_EQ(ErrExecWithoutMulti(), "EXEC without MULTI");
  EXPECT_EQ(ErrInvalidBulkLength(), "Protocol error: invalid bulk length");
  EXPECT_EQ(ErrExpectedBulk('*'), "Protocol error: expected '$', got '*'");
  EXPECT_EQ(ErrNotInMulti("PING"), "PING is not allowed inside MULTI");
  EXPECT_EQ(ErrGroupCommands(), "a MULTI group holds at most 1000 commands");
}

}  // namespace
}  // namespace exactly::net
