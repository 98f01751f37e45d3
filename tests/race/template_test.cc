// Tests for race/template: expansion, checking, seeded values and users.
#include "race/template.h"

#include <gtest/gtest.h>

#include <fstream>

#include "support/temp_dir.h"

namespace exactly::race {
namespace {

TEST(TemplateTest, ExpandsEveryVariable) {
  TemplateVars v;
  v.i = 7;
  v.round = 3;
  v.user = "alice";
  v.rand = 42;
  EXPECT_EQ(Expand("/sign/{{user}}?n={{i}}&r={{ round }}&x={{rand}}", v),
            "/sign/alice?n=7&r=3&x=42");
  EXPECT_EQ(Expand("no templates", v), "no templates");
  EXPECT_EQ(Expand("{{i}}{{i}}", v), "77");
}

TEST(TemplateTest, CheckRejectsUnknownAndUnclosed) {
  EXPECT_TRUE(CheckTemplate("/a/{{i}}/{{user}}/{{rand}}/{{round}}").ok());
  EXPECT_FALSE(CheckTemplate("/a/{{usr}}").ok());
  EXPECT_FALSE(CheckTemplate("/a/{{i").ok());
}

TEST(TemplateTest, SeededRandIsDeterministicAndVaries) {
  EXPECT_EQ(SeededRand(1, 1, 1), SeededRand(1, 1, 1));
  EXPECT_NE(SeededRand(1, 1, 1), SeededRand(1, 1, 2));
  EXPECT_NE(SeededRand(1, 1, 1), SeededRand(1, 2, 1));
  EXPECT_NE(SeededRand(1, 1, 1), SeededRand(2, 1, 1));
}

TEST(TemplateTest, UsersFromCountAreDealtRoundRobin) {
  base::Result<std::vector<std::string>> users = LoadUsers("3");
  ASSERT_TRUE(users.ok());
  ASSERT_EQ(users->size(), 3u);
  EXPECT_EQ(UserFor(*users, 1), "user1");
  EXPECT_EQ(UserFor(*users, 3), "user3");
  EXPECT_EQ(UserFor(*users, 4), "user1");
  EXPECT_EQ(UserFor({}, 4), "");
  EXPECT_FALSE(LoadUsers("0").ok());
}

TEST(TemplateTest, UsersFromFileSkipBlankLines) {
  exactly::testing::TempDir dir;
  {
    std::ofstream out(dir.File("users.txt"));
    out << "ann\n\n  bob \ncid\n";
  }
  base::Result<std::vector<std::string>> users = LoadUsers(dir.File("users.txt"));
  ASSERT_TRUE(users.ok());
  EXPECT_EQ(*users, (std::vector<std::string>{"ann", "bob", "cid"}));
  EXPECT_FALSE(LoadUsers(dir.File("missing.txt")).ok());
}

}  // namespace
}  // namespace exactly::race
