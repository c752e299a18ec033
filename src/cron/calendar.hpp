// Calendar arithmetic for the schedule engine: civil fields, the search window, day masks.
//
// The engine matches schedules against wall-clock ("local") civil time, kept as
// std::chrono::local_seconds, and only converts to instants at the edges. Days of a month are
// bit masks (bit d = day d), so finding the next matching day is one count-trailing-zeros.
#pragma once

#include <array>
#include <bit>
#include <chrono>
#include <cstdint>

namespace solocron::detail {

using std::chrono::local_seconds;

// The years schedules are matched in (local time), also the window next/prev search.
inline constexpr int kFirstYear = 1970;
inline constexpr int kLastYear = 2199;

inline constexpr local_seconds kWindowStart{
    std::chrono::local_days{std::chrono::year{kFirstYear} / 1 / 1}.time_since_epoch()};
inline constexpr local_seconds kWindowEnd{
    std::chrono::local_days{std::chrono::year{kLastYear + 1} / 1 / 1}.time_since_epoch()};

// Which days of a month match, as far as day-of-month and day-of-week are concerned.
struct DaySpec {
  uint32_t dom = 0;         // plain day-of-month values, bit d = day d (1-31)
  uint32_t dom_last = 0;    // L and L-n: bit n means "n days before the last day"
  uint32_t dom_nearest = 0;  // nW: bit n means "weekday nearest to day n"
  bool dom_last_weekday = false;  // LW
  uint8_t dow = 0;          // plain day-of-week values, bit 0 = Sunday ... bit 6 = Saturday
  uint8_t dow_last = 0;     // xL: bit x means "last x-day of the month"
  std::array<uint8_t, 5> dow_nth{};  // x#n: dow_nth[n-1] bit x means "n-th x-day"
  // The cron rule: when either field text starts with '*' or '?', both must match.
  bool dom_star = false;
  bool dow_star = false;
  // dow_pattern[k]: the days whose weekday is in `dow` when the 1st of the month is weekday k.
  std::array<uint32_t, 7> dow_pattern{};

  void finish();  // fills dow_pattern from dow
  // Matching days of a month with `ndays` days whose 1st is weekday `first_dow` (0 = Sunday).
  uint32_t month_days(int ndays, int first_dow) const;
};

inline bool is_leap(int y) { return std::chrono::year{y}.is_leap(); }

inline int days_in_month(int y, int m) {
  static constexpr std::array<int, 13> kDays{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : kDays[m];
}

// Weekday (0 = Sunday) of the first day of month m of year y.
inline int first_weekday(int y, int m) {
  using namespace std::chrono;
  return static_cast<int>(
      weekday{local_days{year{y} / month{static_cast<unsigned>(m)} / 1}}.c_encoding());
}

// The 14 kinds of year (leap or not, weekday of January 1st) fix every month's day layout.
inline int year_kind(int y) { return (is_leap(y) ? 7 : 0) + first_weekday(y, 1); }

// Civil fields of a local time; ints so that stepping below 0 or past the end is harmless.
struct CivilFields {
  int y, m, d, h, mi, s;
};

inline CivilFields split(local_seconds t) {
  using namespace std::chrono;
  const auto day = floor<days>(t);
  const year_month_day ymd{day};
  const auto sod = (t - day).count();
  return {static_cast<int>(ymd.year()), static_cast<int>(unsigned(ymd.month())),
          static_cast<int>(unsigned(ymd.day())), static_cast<int>(sod / 3600),
          static_cast<int>(sod / 60 % 60), static_cast<int>(sod % 60)};
}

inline local_seconds join(const CivilFields& c) {
  using namespace std::chrono;
  const local_days date{year{c.y} / month{static_cast<unsigned>(c.m)} /
                        day{static_cast<unsigned>(c.d)}};
  return date + hours{c.h} + minutes{c.mi} + seconds{c.s};
}

// Lowest set bit at or above `from` (from < 64), or -1.
inline int bit_at_or_above(uint64_t mask, int from) {
  const uint64_t m = mask >> from;
  return m ? from + std::countr_zero(m) : -1;
}

// Highest set bit at or below `upto`, or -1 (upto < 0 gives -1).
inline int bit_at_or_below(uint64_t mask, int upto) {
  if (upto < 0) return -1;
  const uint64_t m = upto >= 63 ? mask : mask & ((uint64_t{2} << upto) - 1);
  return m ? 63 - std::countl_zero(m) : -1;
}

}  // namespace solocron::detail
