// The CLI's --from reader: RFC 3339 with offset or Z, or a wall time read in a zone.
#include "cron/time_text.hpp"

#include "cron_test_support.hpp"

namespace solocron::testing {
namespace {

std::string read(const std::string& text, const std::string& zone = "UTC") {
  auto t = detail::parse_time_text(text, zone);
  if (!t) return "error";
  return format_rfc3339(t->seconds, "UTC", true) + (t->fractional ? " +frac" : "");
}

TEST(TimeTextTest, Rfc3339WithOffsetOrZ) {
  EXPECT_EQ(read("2026-03-08T01:59:00-05:00"), "2026-03-08T06:59:00Z");
  EXPECT_EQ(read("2026-03-08T06:59:00Z"), "2026-03-08T06:59:00Z");
  EXPECT_EQ(read("2026-03-08t06:59:00z"), "2026-03-08T06:59:00Z");
  EXPECT_EQ(read("2026-03-08 12:29:00+05:30"), "2026-03-08T06:59:00Z");
  EXPECT_EQ(read("2026-03-08T06:59:00.250Z"), "2026-03-08T06:59:00Z +frac");
  EXPECT_EQ(read("2026-03-08T06:59:00.000Z"), "2026-03-08T06:59:00Z");
  // the offset wins over the zone
  EXPECT_EQ(read("2026-03-08T06:59:00Z", "America/New_York"), "2026-03-08T06:59:00Z");
}

TEST(TimeTextTest, WallTimeInZone) {
  EXPECT_EQ(read("2026-03-08T01:59:00", "America/New_York"), "2026-03-08T06:59:00Z");
  EXPECT_EQ(read("2026-03-08T01:59", "America/New_York"), "2026-03-08T06:59:00Z");
  EXPECT_EQ(read("2026-03-08", "America/New_York"), "2026-03-08T05:00:00Z");
  // ambiguous: the earlier instant (EDT)
  EXPECT_EQ(read("2026-11-01T01:30:00", "America/New_York"), "2026-11-01T05:30:00Z");
  // nonexistent: an error naming the time and the zone
  auto gap = detail::parse_time_text("2026-03-08T02:30:00", "America/New_York");
  ASSERT_FALSE(gap);
  EXPECT_EQ(gap.error(), "\"2026-03-08T02:30:00\" does not exist in America/New_York (the clocks skip it); give an offset or another time");
}

TEST(TimeTextTest, Rejects) {
  for (const char* bad : {"", "yesterday", "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z", "2026-03-08T24:00:00Z",
                          "2026-03-08T01:60:00Z", "2026-03-08T01:00:00+5", "2026-03-08T01:00:00+05:00x",
                          "2026-3-8T01:00:00Z", "2026-03-08T01:00:00.Z"})
    EXPECT_EQ(read(bad), "error") << bad;
}

}  // namespace
}  // namespace solocron::testing
