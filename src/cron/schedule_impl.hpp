// The parsed form of a schedule: one bit mask per field (robfig/cron style) plus the
// day-of-month/day-of-week extras, and the searches over it.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cron/calendar.hpp"
#include "cron/zone_table.hpp"

namespace solocron::detail {

enum class ScheduleKind { cron, every, reboot };

struct ScheduleImpl {
  std::string text;  // as given
  std::shared_ptr<const ZoneTable> zone;  // the effective zone (zone->name)
  std::vector<std::string> warnings;
  ScheduleKind kind = ScheduleKind::cron;

  // cron fields: their texts, space-separated (nicknames expanded, seconds "0" when absent),
  // kept for descriptions only; one string keeps a schedule small when a node holds millions.
  std::string fields;  // second minute hour day-of-month month day-of-week [year]
  bool has_seconds = false;
  uint64_t seconds = 0;
  uint64_t minutes = 0;
  uint32_t hours = 0;
  uint16_t months = 0;  // bit m = month m (1-12)
  DaySpec days;
  std::array<uint64_t, 4> years{};  // bit (y - kFirstYear)
  // month_ok[year_kind]: the months that have at least one matching day in such a year.
  std::array<uint16_t, 14> month_ok{};
  // Every day of every month and year matches: the search only has to look at the time of day.
  bool every_day = false;
  bool interval_like = false;

  // @every
  std::chrono::seconds every{0};
  sys_seconds anchor{};

  bool year_ok(int y) const {
    const int i = y - kFirstYear;
    return i >= 0 && i <= kLastYear - kFirstYear && ((years[i >> 6] >> (i & 63)) & 1);
  }
  // Months of year y that contain a matching day.
  uint16_t months_in(int y) const { return year_ok(y) ? month_ok[year_kind(y)] : 0; }
  uint32_t day_mask(int y, int m) const {
    return days.month_days(days_in_month(y, m), first_weekday(y, m));
  }
  void fill_month_ok();  // after the masks are set
};

// First local time >= from (resp. last <= upto) that matches the fields, within the window.
std::optional<local_seconds> find_first(const ScheduleImpl& s, local_seconds from);
std::optional<local_seconds> find_last(const ScheduleImpl& s, local_seconds upto);

// Fire instants with the DST rules (see docs/schedules.md).
std::optional<sys_seconds> next_fire(const ScheduleImpl& s, sys_seconds after);
std::optional<sys_seconds> prev_fire(const ScheduleImpl& s, sys_seconds before);

std::string describe(const ScheduleImpl& s);

}  // namespace solocron::detail
