// Field-by-field search in local civil time: year -> month -> day -> hour -> minute -> second.
// Each level finds the next (or previous) set bit of its mask; when a level runs out, the level
// above steps once and the levels below reset. Whole years without a matching day are skipped
// through month_ok, so a far-away Feb 29 costs a few steps per year, not per day.
#include "cron/schedule_impl.hpp"

namespace solocron::detail {

void ScheduleImpl::fill_month_ok() {
  static constexpr std::array<int, 13> kBefore{0, 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
  for (int kind = 0; kind < 14; ++kind) {
    const bool leap = kind >= 7;
    const int jan1 = kind % 7;
    uint16_t ok = 0;
    for (int m = 1; m <= 12; ++m) {
      if (!(months & (1u << m))) continue;
      const int ndays = m == 2 ? (leap ? 29 : 28) : days_in_month(2001, m);
      const int first = (jan1 + kBefore[m] + (leap && m > 2 ? 1 : 0)) % 7;
      if (days.month_days(ndays, first)) ok |= 1u << m;
    }
    month_ok[kind] = ok;
  }
}

std::optional<local_seconds> find_first(const ScheduleImpl& s, local_seconds from) {
  if (from < kWindowStart) from = kWindowStart;
  if (from >= kWindowEnd) return std::nullopt;
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
