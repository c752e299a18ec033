#include "process/output_text.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <random>

namespace solocron::detail {
namespace {

const std::string kFffd = "\xEF\xBF\xBD";
const std::string kNul = "\xE2\x90\x80";

// nlohmann's encoder is the independent judge of validity: it throws type_error.316 on
// invalid UTF-8 (the exception `history --json` died of).
bool valid_utf8(const std::string& s) {
  try {
    (void)nlohmann::json(s).dump();
    return true;
  } catch (const nlohmann::json::type_error&) {
    return false;
  }
}

TEST(StorableText, ReplacesEachMaximalInvalidSubsequence) {
  struct Case {
    std::string in;
    std::string want;
  };
  const Case cases[] = {
      {"", ""},
      {"plain text\twith tab\n", "plain text\twith tab\n"},
      {"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80", "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"},
      {"\xFF", kFffd},
      {"a\xFF" "b", "a" + kFffd + "b"},
      {"\xFF\xFE", kFffd + kFffd},
      {"\xC3", kFffd},                        // cut at the end
      {"\xC3(", kFffd + "("},                 // broken off by ASCII
      {"\xE2\x82", kFffd},                    // a 3-byte prefix is one subpart
      {"\xE2\x82(", kFffd + "("},
      {"\xF0\x9F\x98", kFffd},
      {"\xF0\x9F\x98" "A", kFffd + "A"},
      {"\x80\xBF", kFffd + kFffd},            // lone continuation bytes: one each
      {"\xC0\xAF", kFffd + kFffd},            // overlong: C0 can never start a sequence
      {"\xE0\x80\xAF", kFffd + kFffd + kFffd},  // overlong 3-byte
      {"\xED\xA0\x80", kFffd + kFffd + kFffd},  // a UTF-16 surrogate
      {"\xF4\x90\x80\x80", kFffd + kFffd + kFffd + kFffd},  // above U+10FFFF
      {"\xF5\x80", kFffd + kFffd},
      // Unicode 15, table 3-8 (U+FFFD for maximal subparts).
      {"\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64",
       "a" + kFffd + kFffd + kFffd + "b" + kFffd + "c" + kFffd + kFffd + "d"},
      {std::string("a\0b", 3), "a" + kNul + "b"},
      {std::string("\0\0", 2), kNul + kNul},
      {"\x1b[2J\r\a", "\x1b[2J\r\a"},         // controls are valid text: the log escapes them
  };
  for (const auto& c : cases) {
    EXPECT_EQ(storable_text(c.in), c.want) << nlohmann::json(c.want).dump();
  }
}

TEST(StorableText, AnyBytesBecomeValidUtf8WithoutNul) {
  std::mt19937 rng(20261201);
  for (int i = 0; i < 2000; ++i) {
    std::string bytes(rng() % 64, '\0');
    for (char& b : bytes) {
      // Bias toward the bytes that make UTF-8 interesting.
      static constexpr unsigned char kPool[] = {0x00, 0x41, 0x7F, 0x80, 0xBF, 0xC2, 0xC3, 0xDF,
                                                0xE0, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF, 0x0A};
      b = static_cast<char>(rng() % 3 == 0 ? rng() % 256 : kPool[rng() % std::size(kPool)]);
    }
    const std::string text = storable_text(bytes);
    ASSERT_TRUE(valid_utf8(text)) << nlohmann::json(bytes).dump(-1, ' ', true, nlohmann::json::error_handler_t::replace);
    ASSERT_EQ(text.find('\0'), std::string::npos);
    ASSERT_EQ(storable_text(text), text) << "not idempotent";
    ASSERT_LE(text.size(), 3 * bytes.size());
  }
}

TEST(EscapeForLog, SpellsOutEveryControlCharacter) {
  struct Case {
    std::string in;
    std::string want;
  };
  const Case cases[] = {
      {"ok\ttabs stay", "ok\ttabs stay"},
      {"progress 10%\rprogress 20%", "progress 10%\\rprogress 20%"},
      {"\x1b]0;pwned\a", "\\e]0;pwned\\a"},
      {"\x1b[2J\x1b[H", "\\e[2J\\e[H"},
      {"one\ntwo", "one\\ntwo"},
      {std::string("nul\0here", 8), "nul\\0here"},
      {"\b\f\v", "\\b\\f\\v"},
      {"\x01\x1f\x7f", "\\x01\\x1f\\x7f"},
      {"csi \xC2\x9B" "31m", "csi \\u009b31m"},  // C1 CSI
      {"\xC2\x85", "\\u0085"},                   // NEL
      {"bad \xFF byte", "bad " + kFffd + " byte"},
      {"caf\xC3\xA9 C:\\path", "caf\xC3\xA9 C:\\path"},
  };
  for (const auto& c : cases) EXPECT_EQ(escape_for_log(c.in), c.want);
}

TEST(EscapeForLog, NoControlByteSurvives) {
  std::string all;
  for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
  all += "\xC2\x80\xC2\x9F";
  const std::string text = escape_for_log(all);
  EXPECT_TRUE(valid_utf8(text));
  for (char c : text) {
    const auto b = static_cast<unsigned char>(c);
    EXPECT_TRUE(b == '\t' || (b >= 0x20 && b != 0x7F)) << "raw byte " << int(b);
  }
  EXPECT_EQ(text.find("\xC2\x80"), std::string::npos);
  EXPECT_EQ(text.find("\xC2\x9F"), std::string::npos);
}

}  // namespace
}  // namespace solocron::detail
