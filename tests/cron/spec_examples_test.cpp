// Every example of the schedule spec (docs/schedules.md), in the order the spec gives them.
#include "cron_test_support.hpp"

namespace solocron::testing {
namespace {

// The first `n` fire times after `from`, as shown in the schedule's zone.
std::vector<std::string> chain(const std::string& expr, const std::string& from, int n,
                               const std::string& zone = "UTC") {
  const Schedule s = must_parse(expr, zone);
  std::vector<std::string> out;
  auto t = s.next(at(from));
  for (int i = 0; i < n && t; ++i, t = s.next(*t)) out.push_back(format_rfc3339(*t, s.time_zone()));
  return out;
}

using V = std::vector<std::string>;

TEST(SpecExamples, StepsCountInsideTheField) {
  EXPECT_EQ(chain("*/7 * * * *", "2026-01-01T00:50:00Z", 3),
            (V{"2026-01-01T00:56:00+00:00", "2026-01-01T01:00:00+00:00", "2026-01-01T01:07:00+00:00"}));
}

TEST(SpecExamples, DayOfWeekStepFromStart) {
  // 1/2 is Mon, Wed, Fri, Sun, just as 1-7/2 is (2026-01-05 is a Monday).
  const V want{"2026-01-05T00:00:00+00:00", "2026-01-07T00:00:00+00:00", "2026-01-09T00:00:00+00:00",
               "2026-01-11T00:00:00+00:00", "2026-01-12T00:00:00+00:00"};
  EXPECT_EQ(chain("0 0 * * 1/2", "2026-01-04T12:00:00Z", 5), want);
  EXPECT_EQ(chain("0 0 * * 1-7/2", "2026-01-04T12:00:00Z", 5), want);
}

TEST(SpecExamples, RangeEndingInSundayEndsAtSeven) {
  const V want{"2026-01-02T00:00:00+00:00", "2026-01-03T00:00:00+00:00", "2026-01-04T00:00:00+00:00",
               "2026-01-09T00:00:00+00:00"};
  EXPECT_EQ(chain("0 0 * * FRI-SUN", "2026-01-01T00:00:00Z", 4), want);
  EXPECT_EQ(chain("0 0 * * 5-0", "2026-01-01T00:00:00Z", 4), want);
}

TEST(SpecExamples, StepLargerThanRangeMeansStartOnly) {
  EXPECT_EQ(chain("*/61 * * * *", "2026-01-01T00:00:00Z", 2),
            (V{"2026-01-01T01:00:00+00:00", "2026-01-01T02:00:00+00:00"}));
  EXPECT_FALSE(must_parse("*/61 * * * *").warnings().empty());
}

TEST(SpecExamples, ErrorsOfTheGrammar) {
  for (const char* e : {"*/0 * * * *", "5-2 * * * *", "70 * * * *", "1,,2 * * * *", "JAN * * * *", "0 0 * * MONDAY"})
    EXPECT_FALSE(Schedule::parse(e)) << e;
  EXPECT_NE(Schedule::parse("0 0 * * MONDAY").error().message().find("MON"), std::string::npos);
}

TEST(SpecExamples, QuestionMarkMeansStar) {
  EXPECT_EQ(chain("0 0 ? * 1", "2026-01-01T00:00:00Z", 3), chain("0 0 * * 1", "2026-01-01T00:00:00Z", 3));
  EXPECT_EQ(chain("0 0 1 * ?", "2026-01-01T00:00:00Z", 3), chain("0 0 1 * *", "2026-01-01T00:00:00Z", 3));
}

TEST(SpecExamples, DayOfMonthExtrasInShortMonths) {
  // 31W has no day in April; L-30 has none in February.
  EXPECT_EQ(chain("0 0 31W 4,5 *", "2026-01-01T00:00:00Z", 1), (V{"2026-05-29T00:00:00+00:00"}));
  EXPECT_EQ(chain("0 0 L-30 2,3 *", "2026-01-01T00:00:00Z", 1), (V{"2026-03-01T00:00:00+00:00"}));
}

TEST(SpecExamples, DayOfWeekExtras) {
  EXPECT_EQ(chain("0 0 * * 5L", "2026-01-01T00:00:00Z", 2),
            (V{"2026-01-30T00:00:00+00:00", "2026-02-27T00:00:00+00:00"}));
  // 5th Monday: January and February 2026 have none, March does.
  EXPECT_EQ(chain("0 0 * * 1#5", "2026-01-01T00:00:00Z", 1), (V{"2026-03-30T00:00:00+00:00"}));
}

TEST(SpecExamples, TheCronDayRule) {
  EXPECT_EQ(chain("0 12 1,15 * 5", "2026-01-01T00:00:00Z", 4),
            (V{"2026-01-01T12:00:00+00:00", "2026-01-02T12:00:00+00:00", "2026-01-09T12:00:00+00:00",
               "2026-01-15T12:00:00+00:00"}));
  EXPECT_EQ(chain("0 12 */2 * 5", "2026-01-01T00:00:00Z", 3),
            (V{"2026-01-09T12:00:00+00:00", "2026-01-23T12:00:00+00:00", "2026-02-13T12:00:00+00:00"}));
}

TEST(SpecExamples, Nicknames) {
  const std::pair<const char*, const char*> pairs[] = {
      {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
      {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
      {"@hourly", "0 * * * *"}};
  for (const auto& [nick, expr] : pairs)
    EXPECT_EQ(chain(nick, "2026-03-05T10:11:12Z", 3, "America/New_York"),
              chain(expr, "2026-03-05T10:11:12Z", 3, "America/New_York"))
        << nick;
  EXPECT_TRUE(must_parse("@reboot").is_reboot());
  EXPECT_EQ(must_parse("@reboot").next(at("2026-01-01T00:00:00Z")), std::nullopt);
}

TEST(SpecExamples, EveryIsAnchoredAtTheEpoch) {
  EXPECT_EQ(chain("@every 90s", "2026-01-01T00:00:10Z", 2),
            (V{"2026-01-01T00:01:30+00:00", "2026-01-01T00:03:00+00:00"}));
  EXPECT_EQ(chain("@every 1h30m", "2026-01-01T00:00:10Z", 2),
            (V{"2026-01-01T01:30:00+00:00", "2026-01-01T03:00:00+00:00"}));
}

TEST(SpecExamples, ZonePrefixWinsAndTimesShowInTheSchedulesZone) {
  EXPECT_EQ(chain("CRON_TZ=America/New_York 0 9 * * *", "2026-01-01T00:00:00Z", 1, "Europe/Berlin"),
            (V{"2026-01-01T09:00:00-05:00"}));
  EXPECT_EQ(chain("TZ=America/New_York 0 9 * * *", "2026-01-01T00:00:00Z", 1, "Europe/Berlin"),
            (V{"2026-01-01T09:00:00-05:00"}));
  EXPECT_FALSE(Schedule::parse("CRON_TZ=Not/AZone 0 9 * * *"));
}

TEST(SpecExamples, IntervalLikeAndFixedTime) {
  for (const char* e : {"@hourly", "*/15 * * * *"}) EXPECT_TRUE(must_parse(e).is_interval_like()) << e;
  for (const char* e : {"30 2 * * *", "@daily", "0-59/20 2 * * *", "30 1-3 * * *", "*/10 30 2 * * *"})
    EXPECT_FALSE(must_parse(e).is_interval_like()) << e;
}

TEST(SpecExamples, GapFiresOnceAtTheTransition) {
  const char* ny = "America/New_York";
  EXPECT_EQ(chain("30 2 * * *", "2026-03-07T12:00:00-05:00", 2, ny),
            (V{"2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00"}));
  EXPECT_EQ(chain("*/10 30 2 * * *", "2026-03-07T12:00:00-05:00", 2, ny),
            (V{"2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00"}));
  EXPECT_EQ(chain("*/30 * * * *", "2026-03-08T01:00:00-05:00", 3, ny),
            (V{"2026-03-08T01:30:00-05:00", "2026-03-08T03:00:00-04:00", "2026-03-08T03:30:00-04:00"}));
  EXPECT_EQ(chain("0 12 * * *", "2011-12-29T00:00:00-10:00", 3, "Pacific/Apia"),
            (V{"2011-12-29T12:00:00-10:00", "2011-12-31T00:00:00+14:00", "2011-12-31T12:00:00+14:00"}));
}

TEST(SpecExamples, FoldFiresOnceForFixedTimeTwiceForIntervalLike) {
  const char* ny = "America/New_York";
  EXPECT_EQ(chain("30 1 * * *", "2026-10-31T12:00:00-04:00", 2, ny),
            (V{"2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"}));
  EXPECT_EQ(chain("30 * * * *", "2026-11-01T00:00:00-04:00", 3, ny),
            (V{"2026-11-01T00:30:00-04:00", "2026-11-01T01:30:00-04:00", "2026-11-01T01:30:00-05:00"}));
}

TEST(SpecExamples, MidnightDstStartFiresAtOne) {
  EXPECT_EQ(chain("0 0 * * *", "2018-11-03T12:00:00-03:00", 2, "America/Sao_Paulo"),
            (V{"2018-11-04T01:00:00-02:00", "2018-11-05T00:00:00-02:00"}));
  EXPECT_EQ(chain("@daily", "2026-03-28T12:00:00+02:00", 1, "Asia/Beirut"), (V{"2026-03-29T01:00:00+03:00"}));
  EXPECT_EQ(chain("@daily", "2026-09-05T12:00:00-04:00", 1, "America/Santiago"),
            (V{"2026-09-06T01:00:00-03:00"}));
}

TEST(SpecExamples, HalfHourShifts) {
  EXPECT_EQ(chain("15 2 * * *", "2026-10-03T12:00:00+10:30", 2, "Australia/Lord_Howe"),
            (V{"2026-10-04T02:30:00+11:00", "2026-10-05T02:15:00+11:00"}));
  EXPECT_EQ(chain("45 1 * * *", "2026-04-04T12:00:00+11:00", 2, "Australia/Lord_Howe"),
            (V{"2026-04-05T01:45:00+11:00", "2026-04-06T01:45:00+10:30"}));
}

TEST(SpecExamples, NeverFiresIsRejectedAndNextIsEmpty) {
  for (const char* e : {"0 0 30 2 *", "0 0 31 4 *"}) {
    auto s = Schedule::parse(e);
    ASSERT_FALSE(s) << e;
    EXPECT_TRUE(s.error().never_fires);
    EXPECT_EQ(s.error().message(), "\"" + std::string(e) + "\" never fires");
  }
}

TEST(SpecExamples, ZoneRulesAfter2037) {
  EXPECT_EQ(chain("30 2 * * *", "2045-03-11T12:00:00-05:00", 1, "America/New_York"),
            (V{"2045-03-12T03:00:00-04:00"}));
  EXPECT_EQ(chain("30 2 * * *", "2100-03-13T12:00:00-05:00", 1, "America/New_York"),
            (V{"2100-03-14T03:00:00-04:00"}));
  EXPECT_EQ(chain("30 1 * * *", "2150-10-25T00:00:00+01:00", 2, "Europe/London"),
            (V{"2150-10-25T01:30:00+01:00", "2150-10-26T01:30:00+00:00"}));
}

TEST(SpecExamples, FarAwayLeapDay) {
  EXPECT_EQ(chain("30 2 29 2 *", "2026-01-01T00:00:00Z", 3),
            (V{"2028-02-29T02:30:00+00:00", "2032-02-29T02:30:00+00:00", "2036-02-29T02:30:00+00:00"}));
}

}  // namespace
}  // namespace solocron::testing
