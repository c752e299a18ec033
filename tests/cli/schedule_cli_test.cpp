// The `solocron next|prev|explain` contract, run through the built binary: output lines, exit
// status 0/1/2 and the error messages on stderr.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

struct CliRun {
  int status = -1;
  std::string out;
  std::string err;
};

std::string quote(const std::string& arg) {
  std::string q = "'";
  for (char ch : arg) q += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return q + "'";
}

CliRun solocron(const std::vector<std::string>& args) {
  char err_path[] = "/tmp/solocron_cli_test_XXXXXX";
  const int fd = mkstemp(err_path);
  close(fd);
  std::string cmd = SOLOCRON_BIN;
  for (const auto& a : args) cmd += " " + quote(a);
  cmd += " 2>" + std::string(err_path);
  CliRun r;
  FILE* p = popen(cmd.c_str(), "r");
  char buf[4096];
  for (std::size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) r.out.append(buf, n);
  const int raw = pclose(p);
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  std::ifstream err(err_path);
  std::stringstream ss;
  ss << err.rdbuf();
  r.err = ss.str();
  unlink(err_path);
  return r;
}

struct CliCase {
  std::vector<std::string> args;
  int status;
  const char* out;
  const char* err;  // exact stderr, or "*" to not check
};

void PrintTo(const CliCase& c, std::ostream* os) {
  for (const auto& a : c.args) *os << a << " ";
}

const CliCase kCases[] = {
    // spec examples through the CLI
    {{"next", "--tz", "America/New_York", "--from", "2026-03-08T01:59:00-05:00", "-n", "2", "30 2 * * *"}, 0,
     "2026-03-08T03:00:00-04:00\n2026-03-09T02:30:00-04:00\n", ""},
    {{"next", "--tz", "America/New_York", "--from", "2026-11-01T00:00:00-04:00", "-n", "3", "30 * * * *"}, 0,
     "2026-11-01T00:30:00-04:00\n2026-11-01T01:30:00-04:00\n2026-11-01T01:30:00-05:00\n", ""},
    {{"next", "--tz", "America/New_York", "--from", "2026-10-31T12:00:00-04:00", "-n", "2", "30 1 * * *"}, 0,
     "2026-11-01T01:30:00-04:00\n2026-11-02T01:30:00-05:00\n", ""},
    {{"next", "--tz", "America/Sao_Paulo", "--from", "2018-11-03T12:00:00-03:00", "-n", "1", "@daily"}, 0,
     "2018-11-04T01:00:00-02:00\n", ""},
    {{"next", "--tz", "Asia/Beirut", "--from", "2026-03-28T12:00:00+02:00", "-n", "1", "0 0 * * *"}, 0,
     "2026-03-29T01:00:00+03:00\n", ""},
    {{"next", "--tz", "Pacific/Apia", "--from", "2011-12-29T12:00:00-10:00", "-n", "2", "0 12 * * *"}, 0,
     "2011-12-31T00:00:00+14:00\n2011-12-31T12:00:00+14:00\n", ""},
    {{"next", "--tz", "Australia/Lord_Howe", "--from", "2026-10-04T01:00:00+10:30", "-n", "1", "15 2 * * *"}, 0,
     "2026-10-04T02:30:00+11:00\n", ""},
    {{"next", "--tz", "America/New_York", "--from", "2100-03-14T01:00:00-05:00", "-n", "1", "30 2 * * *"}, 0,
     "2100-03-14T03:00:00-04:00\n", ""},
    {{"next", "--from", "2026-01-01T00:00:00Z", "-n", "3", "0 12 1,15 * 5"}, 0,
     "2026-01-01T12:00:00+00:00\n2026-01-02T12:00:00+00:00\n2026-01-09T12:00:00+00:00\n", ""},
    {{"next", "--from", "2026-01-01T00:00:00Z", "-n", "2", "0 12 */2 * 5"}, 0,
     "2026-01-09T12:00:00+00:00\n2026-01-23T12:00:00+00:00\n", ""},
    {{"next", "--from", "2026-01-01T00:00:10Z", "-n", "2", "@every 90s"}, 0,
     "2026-01-01T00:01:30+00:00\n2026-01-01T00:03:00+00:00\n", ""},
    // a CRON_TZ= prefix wins over --tz; --utc prints Z
    {{"next", "--tz", "Europe/Berlin", "--from", "2026-01-01T00:00:00Z", "-n", "1", "CRON_TZ=America/New_York 0 9 * * *"},
     0, "2026-01-01T09:00:00-05:00\n", ""},
    {{"next", "--tz", "America/New_York", "--from", "2026-03-08T01:59:00-05:00", "-n", "1", "--utc", "30 2 * * *"}, 0,
     "2026-03-08T07:00:00Z\n", ""},
    // wall-time --from: read in --tz; ambiguous is the earlier; nonexistent is an error
    {{"next", "--tz", "America/New_York", "--from", "2026-11-01T01:30:00", "-n", "2", "*/30 * * * *"}, 0,
     "2026-11-01T01:00:00-05:00\n2026-11-01T01:30:00-05:00\n", ""},
    {{"next", "--tz", "America/New_York", "--from", "2026-03-08T01:59:00", "-n", "1", "30 2 * * *"}, 0,
     "2026-03-08T03:00:00-04:00\n", ""},
    {{"next", "--tz", "America/New_York", "--from", "2026-03-08T02:30:00", "30 2 * * *"}, 2, "",
     "error: \"2026-03-08T02:30:00\" does not exist in America/New_York (the clocks skip it); give an offset or another time\n"},
    // --count, --last, prev (latest first)
    {{"next", "--from", "2026-01-01T00:00:00Z", "--count", "1000", "--last", "* * * * *"}, 0,
     "2026-01-01T16:40:00+00:00\n", ""},
    {{"prev", "--from", "2026-01-01T00:00:00Z", "-n", "3", "@daily"}, 0,
     "2025-12-31T00:00:00+00:00\n2025-12-30T00:00:00+00:00\n2025-12-29T00:00:00+00:00\n", ""},
    {{"prev", "--tz", "America/New_York", "--from", "2026-11-02T00:00:00-05:00", "-n", "1", "30 1 * * *"}, 0,
     "2026-11-01T01:30:00-04:00\n", ""},
    {{"prev", "--from", "2026-01-01T00:00:00Z", "-n", "2", "--last", "--utc", "0 0 1 * *"}, 0, "2025-11-01T00:00:00Z\n", ""},
    // exit 1: never fires, or fewer than N fire times (those that exist are printed first)
    {{"next", "0 0 30 2 *"}, 1, "", "error: \"0 0 30 2 *\" never fires\n"},
    {{"next", "0 0 31 4 *"}, 1, "", "error: \"0 0 31 4 *\" never fires\n"},
    {{"next", "--from", "2198-06-01T00:00:00Z", "-n", "3", "0 0 1 1 *"}, 1, "2199-01-01T00:00:00+00:00\n",
     "error: \"0 0 1 1 *\" fires only 1 time after 2198-06-01T00:00:00+00:00\n"},
    {{"prev", "--from", "1970-01-01T00:02:00Z", "-n", "5", "* * * * *"}, 1,
     "1970-01-01T00:01:00+00:00\n1970-01-01T00:00:00+00:00\n", "*"},
    {{"next", "@reboot"}, 1, "", "error: \"@reboot\" fires only when a node starts, never at a time\n"},
    // exit 2: invalid input
    {{"next", "0 61 * * *"}, 2, "", "error: \"0 61 * * *\": hour field (column 3): 61 is out of range 0-23\n"},
    {{"next", "0 0 * * MONDAY"}, 2, "",
     "error: \"0 0 * * MONDAY\": day-of-week field (column 9): \"MONDAY\" is not accepted; use the three-letter name MON\n"},
    {{"next", "0 0 * *"}, 2, "", "error: \"0 0 * *\": expected 5, 6 or 7 fields, got 4\n"},
    {{"next", "--tz", "Mars/Olympus", "0 0 * * *"}, 2, "",
     "error: \"0 0 * * *\": time zone: unknown time zone \"Mars/Olympus\"; expected an IANA name such as Europe/Berlin\n"},
    {{"next", "CRON_TZ=Mars/Olympus 0 0 * * *"}, 2, "",
     "error: \"CRON_TZ=Mars/Olympus 0 0 * * *\": time zone field (column 9): unknown time zone \"Mars/Olympus\"; expected an IANA name such as Europe/Berlin\n"},
    {{"next", "--from", "yesterday", "* * * * *"}, 2, "", "*"},
    {{"next", "-n", "0", "* * * * *"}, 2, "", "*"},
    {{"next"}, 2, "", "*"},
    {{"prev", "*/0 * * * *"}, 2, "", "error: \"*/0 * * * *\": minute field (column 1): \"*/0\": step must be at least 1\n"},
    // explain
    {{"explain", "--tz", "Europe/Berlin", "--from", "2026-01-01T00:00:00Z", "0 9 * * 1-5"}, 0,
     "At 09:00, Monday through Friday, in Europe/Berlin\n2026-01-01T09:00:00+01:00\n2026-01-02T09:00:00+01:00\n"
     "2026-01-05T09:00:00+01:00\n2026-01-06T09:00:00+01:00\n2026-01-07T09:00:00+01:00\n", ""},
    {{"explain", "--from", "2026-01-01T00:00:00Z", "*/61 * * * *"}, 0,
     "At minute 0 of every hour, in UTC\n2026-01-01T01:00:00+00:00\n2026-01-01T02:00:00+00:00\n"
     "2026-01-01T03:00:00+00:00\n2026-01-01T04:00:00+00:00\n2026-01-01T05:00:00+00:00\n",
     "warning: minute field: step 61 in \"*/61\" is larger than the range 0-59, so only 0 matches\n"},
    {{"explain", "0 0 30 2 *"}, 1, "", "error: \"0 0 30 2 *\" never fires\n"},
    {{"explain", "0 0 32 * *"}, 2, "", "error: \"0 0 32 * *\": day-of-month field (column 5): 32 is out of range 1-31\n"},
};

class ScheduleCli : public ::testing::TestWithParam<CliCase> {};

TEST_P(ScheduleCli, OutputAndExitStatus) {
  const CliCase& c = GetParam();
  const CliRun r = solocron(c.args);
  EXPECT_EQ(r.status, c.status) << r.err;
  EXPECT_EQ(r.out, c.out);
  if (std::string(c.err) != "*") {
    EXPECT_EQ(r.err, c.err);
  }
  if (c.status != 0) {
    EXPECT_FALSE(r.err.empty());
  }
}

INSTANTIATE_TEST_SUITE_P(Contract, ScheduleCli, ::testing::ValuesIn(kCases));

// Without --from the walk starts now: the first fire is in the future and at most a minute away.
TEST(ScheduleCliNow, DefaultsToNow) {
  const CliRun r = solocron({"next", "--utc", "-n", "1", "* * * * *"});
  ASSERT_EQ(r.status, 0) << r.err;
  ASSERT_EQ(r.out.size(), std::string("2026-01-01T00:00:00Z\n").size());
  const CliRun p = solocron({"prev", "--utc", "-n", "1", "* * * * *"});
  ASSERT_EQ(p.status, 0) << p.err;
  EXPECT_LT(p.out, r.out);
}

// The expression may also arrive as several words.
TEST(ScheduleCliWords, JoinsWords) {
  const CliRun r = solocron({"next", "--from", "2026-01-01T00:00:00Z", "-n", "1", "0", "0", "*", "*", "5"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "2026-01-02T00:00:00+00:00\n");
}

}  // namespace
