// Grammar (docs/schedules.md): list = item {"," item};
// item = "*" ["/" step] | "?" | value ["-" value] ["/" step], plus L, L-n, LW, nW in
// day-of-month and xL, x#n in day-of-week. Names are three-letter and case-insensitive.
#include "cron/field_parser.hpp"

#include <array>
#include <cctype>
#include <string>

namespace solocron::detail {
namespace {

constexpr std::array<const char*, 12> kMonthNames{"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                                 "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr std::array<const char*, 7> kDayNames{"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& ch : out) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return out;
}

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char ch : s)
    if (!std::isdigit(static_cast<unsigned char>(ch))) return false;
  return true;
}

bool all_alpha(std::string_view s) {
  if (s.empty()) return false;
  for (char ch : s)
    if (!std::isalpha(static_cast<unsigned char>(ch))) return false;
  return true;
}

// A non-negative decimal number, saturating so that "99999999999" reads as out of range.
int to_number(std::string_view s) {
  long v = 0;
  for (char ch : s) v = std::min(v * 10 + (ch - '0'), 1'000'000L);
  return static_cast<int>(v);
}

std::string range_text(const FieldRule& r) {
  return std::to_string(r.min) + "-" + std::to_string(r.max);
}

std::string names_hint(const FieldRule& r) {
  if (r.kind == FieldKind::month) return "JAN-DEC or 1-12";
  if (r.kind == FieldKind::day_of_week) return "SUN-SAT or 0-7";
  return "a number " + range_text(r);
}

// Reads a value (number or name) and checks its range.
std::optional<std::string> read_value(std::string_view tok, const FieldRule& r, int& out) {
  if (tok.empty()) return std::string("missing value; expected ") + names_hint(r);
  if (all_digits(tok)) {
    out = to_number(tok);
    if (out < r.min || out > r.max)
      return std::string(tok) + " is out of range " + range_text(r);
    return std::nullopt;
  }
  const bool months = r.kind == FieldKind::month, dows = r.kind == FieldKind::day_of_week;
  if (!all_alpha(tok) || !(months || dows))
    return "\"" + std::string(tok) + "\" is not a number; expected " + names_hint(r);
  const std::string name = upper(tok);
  const auto* begin = months ? kMonthNames.data() : kDayNames.data();
  const std::size_t count = months ? kMonthNames.size() : kDayNames.size();
  for (std::size_t i = 0; i < count; ++i) {
    if (name == begin[i]) {
      out = static_cast<int>(i) + (months ? 1 : 0);
      return std::nullopt;
    }
  }
  for (std::size_t i = 0; i < count; ++i) {
    if (name.size() > 3 && name.compare(0, 3, begin[i]) == 0)
      return "\"" + std::string(tok) + "\" is not accepted; use the three-letter name " + begin[i];
  }
  return "\"" + std::string(tok) + "\" is not a " + (months ? "month" : "day") +
         " name; expected " + names_hint(r);
}

void set_value(FieldBits& bits, const FieldRule& r, int v) {
  if (r.kind == FieldKind::year) {
    const int i = v - r.min;
    bits.year_mask[i >> 6] |= uint64_t{1} << (i & 63);
    return;
  }
  if (r.kind == FieldKind::day_of_week && v == 7) v = 0;
  bits.mask |= uint64_t{1} << v;
}

std::optional<std::string> read_step(std::string_view item, std::string_view tok, int& step) {
  if (!all_digits(tok))
    return "\"" + std::string(item) + "\": expected a number after \"/\"";
  step = to_number(tok);
  if (step < 1) return "\"" + std::string(item) + "\": step must be at least 1";
  return std::nullopt;
}

// "*", "a", "a-b", each optionally followed by "/step".
std::optional<std::string> plain_item(std::string_view item, const FieldRule& r, FieldBits& bits,
                                      std::vector<std::string>& warnings) {
  const auto slash = item.find('/');
  const std::string_view base = item.substr(0, slash);
  int step = 1;
  if (slash != std::string_view::npos) {
    if (auto err = read_step(item, item.substr(slash + 1), step)) return err;
  }
  int lo = r.min, hi = r.max;
  if (base != "*") {
    const auto dash = base.find('-');
    if (auto err = read_value(base.substr(0, dash), r, lo)) return err;
    if (dash != std::string_view::npos) {
      if (auto err = read_value(base.substr(dash + 1), r, hi)) return err;
      // As in cronie, a day-of-week range ending in Sunday ends at 7: FRI-SUN is Fri-Sun.
      if (r.kind == FieldKind::day_of_week && hi == 0 && lo > 0) hi = 7;
      if (hi < lo)
        return "\"" + std::string(base) + "\" is a reversed range; expected low-high";
    } else if (slash == std::string_view::npos) {
      hi = lo;
    }
  }
  if (step > 1 && step > hi - lo)
    warnings.push_back(std::string(r.name) + " field: step " + std::string(item.substr(slash + 1)) + " in \"" +
                       std::string(item) + "\" is larger than the range " + std::to_string(lo) +
                       "-" + std::to_string(hi) + ", so only " + std::to_string(lo) + " matches");
  for (int v = lo; v <= hi; v += step) set_value(bits, r, v);
  return std::nullopt;
}

// L, L-n, LW, nW.
std::optional<std::optional<std::string>> dom_extra(std::string_view item, DaySpec& days) {
  const std::string u = upper(item);
  if (u == "L") {
    days.dom_last |= 1u;
    return std::optional<std::string>{};
  }
  if (u == "LW") {
    days.dom_last_weekday = true;
    return std::optional<std::string>{};
  }
  if (u.rfind("L-", 0) == 0) {
    const std::string_view n = item.substr(2);
    if (!all_digits(n) || to_number(n) > 30)
      return std::optional<std::string>{"\"" + std::string(item) +
                                        "\": expected L-n with n from 0 to 30"};
    days.dom_last |= 1u << to_number(n);
    return std::optional<std::string>{};
  }
  if (u.size() >= 2 && u.back() == 'W') {
    const std::string_view n = item.substr(0, item.size() - 1);
    if (!all_digits(n) || to_number(n) < 1 || to_number(n) > 31)
      return std::optional<std::string>{"\"" + std::string(item) +
                                        "\": expected nW with a day n from 1 to 31"};
    days.dom_nearest |= 1u << to_number(n);
    return std::optional<std::string>{};
  }
  return std::nullopt;  // not an extra
}

// xL, x#n.
std::optional<std::optional<std::string>> dow_extra(std::string_view item, const FieldRule& r,
                                                    DaySpec& days) {
  const auto hash = item.find('#');
  int x = 0;
  if (hash != std::string_view::npos) {
    if (auto err = read_value(item.substr(0, hash), r, x)) return std::optional<std::string>{err};
    const std::string_view n = item.substr(hash + 1);
    if (!all_digits(n) || to_number(n) < 1 || to_number(n) > 5)
      return std::optional<std::string>{"\"" + std::string(item) +
                                        "\": expected x#n with n from 1 to 5"};
    days.dow_nth[to_number(n) - 1] |= static_cast<uint8_t>(1u << (x % 7));
    return std::optional<std::string>{};
  }
  if (item.size() >= 1 && (item.back() == 'L' || item.back() == 'l')) {
    if (item.size() == 1)
      return std::optional<std::string>{
          "\"L\" needs a day before it in the day-of-week field, e.g. 5L for the last Friday"};
    if (auto err = read_value(item.substr(0, item.size() - 1), r, x)) {
      if (all_alpha(item)) return std::nullopt;  // a plain (bad) name ending in L
      return std::optional<std::string>{err};
    }
    days.dow_last |= static_cast<uint8_t>(1u << (x % 7));
    return std::optional<std::string>{};
  }
  return std::nullopt;
}

}  // namespace

const FieldRule& field_rule(FieldKind kind) {
  static const std::array<FieldRule, 7> kRules{{
      {FieldKind::second, "second", 0, 59},
      {FieldKind::minute, "minute", 0, 59},
      {FieldKind::hour, "hour", 0, 23},
      {FieldKind::day_of_month, "day-of-month", 1, 31},
      {FieldKind::month, "month", 1, 12},
      {FieldKind::day_of_week, "day-of-week", 0, 7},
      {FieldKind::year, "year", kFirstYear, kLastYear},
  }};
  return kRules[static_cast<int>(kind)];
}

std::optional<std::string> parse_field(std::string_view text, const FieldRule& r, FieldBits& bits,
                                       DaySpec& days, std::vector<std::string>& warnings) {
  if (r.kind == FieldKind::year) bits.year_mask.assign(4, 0);
  const bool day_field = r.kind == FieldKind::day_of_month || r.kind == FieldKind::day_of_week;
  std::size_t start = 0;
  for (;;) {
    const auto comma = text.find(',', start);
    const std::string_view item = text.substr(start, comma == std::string_view::npos ? comma : comma - start);
    if (item.empty()) return std::string("empty item in the list \"") + std::string(text) + "\"";
    if (item == "?") {
      if (!day_field)
        return std::string("\"?\" is only allowed in the day-of-month and day-of-week fields");
      plain_item("*", r, bits, warnings);
    } else {
      std::optional<std::optional<std::string>> extra;
      if (r.kind == FieldKind::day_of_month) extra = dom_extra(item, days);
      if (r.kind == FieldKind::day_of_week) extra = dow_extra(item, r, days);
      if (extra) {
        if (*extra) return *extra;
      } else if (auto err = plain_item(item, r, bits, warnings)) {
        return err;
      }
    }
    if (comma == std::string_view::npos) return std::nullopt;
    start = comma + 1;
  }
}

}  // namespace solocron::detail
