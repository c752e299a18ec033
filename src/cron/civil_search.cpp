// Field-by-field search in local civil time: year -> month -> day -> hour -> minute -> second.
// Each level finds the next (or previous) set bit of its mask; when a level runs out, the level
// above steps once and the levels below reset. Whole years without a matching day are skipped
// through month_ok, so a far-away Feb 29 costs a few steps per year, not per day.
#include "cron/schedule_impl.hpp"

namespace solocron::detail {

namespace {

// For each kind of year (leap * 7 + weekday of January 1st) and month: length - 28 and the
// weekday of the 1st, packed as length_index * 7 + weekday (0-27).
constexpr std::array<std::array<uint8_t, 13>, 14> kMonthShapes = [] {
  constexpr std::array<int, 13> kLen{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  std::array<std::array<uint8_t, 13>, 14> shapes{};
  for (int kind = 0; kind < 14; ++kind) {
    const bool leap = kind >= 7;
    int first = kind % 7;
    for (int m = 1; m <= 12; ++m) {
      const int len = kLen[m] + (leap && m == 2 ? 1 : 0);
      shapes[kind][m] = static_cast<uint8_t>((len - 28) * 7 + first);
      first = (first + len) % 7;
    }
  }
  return shapes;
}();

}  // namespace

void ScheduleImpl::fill_month_ok() {
  // A month's matching days depend only on its length (28-31) and its first weekday.
  uint32_t any = 0;  // bit (len - 28) * 7 + first
  bool all_days = true;
  for (int len = 28; len <= 31; ++len) {
    for (int first = 0; first < 7; ++first) {
      const uint32_t matching = days.month_days(len, first);
      if (matching) any |= 1u << ((len - 28) * 7 + first);
      all_days = all_days && matching == static_cast<uint32_t>((uint64_t{1} << (len + 1)) - 2);
    }
  }
  constexpr int kYears = kLastYear - kFirstYear + 1;  // 230 bits: three full words and 38 bits
  constexpr uint64_t kLastWord = (uint64_t{1} << (kYears - 192)) - 1;
  const bool all_years = years[0] == ~uint64_t{0} && years[1] == ~uint64_t{0} &&
                         years[2] == ~uint64_t{0} && (years[3] & kLastWord) == kLastWord;
  every_day = all_days && all_years && months == 0x1FFE;
  for (int kind = 0; kind < 14; ++kind) {
    uint16_t ok = 0;
    for (int m = 1; m <= 12; ++m)
      if ((any >> kMonthShapes[kind][m]) & 1) ok |= 1u << m;
    month_ok[kind] = ok & months;
  }
}

namespace {

using std::chrono::days;
using std::chrono::seconds;

// First time of day >= sod (seconds since midnight) that matches hour, minute and second.
int time_of_day_at_or_after(const ScheduleImpl& s, int sod) {
  int h = sod / 3600, mi = sod / 60 % 60, sec = sod % 60;
  for (;;) {
    const int hh = bit_at_or_above(s.hours, h);
    if (hh < 0) return -1;
    if (hh != h) h = hh, mi = 0, sec = 0;
    const int mm = bit_at_or_above(s.minutes, mi);
    if (mm < 0) {
      h++, mi = 0, sec = 0;
      continue;
    }
    if (mm != mi) mi = mm, sec = 0;
    const int ss = bit_at_or_above(s.seconds, sec);
    if (ss < 0) {
      mi++, sec = 0;
      continue;
    }
    return h * 3600 + mi * 60 + ss;
  }
}

// Last time of day <= sod that matches, or -1.
int time_of_day_at_or_below(const ScheduleImpl& s, int sod) {
  int h = sod / 3600, mi = sod / 60 % 60, sec = sod % 60;
  for (;;) {
    const int hh = bit_at_or_below(s.hours, h);
    if (hh < 0) return -1;
    if (hh != h) h = hh, mi = 59, sec = 59;
    const int mm = bit_at_or_below(s.minutes, mi);
    if (mm < 0) {
      h--, mi = 59, sec = 59;
      continue;
    }
    if (mm != mi) mi = mm, sec = 59;
    const int ss = bit_at_or_below(s.seconds, sec);
    if (ss < 0) {
      mi--, sec = 59;
      continue;
    }
    return h * 3600 + mi * 60 + ss;
  }
}

// The every-day case needs no calendar at all: the day is the day of `from` or the next one.
std::optional<local_seconds> first_every_day(const ScheduleImpl& s, local_seconds from) {
  const auto day = std::chrono::floor<days>(from);
  int tod = time_of_day_at_or_after(s, static_cast<int>((from - day).count()));
  local_seconds t = day + seconds{tod};
  if (tod < 0) t = day + days{1} + seconds{time_of_day_at_or_after(s, 0)};
  if (t >= kWindowEnd) return std::nullopt;
  return t;
}

std::optional<local_seconds> last_every_day(const ScheduleImpl& s, local_seconds upto) {
  const auto day = std::chrono::floor<days>(upto);
  int tod = time_of_day_at_or_below(s, static_cast<int>((upto - day).count()));
  local_seconds t = day + seconds{tod};
  if (tod < 0) t = day - days{1} + seconds{time_of_day_at_or_below(s, 86399)};
  if (t < kWindowStart) return std::nullopt;
  return t;
}

}  // namespace

std::optional<local_seconds> find_first(const ScheduleImpl& s, local_seconds from) {
  if (from < kWindowStart) from = kWindowStart;
  if (from >= kWindowEnd) return std::nullopt;
  if (s.every_day) return first_every_day(s, from);
  CivilFields c = split(from);
  int mask_y = 0, mask_m = 0;
  uint32_t day_bits = 0;
  for (;;) {
    if (c.y > kLastYear) return std::nullopt;
    const int m = bit_at_or_above(s.months_in(c.y), c.m);
    if (m < 0) {
      c = {c.y + 1, 1, 1, 0, 0, 0};
      continue;
    }
    if (m != c.m) c = {c.y, m, 1, 0, 0, 0};
    if (mask_y != c.y || mask_m != c.m) {
      day_bits = s.day_mask(c.y, c.m);
      mask_y = c.y;
      mask_m = c.m;
    }
    const int d = bit_at_or_above(day_bits, c.d);
    if (d < 0) {
      c = {c.y, c.m + 1, 1, 0, 0, 0};
      continue;
    }
    if (d != c.d) c = {c.y, c.m, d, 0, 0, 0};
    const int h = bit_at_or_above(s.hours, c.h);
    if (h < 0) {
      c = {c.y, c.m, c.d + 1, 0, 0, 0};
      continue;
    }
    if (h != c.h) c = {c.y, c.m, c.d, h, 0, 0};
    const int mi = bit_at_or_above(s.minutes, c.mi);
    if (mi < 0) {
      c = {c.y, c.m, c.d, c.h + 1, 0, 0};
      continue;
    }
    if (mi != c.mi) c = {c.y, c.m, c.d, c.h, mi, 0};
    const int sec = bit_at_or_above(s.seconds, c.s);
    if (sec < 0) {
      c = {c.y, c.m, c.d, c.h, c.mi + 1, 0};
      continue;
    }
    c.s = sec;
    return join(c);
  }
}

std::optional<local_seconds> find_last(const ScheduleImpl& s, local_seconds upto) {
  if (upto < kWindowStart) return std::nullopt;
  if (upto >= kWindowEnd) upto = kWindowEnd - std::chrono::seconds{1};
  if (s.every_day) return last_every_day(s, upto);
  CivilFields c = split(upto);
  int mask_y = 0, mask_m = 0;
  uint32_t day_bits = 0;
  for (;;) {
    if (c.y < kFirstYear) return std::nullopt;
    const int m = bit_at_or_below(s.months_in(c.y), c.m);
    if (m < 0) {
      c = {c.y - 1, 12, 31, 23, 59, 59};
      continue;
    }
    if (m != c.m) c = {c.y, m, 31, 23, 59, 59};
    if (mask_y != c.y || mask_m != c.m) {
      day_bits = s.day_mask(c.y, c.m);
      mask_y = c.y;
      mask_m = c.m;
    }
    const int d = bit_at_or_below(day_bits, c.d);
    if (d < 0) {
      c = {c.y, c.m - 1, 31, 23, 59, 59};
      continue;
    }
    if (d != c.d) c = {c.y, c.m, d, 23, 59, 59};
    const int h = bit_at_or_below(s.hours, c.h);
    if (h < 0) {
      c = {c.y, c.m, c.d - 1, 23, 59, 59};
      continue;
    }
    if (h != c.h) c = {c.y, c.m, c.d, h, 59, 59};
    const int mi = bit_at_or_below(s.minutes, c.mi);
    if (mi < 0) {
      c = {c.y, c.m, c.d, c.h - 1, 59, 59};
      continue;
    }
    if (mi != c.mi) c = {c.y, c.m, c.d, c.h, mi, 59};
    const int sec = bit_at_or_below(s.seconds, c.s);
    if (sec < 0) {
      c = {c.y, c.m, c.d, c.h, c.mi - 1, 59};
      continue;
    }
    c.s = sec;
    return join(c);
  }
}

}  // namespace solocron::detail
