#include "process/output_capture.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace solocron::detail {
namespace {

std::vector<std::string> split(std::size_t max_line, const std::vector<std::string>& pieces,
                               bool flush = true) {
  LineSplitter splitter(max_line);
  std::vector<std::string> lines;
  auto sink = [&](std::string_view line) { lines.emplace_back(line); };
  for (const auto& piece : pieces) splitter.feed(piece, sink);
  if (flush) splitter.flush(sink);
  return lines;
}

using Lines = std::vector<std::string>;

TEST(LineSplitter, SplitsOnNewlines) {
  EXPECT_EQ(split(100, {"a\nbb\n\nccc\n"}), (Lines{"a", "bb", "", "ccc"}));
}

TEST(LineSplitter, JoinsLinesAcrossReads) {
  EXPECT_EQ(split(100, {"hel", "lo\nwor", "ld", "\n"}), (Lines{"hello", "world"}));
}

TEST(LineSplitter, HoldsUnfinishedLineUntilFlush) {
  EXPECT_EQ(split(100, {"a\nrest"}, false), (Lines{"a"}));
  EXPECT_EQ(split(100, {"a\nrest"}, true), (Lines{"a", "rest"}));
}

TEST(LineSplitter, CutsLongLinesIntoChunks) {
  EXPECT_EQ(split(4, {"abcdefghij\nxy\n"}), (Lines{"abcd", "efgh", "ij", "xy"}));
  // Across reads too, and the bound is kept while the line grows.
  EXPECT_EQ(split(4, {"ab", "cdef", "ghi", "\n"}), (Lines{"abcd", "efgh", "i"}));
}

TEST(LineSplitter, LineOfExactlyMaxLengthIsOneLine) {
  // No empty line appears after a chunk that happened to end right before the newline.
  EXPECT_EQ(split(4, {"abcd\nefgh", "\n"}), (Lines{"abcd", "efgh"}));
  EXPECT_EQ(split(4, {"abcdefgh\n"}), (Lines{"abcd", "efgh"}));
}

TEST(OutputTail, KeepsEverythingBelowCapacity) {
  OutputTail tail(10);
  tail.append("abc");
  tail.append("def");
  EXPECT_EQ(tail.take(), "abcdef");
}

TEST(OutputTail, KeepsOnlyTheLastBytes) {
  OutputTail tail(5);
  for (char c = 'a'; c <= 'z'; ++c) tail.append(std::string(1, c));
  EXPECT_EQ(tail.take(), "vwxyz");
  OutputTail big(5);
  big.append("0123456789");
  EXPECT_EQ(big.take(), "56789");
}

TEST(OutputTail, ZeroCapacityKeepsNothing) {
  OutputTail tail(0);
  tail.append("abc");
  EXPECT_EQ(tail.take(), "");
}

TEST(OutputTail, DoesNotStartInsideAUtf8Character) {
  OutputTail tail(4);
  tail.append("x\xC3\xA9\xE2\x82\xAC");  // x, e-acute (2 bytes), euro sign (3 bytes)
  // The last 4 bytes start with the second byte of the e-acute: it is dropped.
  EXPECT_EQ(tail.take(), "\xE2\x82\xAC");
}

}  // namespace
}  // namespace solocron::detail
