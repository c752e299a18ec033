// The API tokens file, as a table: what is accepted, and for each mistake the position and a
// message that never quotes a token (the file holds nothing but secrets and their names).
#include <gtest/gtest.h>

#include "cli/api_tokens.hpp"

namespace solocron::cli {
namespace {

constexpr const char* kTokenA = "abcdefghijklmnop-1";
constexpr const char* kTokenB = "ZYXWVUTSRQPONMLK+/2";

TEST(ApiTokens, ReadsRolesNamesAndTokens) {
  auto t = ApiTokens::parse(std::string("# ROLE NAME TOKEN\n\noperate alice ") + kTokenA +
                                "\r\n  read\tbob   " + kTokenB + "  \n",
                            "tokens");
  ASSERT_TRUE(t) << t.error();
  EXPECT_EQ(t->size(), 2u);
  auto a = t->find(kTokenA);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->name, "alice");
  EXPECT_EQ(a->role, ApiRole::operate);
  auto b = t->find(kTokenB);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->role, ApiRole::read);
  EXPECT_FALSE(t->find(std::string(kTokenA) + "x"));
  EXPECT_FALSE(t->find(std::string(kTokenA).substr(0, 17)));
  EXPECT_FALSE(t->find(""));
}

struct Bad {
  std::string text;
  std::string message;  // expected in the error
};

TEST(ApiTokens, RejectsEachMistakeWithItsPositionAndNoToken) {
  const std::string secret = "s3cr3t-value-that-must-not-leak";
  const std::vector<Bad> table = {
      {"operate alice\n", "f:1:1: expected three fields, ROLE NAME TOKEN (found 2)"},
      {"admin alice " + secret + "\n", "f:1:1: ROLE: expected read or operate"},
      {secret + " alice " + secret + "\n", "f:1:1: ROLE: expected read or operate"},
      {"read al!ce " + secret + "\n", "f:1:6: NAME: expected 1 to 64"},
      {"read alice short\n", "f:1:12: TOKEN: expected 16 to 256"},
      {"read alice " + secret + "\"\n", "f:1:12: TOKEN: expected 16 to 256"},
      {"read alice " + secret + "\nread alice " + std::string(20, 'x') + "\n", "f:2:6: NAME: also given on line 1"},
      {"read alice " + secret + "\nread bob " + secret + "\n", "f:2:10: TOKEN: also the token of alice"},
      {"read alice " + secret + " extra\n", "f:1:1: expected three fields"},
      {std::string("read alice abc\0defghijklmnopq\n", 30), "f:1:12: TOKEN"},
  };
  for (const auto& row : table) {
    auto t = ApiTokens::parse(row.text, "f");
    ASSERT_FALSE(t) << row.text;
    EXPECT_NE(t.error().find(row.message), std::string::npos) << t.error();
    EXPECT_EQ(t.error().find(secret), std::string::npos) << t.error();
  }
}

}  // namespace
}  // namespace solocron::cli
