#include "cron/duration.hpp"

#include <array>
#include <cctype>
#include <cstdint>
#include <limits>
#include <utility>

namespace solocron::detail {

namespace {

struct Unit {
  std::string_view name;
  std::int64_t ms;
};
// "ms" must be tried before "m".
constexpr std::array<Unit, 5> kUnits = {{{"ms", 1}, {"s", 1000}, {"m", 60'000},
                                         {"h", 3'600'000}, {"d", 86'400'000}}};

std::string expected_message(std::string_view text) {
  return "\"" + std::string(text) + "\" is not a duration (expected e.g. 500ms, 30s, 5m, 1h30m, 2d)";
}

}  // namespace

Expected<std::chrono::milliseconds, std::string> parse_duration(std::string_view text) {
  if (text == "0") return std::chrono::milliseconds(0);
  if (text.empty()) return Unexpected{expected_message(text)};
  std::int64_t total = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    std::int64_t value = 0;
    std::size_t digits = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
      if (value > std::numeric_limits<std::int64_t>::max() / 10 / 86'400'000) {
        return Unexpected{"\"" + std::string(text) + "\" is too large"};
      }
      value = value * 10 + (text[i++] - '0');
      ++digits;
    }
    if (digits == 0) return Unexpected{expected_message(text)};
    const Unit* unit = nullptr;
    for (const Unit& u : kUnits) {
      if (text.substr(i, u.name.size()) == u.name) {
        unit = &u;
        break;
      }
    }
    if (unit == nullptr) return Unexpected{expected_message(text)};
    i += unit->name.size();
    total += value * unit->ms;
  }
  return std::chrono::milliseconds(total);
}

std::string format_duration(std::chrono::milliseconds d) {
  if (d < std::chrono::milliseconds(0)) return "-" + format_duration(-d);
  std::int64_t rest = d.count();
  if (rest == 0) return "0s";
  // A value with milliseconds reads best whole: "1500ms" rather than "1s500ms".
  if (rest % 1000 != 0) return std::to_string(rest) + "ms";
  std::string out;
  for (auto it = kUnits.rbegin(); it != kUnits.rend(); ++it) {
    if (rest >= it->ms) {
      out += std::to_string(rest / it->ms) + std::string(it->name);
      rest %= it->ms;
    }
  }
  return out;
}

}  // namespace solocron::detail
