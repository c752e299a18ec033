// Plain-English descriptions: "At 09:00, Monday through Friday, in Europe/Berlin".
// Built from the field texts (already validated), one phrase per field, joined by commas.
#include <array>
#include <cctype>
#include <string>
#include <string_view>
#include <vector>

#include "cron/schedule_impl.hpp"
#include "solocron/cron.hpp"

namespace solocron::detail {
namespace {

constexpr std::array<const char*, 13> kMonths{"", "January", "February", "March", "April", "May", "June",
                                              "July", "August", "September", "October", "November", "December"};
constexpr std::array<const char*, 8> kDays{"Sunday", "Monday", "Tuesday", "Wednesday",
                                           "Thursday", "Friday", "Saturday", "Sunday"};
constexpr std::array<const char*, 5> kOrdinals{"first", "second", "third", "fourth", "fifth"};

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    const auto i = s.find(sep, start);
    out.emplace_back(s.substr(start, i == std::string_view::npos ? i : i - start));
    if (i == std::string_view::npos) return out;
    start = i + 1;
  }
}

std::string join_and(const std::vector<std::string>& parts) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += i + 1 == parts.size() ? " and " : ", ";
    out += parts[i];
  }
  return out;
}

bool is_number(std::string_view s) {
  if (s.empty()) return false;
  for (char ch : s)
    if (!std::isdigit(static_cast<unsigned char>(ch))) return false;
  return true;
}

bool plain_values(const std::string& field) {
  for (const auto& item : split(field, ','))
    if (!is_number(item)) return false;
  return true;
}

// Field texts are validated, but a step may have many digits: saturate instead of throwing.
int to_int(std::string_view s) {
  long v = 0;
  for (char ch : s) v = std::min(v * 10 + (ch - '0'), 1'000'000L);
  return static_cast<int>(v);
}

std::string two(int v) { return (v < 10 ? "0" : "") + std::to_string(v); }

// A value as people say it in this field: month and day names, numbers otherwise.
std::string value_name(std::string v, char unit) {
  for (char& ch : v) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  static constexpr std::array<const char*, 12> kM{"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                                 "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
  static constexpr std::array<const char*, 7> kD{"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};
  if (unit == 'M') {
    for (int i = 0; i < 12; ++i)
      if (v == kM[i]) return kMonths[i + 1];
    return is_number(v) ? kMonths[to_int(v)] : v;
  }
  if (unit == 'W') {
    for (int i = 0; i < 7; ++i)
      if (v == kD[i]) return kDays[i];
    return is_number(v) ? kDays[to_int(v)] : v;
  }
  return v;
}

// One list item of a plain field: "*", "*/n", "a", "a-b", "a/n", "a-b/n".
// `unit` is the field's noun ("minute"); `code` selects value names ('M' month, 'W' weekday).
// Bounds of a field by its noun, to spot steps that leave only the start value.
std::pair<int, int> bounds(const std::string& unit, char code) {
  if (code == 'M') return {1, 12};
  if (code == 'W') return {0, 7};
  if (unit == "hour") return {0, 23};
  if (unit == "day") return {1, 31};
  if (unit == "year") return {1970, 2199};
  return {0, 59};
}

std::string item_phrase(const std::string& item, const std::string& unit, char code) {
  const auto slash = item.find('/');
  const std::string base = item.substr(0, slash);
  const std::string step = slash == std::string::npos ? "" : item.substr(slash + 1);
  const auto dash = base.find('-');
  std::string range;
  if (dash != std::string::npos)
    range = value_name(base.substr(0, dash), code) + " through " + value_name(base.substr(dash + 1), code);
  if (step.empty()) {
    if (base == "*" || base == "?") return "every " + unit;
    if (code != 0) return range.empty() ? value_name(base, code) : range;  // names speak for themselves
    return range.empty() ? unit + " " + value_name(base, code) : unit + "s " + range;
  }
  const auto [lo, hi] = bounds(unit, code);
  const int first = base == "*" ? lo : is_number(base.substr(0, dash)) ? to_int(base.substr(0, dash)) : -1;
  const int last = dash != std::string::npos && is_number(base.substr(dash + 1)) ? to_int(base.substr(dash + 1)) : hi;
  if (first >= 0 && to_int(step) > last - first)  // only the start value matches
    return code != 0 ? value_name(std::to_string(first), code) : unit + " " + std::to_string(first);
  std::string out = "every " + step + " " + unit + "s";
  if (base == "*") return out;
  if (range.empty()) return out + " from " + unit + " " + value_name(base, code);
  return out + " from " + range;
}

std::string field_phrase(const std::string& field, const std::string& unit, char code) {
  if (plain_values(field) || code != 0) {
    bool named = true;
    std::vector<std::string> values;
    for (const auto& item : split(field, ',')) {
      if (item.find_first_of("*/-?") != std::string::npos) named = false;
      values.push_back(value_name(item, code));
    }
    if (named && code != 0) return join_and(values);
    if (named) return unit + (values.size() > 1 ? "s " : " ") + join_and(values);
  }
  std::vector<std::string> parts;
  for (const auto& item : split(field, ',')) parts.push_back(item_phrase(item, unit, code));
  return join_and(parts);
}

std::string time_phrase(const std::vector<std::string>& fields) {
  const auto& sec = fields[0];
  const auto& min = fields[1];
  const auto& hour = fields[2];
  if (plain_values(min) && plain_values(hour) && is_number(sec)) {
    const auto mins = split(min, ','), hours = split(hour, ',');
    if (mins.size() * hours.size() <= 6) {
      std::vector<std::string> times;
      for (const auto& h : hours)
        for (const auto& m : mins)
          times.push_back(two(to_int(h)) + ":" + two(to_int(m)) + (sec != "0" ? ":" + two(to_int(sec)) : ""));
      return "at " + join_and(times);
    }
  }
  std::vector<std::string> parts;
  if (sec != "0") parts.push_back(field_phrase(sec, "second", 0));
  if (!(min == "*" && sec.substr(0, 1) == "*")) parts.push_back(field_phrase(min, "minute", 0));
  if (hour != "*") parts.push_back((plain_values(hour) ? "during " : "") + field_phrase(hour, "hour", 0));
  else if (parts.back().rfind("minute", 0) == 0) parts.back() += " of every hour";
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : ", ") + p;
  if (out.rfind("every", 0) != 0) out = "at " + out;
  return out;
}

std::string dom_item(const std::string& item) {
  std::string u = item;
  for (char& ch : u) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  if (u == "L") return "the last day of the month";
  if (u == "LW") return "the last weekday of the month";
  if (u.rfind("L-", 0) == 0) return "the day " + u.substr(2) + " days before the last day of the month";
  if (u.size() > 1 && u.back() == 'W') return "the weekday nearest day " + u.substr(0, u.size() - 1);
  return item_phrase(item, "day", 0) + " of the month";
}

std::string dow_item(const std::string& item) {
  const auto hash = item.find('#');
  if (hash != std::string::npos)
    return "the " + std::string(kOrdinals[to_int(item.substr(hash + 1)) - 1]) + " " +
           value_name(item.substr(0, hash), 'W') + " of the month";
  if (item.size() > 1 && (item.back() == 'L' || item.back() == 'l'))
    return "the last " + value_name(item.substr(0, item.size() - 1), 'W') + " of the month";
  return item_phrase(item, "day", 'W');
}

std::string day_phrase(const ScheduleImpl& s, const std::vector<std::string>& fields) {
  const auto& dom = fields[3];
  const auto& dow = fields[5];
  const bool dom_all = dom == "*" || dom == "?";
  const bool dow_all = dow == "*" || dow == "?";
  std::string dom_text, dow_text;
  if (!dom_all) {
    if (plain_values(dom)) {
      dom_text = "on " + field_phrase(dom, "day", 0) + " of the month";
    } else {
      std::vector<std::string> parts;
      for (const auto& item : split(dom, ',')) parts.push_back(dom_item(item));
      dom_text = join_and(parts);
      if (dom_text.rfind("every", 0) != 0) dom_text = "on " + dom_text;
    }
  }
  if (!dow_all) {
    std::vector<std::string> parts;
    for (const auto& item : split(dow, ',')) parts.push_back(dow_item(item));
    dow_text = join_and(parts);
    if (dow_text.rfind("every", 0) != 0 && dow_text.find(" through ") == std::string::npos)
      dow_text = "on " + dow_text;
  }
  if (dom_text.empty()) return dow_text;
  if (dow_text.empty()) return dom_text;
  // The cron rule: a starred field restricts the other, otherwise either may match.
  if (s.days.dom_star || s.days.dow_star) {
    if (dow_text.rfind("on ", 0) == 0) dow_text = dow_text.substr(3);
    return dom_text + ", only if it is a " + dow_text;
  }
  return dom_text + " or " + dow_text;
}

std::string every_phrase(std::chrono::seconds every) {
  auto n = every.count();
  std::string out;
  for (auto [unit, size] : {std::pair{'d', 86400LL}, {'h', 3600LL}, {'m', 60LL}, {'s', 1LL}}) {
    if (n >= size) {
      out += std::to_string(n / size) + unit;
      n %= size;
    }
  }
  return out;
}

}  // namespace

std::string describe(const ScheduleImpl& s) {
  if (s.kind == ScheduleKind::reboot) return "Once at every start of the node";
  std::vector<std::string> parts;
  if (s.kind == ScheduleKind::every) {
    parts.push_back("every " + every_phrase(s.every) + " counted from " +
                    format_rfc3339(s.anchor, "UTC", true));
  } else {
    const auto fields = split(s.fields, ' ');
    parts.push_back(time_phrase(fields));
    if (auto days = day_phrase(s, fields); !days.empty()) parts.push_back(days);
    if (fields[4] != "*") parts.push_back("in " + field_phrase(fields[4], "month", 'M'));
    if (fields.size() > 6 && fields[6] != "*") parts.push_back("in " + field_phrase(fields[6], "year", 0));
  }
  parts.push_back("in " + s.zone->name);
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : ", ") + p;
  out[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(out[0])));
  return out;
}

}  // namespace solocron::detail
