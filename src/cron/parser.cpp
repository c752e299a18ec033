// Schedule::parse: the optional CRON_TZ=/TZ= prefix, nicknames, @every, then 5/6/7 fields.
#include <cctype>

#include "cron/field_parser.hpp"
#include "cron/schedule_impl.hpp"
#include "solocron/cron.hpp"

namespace solocron {
namespace {

using detail::FieldKind;

struct Token {
  std::string_view text;
  int column;  // 1-based position in the whole expression
};

bool is_blank(char ch) { return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r'; }

std::vector<Token> split_blank(std::string_view text, std::size_t from) {
  std::vector<Token> out;
  out.reserve(8);
  std::size_t i = from;
  while (i < text.size()) {
    while (i < text.size() && is_blank(text[i])) ++i;
    if (i == text.size()) break;
    const std::size_t start = i;
    while (i < text.size() && !is_blank(text[i])) ++i;
    out.push_back({text.substr(start, i - start), static_cast<int>(start) + 1});
  }
  return out;
}

Unexpected<ParseError> error(std::string_view text, std::string field, int column, std::string detail) {
  return Unexpected<ParseError>{ParseError{std::string(text), std::move(field), column, std::move(detail), false}};
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

// Go-style durations as robfig's @every takes them: "90s", "1h30m", "1.5h"; whole seconds only.
std::optional<std::chrono::seconds> parse_duration(std::string_view s) {
  static constexpr std::pair<std::string_view, long long> kUnits[] = {
      {"ns", 1},           {"us", 1'000},           {"ms", 1'000'000},       {"s", 1'000'000'000},
      {"m", 60'000'000'000}, {"h", 3'600'000'000'000}, {"d", 86'400'000'000'000}};
  if (s.empty()) return std::nullopt;
  __int128 total = 0;  // nanoseconds
  std::size_t i = 0;
  while (i < s.size()) {
    __int128 whole = 0, frac = 0, scale = 1;
    const std::size_t start = i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])) && i - start < 12)
      whole = whole * 10 + (s[i++] - '0');
    if (i < s.size() && s[i] == '.') {
      ++i;
      while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])) && scale < 1'000'000'000'000LL) {
        frac = frac * 10 + (s[i++] - '0');
        scale *= 10;
      }
    }
    if (i == start || (i == start + 1 && s[start] == '.')) return std::nullopt;
    const std::size_t unit_start = i;
    while (i < s.size() && std::isalpha(static_cast<unsigned char>(s[i]))) ++i;
    const std::string unit = lower(s.substr(unit_start, i - unit_start));
    long long ns = 0;
    for (const auto& [name, value] : kUnits)
      if (unit == name) ns = value;
    if (ns == 0) return std::nullopt;
    total += whole * ns + frac * ns / scale;
    if (frac * ns % scale != 0 || total > (__int128{1} << 62)) return std::nullopt;
  }
  if (total % 1'000'000'000 != 0 || total == 0) return std::nullopt;
  return std::chrono::seconds{static_cast<long long>(total / 1'000'000'000)};
}

const char* expand_nickname(const std::string& name) {
  if (name == "@yearly" || name == "@annually") return "0 0 1 1 *";
  if (name == "@monthly") return "0 0 1 * *";
  if (name == "@weekly") return "0 0 * * 0";
  if (name == "@daily" || name == "@midnight") return "0 0 * * *";
  if (name == "@hourly") return "0 * * * *";
  return nullptr;
}

constexpr const char* kNicknames =
    "@yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly, @reboot or @every DURATION";

// Fills the field masks of `impl` from `fields` (5, 6 or 7 tokens).
std::optional<ParseError> parse_fields(std::string_view text, const std::vector<Token>& fields,
                                       detail::ScheduleImpl& impl) {
  static constexpr FieldKind kOrder[] = {FieldKind::second, FieldKind::minute, FieldKind::hour,
                                         FieldKind::day_of_month, FieldKind::month,
                                         FieldKind::day_of_week, FieldKind::year};
  impl.has_seconds = fields.size() >= 6;
  std::vector<Token> all = fields;
  if (!impl.has_seconds) all.insert(all.begin(), Token{"0", 0});
  impl.years.fill(~uint64_t{0});
  for (std::size_t i = 0; i < all.size(); ++i) {
    const auto& rule = detail::field_rule(kOrder[i]);
    detail::FieldBits bits;
    if (auto err = detail::parse_field(all[i].text, rule, bits, impl.days, impl.warnings))
      return ParseError{std::string(text), rule.name, all[i].column, *err, false};
    impl.fields += (i ? " " : "") + std::string(all[i].text);
    switch (kOrder[i]) {
      case FieldKind::second: impl.seconds = bits.mask; break;
      case FieldKind::minute: impl.minutes = bits.mask; break;
      case FieldKind::hour: impl.hours = static_cast<uint32_t>(bits.mask); break;
      case FieldKind::day_of_month: impl.days.dom = static_cast<uint32_t>(bits.mask); break;
      case FieldKind::month: impl.months = static_cast<uint16_t>(bits.mask); break;
      case FieldKind::day_of_week: impl.days.dow = static_cast<uint8_t>(bits.mask); break;
      case FieldKind::year: std::copy(bits.year_mask.begin(), bits.year_mask.end(), impl.years.begin()); break;
    }
  }
  const auto starred = [](std::string_view f) { return f[0] == '*' || f[0] == '?'; };
  impl.days.dom_star = starred(all[3].text);
  impl.days.dow_star = starred(all[5].text);
  impl.days.finish();
  // The seconds field plays no part: only minute and hour decide the DST class.
  impl.interval_like = all[1].text[0] == '*' || all[2].text[0] == '*';
  impl.fill_month_ok();
  return std::nullopt;
}

// "@every 90s", "@daily", ...: fills `impl` or returns the error.
std::optional<ParseError> parse_nickname(std::string_view text, const std::vector<Token>& tokens,
                                         const ParseOptions& options, detail::ScheduleImpl& impl) {
  const std::string name = lower(tokens[0].text);
  auto fail = [&](std::string detail) {
    return ParseError{std::string(text), "", 0, std::move(detail), false};
  };
  if (name == "@every") {
    if (tokens.size() != 2)
      return fail("@every takes one duration, e.g. @every 90s or @every 1h30m");
    auto every = parse_duration(tokens[1].text);
    if (!every)
      return fail("\"" + std::string(tokens[1].text) +
                  "\" is not a duration of whole seconds; expected e.g. 90s or 1h30m");
    impl.kind = detail::ScheduleKind::every;
    impl.every = *every;
    impl.anchor = options.every_anchor;
    impl.interval_like = true;
    return std::nullopt;
  }
  if (tokens.size() != 1) return fail(std::string(tokens[0].text) + " takes nothing after it");
  if (name == "@reboot") {
    impl.kind = detail::ScheduleKind::reboot;
    return std::nullopt;
  }
  const char* expansion = expand_nickname(name);
  if (!expansion)
    return fail("unknown nickname \"" + std::string(tokens[0].text) + "\"; expected " + kNicknames);
  return parse_fields(text, split_blank(expansion, 0), impl);
}

}  // namespace

Expected<Schedule, ParseError> Schedule::parse(std::string_view text, const ParseOptions& options) {
  auto impl = std::make_shared<detail::ScheduleImpl>();
  impl->text = std::string(text);
  auto tokens = split_blank(text, 0);
  std::string zone = options.time_zone.empty() ? "UTC" : options.time_zone;
  int zone_column = 0;
  if (!tokens.empty()) {
    for (std::string_view prefix : {"CRON_TZ=", "TZ="}) {
      if (tokens[0].text.substr(0, prefix.size()) != prefix) continue;
      zone = std::string(tokens[0].text.substr(prefix.size()));
      zone_column = tokens[0].column + static_cast<int>(prefix.size());
      if (zone.empty()) return error(text, "time zone", zone_column, "expected a zone name after " + std::string(prefix));
      tokens.erase(tokens.begin());
      break;
    }
  }
  if (tokens.empty())
    return error(text, "", 0, "empty expression; expected 5, 6 or 7 fields or a nickname such as @daily");
  impl->zone = detail::load_zone_table(zone);
  if (!impl->zone)
    return error(text, "time zone", zone_column, "unknown time zone \"" + zone + "\"; expected an IANA name such as Europe/Berlin");
  std::optional<ParseError> err;
  if (tokens[0].text[0] == '@') {
    err = parse_nickname(text, tokens, options, *impl);
  } else if (tokens.size() < 5 || tokens.size() > 7) {
    return error(text, "", 0, "expected 5, 6 or 7 fields, got " + std::to_string(tokens.size()));
  } else {
    err = parse_fields(text, tokens, *impl);
  }
  if (err) return Unexpected<ParseError>{std::move(*err)};
  if (impl->kind != detail::ScheduleKind::reboot) {
    // No month of any kind of year has a matching day: decided without searching.
    bool any_day = false;
    for (uint16_t ok : impl->month_ok) any_day = any_day || ok != 0;
    const sys_seconds before_window{detail::kWindowStart.time_since_epoch() - std::chrono::hours{48}};
    const bool never = (impl->kind == detail::ScheduleKind::cron && !any_day) ||
                       !detail::next_fire(*impl, before_window);
    if (never) return Unexpected<ParseError>{ParseError{std::string(text), "", 0, "never fires", true}};
  }
  return Schedule{std::move(impl)};
}

std::string ParseError::message() const {
  const std::string quoted = "\"" + expression + "\"";
  if (never_fires) return quoted + " never fires";
  if (field.empty()) return quoted + ": " + detail;
  if (column > 0) return quoted + ": " + field + " field (column " + std::to_string(column) + "): " + detail;
  return quoted + ": " + field + ": " + detail;
}

}  // namespace solocron
