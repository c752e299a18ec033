// `solocron next`, `solocron prev`, `solocron explain`: the schedule engine on the command line.
// Other tools script against this output, so it is kept exactly so: one RFC 3339 time per line
// in the schedule's zone (or UTC with Z under --utc); exit 0 ok, 1 when the expression never
// fires or has fewer than N fire times (those that exist are printed first), 2 for bad input.
#include <cstdio>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "cli/user_text.hpp"
#include "cron/time_text.hpp"
#include "cron/zone_table.hpp"
#include "solocron/cron.hpp"

namespace solocron::cli {
namespace {

struct ScheduleArgs {
  std::vector<std::string> expr;  // joined with spaces: the EXPR may arrive as several words
  std::string tz;
  std::string from;
  int count = 5;
  bool last = false;
  bool utc = false;

  std::string text() const {
    std::string out;
    for (const auto& word : expr) out += (out.empty() ? "" : " ") + word;
    return out;
  }
};

int fail(int code, const std::string& message) {
  print_error(message);
  return code;
}

// The schedule, or the exit status after reporting why there is none.
std::optional<Schedule> load(const ScheduleArgs& a, int& status) {
  const std::string text = a.text();
  if (!a.tz.empty() && !detail::load_zone_table(a.tz)) {
    status = fail(2, ParseError{text, "time zone", 0, "unknown time zone \"" + a.tz +
                                "\"; expected an IANA name such as Europe/Berlin", false}.message());
    return std::nullopt;
  }
  auto parsed = Schedule::parse(text, ParseOptions{a.tz.empty() ? "UTC" : a.tz, {}});
  if (!parsed) {
    status = fail(parsed.error().never_fires ? 1 : 2, parsed.error().message());
    return std::nullopt;
  }
  return std::move(parsed).value();
}

// Where the walk starts. Fire times are whole seconds, so "strictly after 10:00:00.5" is
// "strictly after 10:00:00" and "strictly before 10:00:00.5" is "strictly before 10:00:01".
std::optional<sys_seconds> start_time(const ScheduleArgs& a, const Schedule& s, bool backwards,
                                      int& status) {
  if (a.from.empty()) {
    const auto now = std::chrono::system_clock::now();
    const auto whole = std::chrono::floor<std::chrono::seconds>(now);
    return backwards && whole != now ? whole + std::chrono::seconds{1} : whole;
  }
  auto t = detail::parse_time_text(a.from, a.tz.empty() ? s.time_zone() : a.tz);
  if (!t) {
    status = fail(2, t.error());
    return std::nullopt;
  }
  return backwards && t->fractional ? t->seconds + std::chrono::seconds{1} : t->seconds;
}

// Prints up to a.count fire times; with --last only the final one, without formatting the rest.
int walk(const ScheduleArgs& a, bool backwards) {
  int status = 0;
  auto s = load(a, status);
  if (!s) return status;
  if (s->is_reboot())
    return fail(1, "\"" + a.text() + "\" fires only when a node starts, never at a time");
  auto t = start_time(a, *s, backwards, status);
  if (!t) return status;
  const std::string& zone = s->time_zone();
  std::string out;
  int found = 0;
  sys_seconds at = *t;
  for (; found < a.count; ++found) {
    const auto fire = backwards ? s->prev(at) : s->next(at);
    if (!fire) break;
    at = *fire;
    if (a.last) continue;
    out += format_rfc3339(at, zone, a.utc);
    out += '\n';
    if (out.size() > (1 << 16)) {
      std::fputs(out.c_str(), stdout);
      out.clear();
    }
  }
  if (a.last && found == a.count) out = format_rfc3339(at, zone, a.utc) + "\n";
  std::fputs(out.c_str(), stdout);
  if (found < a.count)
    return fail(1, "\"" + a.text() + "\" fires only " + std::to_string(found) + " time" +
                       (found == 1 ? "" : "s") + (backwards ? " before " : " after ") +
                       format_rfc3339(*t, zone, a.utc));
  return 0;
}

int explain(const ScheduleArgs& a) {
  int status = 0;
  auto s = load(a, status);
  if (!s) return status;
  std::printf("%s\n", s->description().c_str());
  for (const auto& w : s->warnings()) print_warning(w);
  if (s->is_reboot()) return 0;
  auto t = start_time(a, *s, false, status);
  if (!t) return status;
  for (int i = 0; i < a.count; ++i) {
    const auto fire = s->next(*t);
    if (!fire) break;
    t = fire;
    std::printf("%s\n", format_rfc3339(*t, s->time_zone(), a.utc).c_str());
  }
  return 0;
}

void add_common(CLI::App* cmd, ScheduleArgs& a) {
  cmd->add_option("--tz", a.tz, "IANA time zone of the schedule (a CRON_TZ= prefix wins); default UTC");
  cmd->add_option("--from", a.from,
                  "start time: RFC 3339 with offset or Z, or a wall time read in --tz; default now");
  cmd->add_flag("--utc", a.utc, "print times in UTC with Z");
  cmd->add_option("EXPR", a.expr, "the schedule, e.g. \"30 2 * * *\" (quote it: one argument)")
      ->required();
}

}  // namespace

void register_schedule_commands(CLI::App& app, int& exit_code) {
  static ScheduleArgs next_args, prev_args, explain_args;
  auto* next = app.add_subcommand("next", "Print the next fire times of a schedule");
  auto* prev = app.add_subcommand("prev", "Print the previous fire times of a schedule, latest first");
  auto* expl = app.add_subcommand("explain", "Describe a schedule in plain English and show its next 5 fire times");
  for (auto [cmd, args] : {std::pair{next, &next_args}, {prev, &prev_args}}) {
    add_common(cmd, *args);
    cmd->add_option("-n,--count", args->count, "how many fire times (default 5)")
        ->check(CLI::Range(1, 1 << 30));
    cmd->add_flag("--last", args->last, "print only the N-th fire time");
  }
  add_common(expl, explain_args);
  next->callback([&exit_code] { exit_code = walk(next_args, false); });
  prev->callback([&exit_code] { exit_code = walk(prev_args, true); });
  expl->callback([&exit_code] { exit_code = explain(explain_args); });
}

}  // namespace solocron::cli
