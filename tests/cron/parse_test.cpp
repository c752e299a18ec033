// Parsing: every error class with its exact message, warnings, DST class, descriptions.
#include "cron_test_support.hpp"

namespace solocron::testing {
namespace {

struct ErrorCase {
  const char* expr;
  const char* message;  // ParseError::message()
};

std::ostream& operator<<(std::ostream& os, const ErrorCase& c) { return os << c.expr; }

const ErrorCase kErrors[] = {
    {"0 61 * * *", R"("0 61 * * *": hour field (column 3): 61 is out of range 0-23)"},
    {"60 * * * *", R"("60 * * * *": minute field (column 1): 60 is out of range 0-59)"},
    {"0 0 32 * *", R"("0 0 32 * *": day-of-month field (column 5): 32 is out of range 1-31)"},
    {"0 0 0 * *", R"("0 0 0 * *": day-of-month field (column 5): 0 is out of range 1-31)"},
    {"0 0 * 13 *", R"("0 0 * 13 *": month field (column 7): 13 is out of range 1-12)"},
    {"0 0 * * 8", R"("0 0 * * 8": day-of-week field (column 9): 8 is out of range 0-7)"},
    {"60 0 0 * * *", R"("60 0 0 * * *": second field (column 1): 60 is out of range 0-59)"},
    {"0 0 0 1 1 * 1969", R"("0 0 0 1 1 * 1969": year field (column 13): 1969 is out of range 1970-2199)"},
    {"0 0 0 1 1 * 2200", R"("0 0 0 1 1 * 2200": year field (column 13): 2200 is out of range 1970-2199)"},
    {"0  \t 99 * * *", R"("0  	 99 * * *": hour field (column 6): 99 is out of range 0-23)"},
    {"*/0 * * * *", R"("*/0 * * * *": minute field (column 1): "*/0": step must be at least 1)"},
    {"*/ * * * *", R"("*/ * * * *": minute field (column 1): "*/": expected a number after "/")"},
    {"5-2 * * * *", R"("5-2 * * * *": minute field (column 1): "5-2" is a reversed range; expected low-high)"},
    {"0 0 * * 5-2", R"("0 0 * * 5-2": day-of-week field (column 9): "5-2" is a reversed range; expected low-high)"},
    {"1,,2 * * * *", R"("1,,2 * * * *": minute field (column 1): empty item in the list "1,,2")"},
    {"1, * * * *", R"("1, * * * *": minute field (column 1): empty item in the list "1,")"},
    {"1- * * * *", R"("1- * * * *": minute field (column 1): missing value; expected a number 0-59)"},
    {"JAN * * * *", R"("JAN * * * *": minute field (column 1): "JAN" is not a number; expected a number 0-59)"},
    {"0 0 * * MONDAY", R"("0 0 * * MONDAY": day-of-week field (column 9): "MONDAY" is not accepted; use the three-letter name MON)"},
    {"0 0 * JANUARY *", R"("0 0 * JANUARY *": month field (column 7): "JANUARY" is not accepted; use the three-letter name JAN)"},
    {"0 0 * * FOO", R"("0 0 * * FOO": day-of-week field (column 9): "FOO" is not a day name; expected SUN-SAT or 0-7)"},
    {"0 0 * FOO *", R"("0 0 * FOO *": month field (column 7): "FOO" is not a month name; expected JAN-DEC or 1-12)"},
    {"0 0 * MON *", R"("0 0 * MON *": month field (column 7): "MON" is not a month name; expected JAN-DEC or 1-12)"},
    {"5x * * * *", R"("5x * * * *": minute field (column 1): "5x" is not a number; expected a number 0-59)"},
    {"? * * * *", R"("? * * * *": minute field (column 1): "?" is only allowed in the day-of-month and day-of-week fields)"},
    {"0 0 L-31 * *", R"("0 0 L-31 * *": day-of-month field (column 5): "L-31": expected L-n with n from 0 to 30)"},
    {"0 0 32W * *", R"("0 0 32W * *": day-of-month field (column 5): "32W": expected nW with a day n from 1 to 31)"},
    {"0 0 5L * *", R"("0 0 5L * *": day-of-month field (column 5): "5L" is not a number; expected a number 1-31)"},
    {"0 0 * * 1#6", R"("0 0 * * 1#6": day-of-week field (column 9): "1#6": expected x#n with n from 1 to 5)"},
    {"0 0 * * 1#0", R"("0 0 * * 1#0": day-of-week field (column 9): "1#0": expected x#n with n from 1 to 5)"},
    {"0 0 * * 9#1", R"("0 0 * * 9#1": day-of-week field (column 9): 9 is out of range 0-7)"},
    {"0 0 * * L", R"("0 0 * * L": day-of-week field (column 9): "L" needs a day before it in the day-of-week field, e.g. 5L for the last Friday)"},
    {"0 0 * * 1W", R"("0 0 * * 1W": day-of-week field (column 9): "1W" is not a number; expected SUN-SAT or 0-7)"},
    {"0 0 L * * *", R"("0 0 L * * *": hour field (column 5): "L" is not a number; expected a number 0-23)"},
    {"0 0 * *", R"("0 0 * *": expected 5, 6 or 7 fields, got 4)"},
    {"0 0 0 0 0 0 0 0", R"("0 0 0 0 0 0 0 0": expected 5, 6 or 7 fields, got 8)"},
    {"", R"("": empty expression; expected 5, 6 or 7 fields or a nickname such as @daily)"},
    {"   ", R"("   ": empty expression; expected 5, 6 or 7 fields or a nickname such as @daily)"},
    {"@foo", R"("@foo": unknown nickname "@foo"; expected @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly, @reboot or @every DURATION)"},
    {"@daily 5", R"("@daily 5": @daily takes nothing after it)"},
    {"@every", R"("@every": @every takes one duration, e.g. @every 90s or @every 1h30m)"},
    {"@every 0s", R"("@every 0s": "0s" is not a duration of whole seconds; expected e.g. 90s or 1h30m)"},
    {"@every 5x", R"("@every 5x": "5x" is not a duration of whole seconds; expected e.g. 90s or 1h30m)"},
    {"@every 1500ms", R"("@every 1500ms": "1500ms" is not a duration of whole seconds; expected e.g. 90s or 1h30m)"},
    {"@every 90", R"("@every 90": "90" is not a duration of whole seconds; expected e.g. 90s or 1h30m)"},
    {"CRON_TZ=Mars/Olympus 0 0 * * *", R"("CRON_TZ=Mars/Olympus 0 0 * * *": time zone field (column 9): unknown time zone "Mars/Olympus"; expected an IANA name such as Europe/Berlin)"},
    {"TZ= 0 0 * * *", R"("TZ= 0 0 * * *": time zone field (column 4): expected a zone name after TZ=)"},
    {"CRON_TZ=UTC 0 61 * * *", R"("CRON_TZ=UTC 0 61 * * *": hour field (column 15): 61 is out of range 0-23)"},
    // parsed fine, but no fire time in 1970-2199
    {"0 0 30 2 *", R"("0 0 30 2 *" never fires)"},
    {"0 0 31 4 *", R"("0 0 31 4 *" never fires)"},
    {"0 0 31 4,6,9,11 *", R"("0 0 31 4,6,9,11 *" never fires)"},
    {"0 0 0 29 2 * 2100", R"("0 0 0 29 2 * 2100" never fires)"},
    {"0 0 0 30 2 ? 2026", R"("0 0 0 30 2 ? 2026" never fires)"},
    {"0 0 L-30 2 *", R"("0 0 L-30 2 *" never fires)"},
    {"0 0 31W 4 *", R"("0 0 31W 4 *" never fires)"},
};

class ErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(ErrorTest, RejectsWithMessage) {
  const ErrorCase& c = GetParam();
  auto s = Schedule::parse(c.expr);
  ASSERT_FALSE(s) << c.expr << " parsed";
  EXPECT_EQ(s.error().message(), c.message);
  EXPECT_EQ(s.error().never_fires, std::string(c.message).ends_with("never fires"));
}

INSTANTIATE_TEST_SUITE_P(Table, ErrorTest, ::testing::ValuesIn(kErrors));

TEST(ParseTest, UnknownZoneFromOptions) {
  auto s = Schedule::parse("0 0 * * *", ParseOptions{"Nowhere/City"});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().field, "time zone");
  EXPECT_EQ(s.error().message(),
            R"("0 0 * * *": time zone: unknown time zone "Nowhere/City"; expected an IANA name such as Europe/Berlin)");
}

TEST(ParseTest, ErrorNamesFieldAndColumn) {
  auto s = Schedule::parse("0 0 * * MONDAY");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().field, "day-of-week");
  EXPECT_EQ(s.error().column, 9);
  EXPECT_EQ(s.error().expression, "0 0 * * MONDAY");
}

// A fifth Monday in a year-restricted schedule exists; a 7-field year without the date does not.
TEST(ParseTest, NeverFiresOnlyWhenNothingMatches) {
  EXPECT_TRUE(Schedule::parse("0 0 0 * 2 1#5 2016"));  // Feb 2016 started on a Monday
  EXPECT_FALSE(Schedule::parse("0 0 0 * 2 1#5 2017"));
  EXPECT_TRUE(Schedule::parse("0 0 0 29 2 * 2096"));
  EXPECT_TRUE(Schedule::parse("0 0 30 2 5"));  // OR rule: every Friday in February
  // A fixed-time fire inside a DST gap still fires (at the transition); an interval-like does not.
  EXPECT_TRUE(Schedule::parse("0 30 2 8 3 * 2026", ParseOptions{"America/New_York"}));
  auto gap_only = Schedule::parse("0 * 2 8 3 * 2026", ParseOptions{"America/New_York"});
  ASSERT_FALSE(gap_only);
  EXPECT_TRUE(gap_only.error().never_fires);
}

TEST(ParseTest, StepLargerThanRangeWarns) {
  const Schedule s = must_parse("*/61 * * * *");
  ASSERT_EQ(s.warnings().size(), 1u);
  EXPECT_EQ(s.warnings()[0], R"(minute field: step 61 in "*/61" is larger than the range 0-59, so only 0 matches)");
  EXPECT_TRUE(must_parse("*/30 * * * *").warnings().empty());
  EXPECT_EQ(must_parse("0 0 */40 * *").warnings().size(), 1u);
}

TEST(ParseTest, FieldsSeparatedByAnyBlanks) {
  EXPECT_EQ(must_parse("  0\t\t12  *  * \t 5 ").next(at("2026-01-01T00:00:00Z")),
            must_parse("0 12 * * 5").next(at("2026-01-01T00:00:00Z")));
}

TEST(ParseTest, NamesAreCaseInsensitive) {
  const auto t = at("2026-01-01T00:00:00Z");
  EXPECT_EQ(must_parse("0 0 * jan-Mar mOn-fri").next(t), must_parse("0 0 * 1-3 1-5").next(t));
  EXPECT_EQ(must_parse("0 0 lw * *").next(t), must_parse("0 0 LW * *").next(t));
}

TEST(ParseTest, DstClass) {
  for (const char* e : {"* * * * *", "*/15 * * * *", "@hourly", "0 * * * *", "0 */2 * * *", "0 0 */3 * * *"})
    EXPECT_TRUE(must_parse(e).is_interval_like()) << e;
  for (const char* e : {"30 2 * * *", "@daily", "0-59/20 2 * * *", "30 1-3 * * *", "*/10 30 2 * * *", "0 0 * * *"})
    EXPECT_FALSE(must_parse(e).is_interval_like()) << e;
}

TEST(ParseTest, Accessors) {
  const Schedule s = must_parse("CRON_TZ=Europe/Berlin 0 9 * * 1-5", "America/New_York");
  EXPECT_EQ(s.time_zone(), "Europe/Berlin");
  EXPECT_EQ(s.text(), "CRON_TZ=Europe/Berlin 0 9 * * 1-5");
  EXPECT_FALSE(s.is_reboot());
  EXPECT_TRUE(must_parse("@reboot").is_reboot());
  EXPECT_EQ(must_parse("0 9 * * *").time_zone(), "UTC");
}

struct DescribeCase {
  const char* expr;
  const char* zone;
  const char* text;
};

TEST(DescribeTest, ReadsAsPlainEnglish) {
  const DescribeCase cases[] = {
      {"0 9 * * 1-5", "Europe/Berlin", "At 09:00, Monday through Friday, in Europe/Berlin"},
      {"* * * * *", "UTC", "Every minute, in UTC"},
      {"*/15 * * * *", "UTC", "Every 15 minutes, in UTC"},
      {"0 * * * *", "UTC", "At minute 0 of every hour, in UTC"},
      {"30 2 * * *", "America/New_York", "At 02:30, in America/New_York"},
      {"0 9,17 * * MON,WED,FRI", "UTC", "At 09:00 and 17:00, on Monday, Wednesday and Friday, in UTC"},
      {"0 12 1,15 * 5", "UTC", "At 12:00, on days 1 and 15 of the month or on Friday, in UTC"},
      {"0 0 L * *", "UTC", "At 00:00, on the last day of the month, in UTC"},
      {"0 0 * * 5L", "UTC", "At 00:00, on the last Friday of the month, in UTC"},
      {"0 0 * * 1#2", "UTC", "At 00:00, on the second Monday of the month, in UTC"},
      {"0 0 15W * *", "UTC", "At 00:00, on the weekday nearest day 15, in UTC"},
      {"0 0 29 2 *", "UTC", "At 00:00, on day 29 of the month, in February, in UTC"},
      {"@every 90s", "UTC", "Every 1m30s counted from 1970-01-01T00:00:00Z, in UTC"},
      {"@reboot", "UTC", "Once at every start of the node"},
      {"0 0 0 1 1 * 2030", "UTC", "At 00:00, on day 1 of the month, in January, in year 2030, in UTC"},
  };
  for (const auto& c : cases) EXPECT_EQ(must_parse(c.expr, c.zone).description(), c.text) << c.expr;
}

}  // namespace
}  // namespace solocron::testing
