#include "cron/time_text.hpp"

#include <absl/time/civil_time.h>
#include <absl/time/time.h>

#include <cctype>

#include "cron/zone_table.hpp"

namespace solocron::detail {
namespace {

// Reads exactly `n` digits at `i`.
bool digits(std::string_view s, std::size_t& i, int n, int& out) {
  out = 0;
  for (int k = 0; k < n; ++k, ++i) {
    if (i >= s.size() || !std::isdigit(static_cast<unsigned char>(s[i]))) return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

bool expect(std::string_view s, std::size_t& i, char ch) {
  if (i >= s.size() || std::toupper(static_cast<unsigned char>(s[i])) != ch) return false;
  ++i;
  return true;
}

struct Fields {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  bool fractional = false;
  bool has_offset = false;
  int offset_seconds = 0;
};

// YYYY-MM-DD[(T|t| )hh:mm[:ss[.fff]]][Z|(+|-)hh:mm]
bool scan(std::string_view s, Fields& f) {
  std::size_t i = 0;
  if (!digits(s, i, 4, f.y) || !expect(s, i, '-') || !digits(s, i, 2, f.mo) || !expect(s, i, '-') ||
      !digits(s, i, 2, f.d))
    return false;
  if (i == s.size()) return true;
  if (s[i] != 'T' && s[i] != 't' && s[i] != ' ') return false;
  ++i;
  if (!digits(s, i, 2, f.h) || !expect(s, i, ':') || !digits(s, i, 2, f.mi)) return false;
  if (i < s.size() && s[i] == ':') {
    ++i;
    if (!digits(s, i, 2, f.s)) return false;
    if (i < s.size() && (s[i] == '.' || s[i] == ',')) {
      const std::size_t start = ++i;
      while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) f.fractional |= s[i++] != '0';
      if (i == start) return false;
    }
  }
  if (i == s.size()) return true;
  f.has_offset = true;
  if (s[i] == 'Z' || s[i] == 'z') return ++i == s.size();
  if (s[i] != '+' && s[i] != '-') return false;
  const int sign = s[i++] == '-' ? -1 : 1;
  int oh = 0, om = 0;
  if (!digits(s, i, 2, oh) || !expect(s, i, ':') || !digits(s, i, 2, om) || i != s.size()) return false;
  if (oh > 23 || om > 59) return false;
  f.offset_seconds = sign * (oh * 3600 + om * 60);
  return true;
}

}  // namespace

Expected<ParsedTime, std::string> parse_time_text(std::string_view text, const std::string& zone) {
  const std::string quoted = "\"" + std::string(text) + "\"";
  Fields f;
  if (!scan(text, f))
    return Unexpected<std::string>{quoted +
                                   " is not a time; expected RFC 3339 such as 2026-03-08T02:30:00-05:00, "
                                   "2026-03-08T07:30:00Z or a wall time 2026-03-08T02:30:00"};
  const absl::CivilSecond civil(f.y, f.mo, f.d, f.h, f.mi, f.s);
  if (civil.year() != f.y || civil.month() != f.mo || civil.day() != f.d || civil.hour() != f.h ||
      civil.minute() != f.mi || civil.second() != f.s)
    return Unexpected<std::string>{quoted + " is not a valid date and time"};
  absl::Time at;
  if (f.has_offset) {
    at = absl::FromCivil(civil, absl::UTCTimeZone()) - absl::Seconds(f.offset_seconds);
  } else {
    auto table = load_zone_table(zone);
    if (!table) return Unexpected<std::string>{"unknown time zone \"" + zone + "\""};
    const auto info = table->tz.At(civil);
    if (info.kind == absl::TimeZone::TimeInfo::SKIPPED)
      return Unexpected<std::string>{quoted + " does not exist in " + zone +
                                     " (the clocks skip it); give an offset or another time"};
    at = info.pre;  // the earlier instant of a repeated wall time
  }
  return ParsedTime{std::chrono::sys_seconds{std::chrono::seconds{absl::ToUnixSeconds(at)}}, f.fractional};
}

}  // namespace solocron::detail
