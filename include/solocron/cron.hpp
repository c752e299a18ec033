// Schedules: a cron expression plus a time zone, turned into exact fire instants.
//
// A Schedule is immutable and cheap to copy (it shares its parsed form). `next(t)` is the
// first fire instant strictly after `t`; `prev(t)` the last strictly before. Both follow the
// DST rules of docs/schedules.md, so iterating `next` yields exactly the instants the
// scheduler fires and every node derives the same occurrences from the same tz database.
// A schedule that can never fire (1970-2199, in its own zone) is rejected by `parse`.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "solocron/expected.hpp"

namespace solocron {

using sys_seconds = std::chrono::sys_seconds;

namespace detail {
struct ScheduleImpl;
}

struct ParseOptions {
  // IANA zone used when the expression has no CRON_TZ=/TZ= prefix.
  std::string time_zone = "UTC";
  // Anchor of `@every DURATION`: fires are anchor + k * DURATION.
  sys_seconds every_anchor{};
};

// Why an expression was rejected. `message()` is the full human sentence, e.g.
// `"0 61 * * *": hour field (column 3): 61 is out of range 0-23`.
struct ParseError {
  std::string expression;  // the text as given
  std::string field;       // "minute", "day-of-week", "time zone", ... ; empty if not field-specific
  int column = 0;          // 1-based character column where the field starts; 0 if none
  std::string detail;      // what was wrong and what was expected
  bool never_fires = false;  // parsed fine, but there is no fire time in 1970-2199

  std::string message() const;
};

class Schedule {
 public:
  // An empty schedule never fires (next/prev return nullopt); use parse() to get a real one.
  Schedule() = default;
  static Expected<Schedule, ParseError> parse(std::string_view text, const ParseOptions& options = {});

  std::optional<sys_seconds> next(sys_seconds after) const;
  std::optional<sys_seconds> prev(sys_seconds before) const;

  // Plain English, e.g. "At 09:00, Monday through Friday, in Europe/Berlin".
  std::string description() const;
  // Notes that do not make the expression invalid (e.g. a step larger than its range).
  const std::vector<std::string>& warnings() const;

  const std::string& text() const;
  const std::string& time_zone() const;  // the effective IANA zone name
  bool is_reboot() const;                // @reboot: fires once at node start, never via next()
  bool is_interval_like() const;         // DST class: minute or hour field starts with '*'

 private:
  explicit Schedule(std::shared_ptr<const detail::ScheduleImpl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const detail::ScheduleImpl> impl_;
};

// RFC 3339 rendering of an instant in a zone, e.g. "2026-03-08T03:00:00-04:00"
// (or "...Z" when `utc` is true). Throws nothing; an unknown zone renders in UTC.
std::string format_rfc3339(sys_seconds t, const std::string& time_zone, bool utc = false);

}  // namespace solocron
