#include "cron/calendar.hpp"

namespace solocron::detail {

void DaySpec::finish() {
  // Days 1-38 when the 1st is a Sunday; a month starting on weekday k sees this shifted by k.
  uint64_t sunday_first = 0;
  for (int d = 1; d <= 38; ++d) {
    if (dow & (1u << ((d - 1) % 7))) sunday_first |= uint64_t{1} << d;
  }
  for (int first = 0; first < 7; ++first)
    dow_pattern[first] = static_cast<uint32_t>(sunday_first >> first) & ~1u;
}

namespace {

// Weekday nearest to day n without leaving the month (Quartz's nW): Saturday moves back to
// Friday unless that leaves the month, Sunday moves on to Monday unless that leaves it.
int nearest_weekday(int n, int ndays, int first_dow) {
  const int wd = (first_dow + n - 1) % 7;
  if (wd == 6) return n == 1 ? 3 : n - 1;
  if (wd == 0) return n == ndays ? n - 2 : n + 1;
  return n;
}

uint32_t dom_days(const DaySpec& s, int ndays, int first_dow) {
  uint32_t days = s.dom;
  for (uint32_t bits = s.dom_last; bits; bits &= bits - 1) {
    const int d = ndays - std::countr_zero(bits);
    if (d >= 1) days |= 1u << d;
  }
  if (s.dom_last_weekday) {
    const int wd = (first_dow + ndays - 1) % 7;
    days |= 1u << (ndays - (wd == 6 ? 1 : wd == 0 ? 2 : 0));
  }
  for (uint32_t bits = s.dom_nearest; bits; bits &= bits - 1) {
    const int n = std::countr_zero(bits);
    if (n <= ndays) days |= 1u << nearest_weekday(n, ndays, first_dow);
  }
  return days;
}

uint32_t dow_days(const DaySpec& s, int ndays, int first_dow) {
  uint32_t days = s.dow_pattern[first_dow];
  if (s.dow_last) {
    const int last_wd = (first_dow + ndays - 1) % 7;
    for (uint32_t bits = s.dow_last; bits; bits &= bits - 1) {
      const int x = std::countr_zero(bits);
      days |= 1u << (ndays - (last_wd - x + 7) % 7);
    }
  }
  for (int n = 0; n < 5; ++n) {
    for (uint32_t bits = s.dow_nth[n]; bits; bits &= bits - 1) {
      const int x = std::countr_zero(bits);
      const int d = 1 + (x - first_dow + 7) % 7 + 7 * n;
      if (d <= ndays) days |= 1u << d;
    }
  }
  return days;
}

}  // namespace

uint32_t DaySpec::month_days(int ndays, int first_dow) const {
  const uint32_t valid = static_cast<uint32_t>((uint64_t{1} << (ndays + 1)) - 2);
  const uint32_t by_dom = dom_days(*this, ndays, first_dow);
  const uint32_t by_dow = dow_days(*this, ndays, first_dow);
  const uint32_t days = (dom_star || dow_star) ? (by_dom & by_dow) : (by_dom | by_dow);
  return days & valid;
}

}  // namespace solocron::detail
