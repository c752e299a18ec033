#include "cron/zone_table.hpp"

#include <algorithm>
#include <map>
#include <mutex>

#include "cron/calendar.hpp"

namespace solocron::detail {

std::size_t ZoneTable::segment(sys_seconds t) const {
  return static_cast<std::size_t>(
      std::upper_bound(transitions.begin(), transitions.end(), t) - transitions.begin());
}

namespace {

// A margin of two days around the window covers every offset a zone can have.
constexpr std::chrono::seconds kMargin{2 * 86400};

sys_seconds to_sys(absl::Time t) { return sys_seconds{std::chrono::seconds{absl::ToUnixSeconds(t)}}; }
absl::Time to_absl(sys_seconds t) { return absl::FromUnixSeconds(t.time_since_epoch().count()); }

std::shared_ptr<ZoneTable> build(const std::string& name, absl::TimeZone tz) {
  auto table = std::make_shared<ZoneTable>();
  table->name = name;
  table->tz = tz;
  const sys_seconds first{kWindowStart.time_since_epoch() - kMargin};
  const sys_seconds last{kWindowEnd.time_since_epoch() + kMargin};
  absl::Time t = to_absl(first);
  std::chrono::seconds offset{tz.At(t).offset};
  table->offsets.push_back(offset);
  absl::TimeZone::CivilTransition tr;
  while (tz.NextTransition(t, &tr)) {
    const absl::Time at = tz.At(tr.to).trans;
    if (at <= t || to_sys(at) > last) break;
    t = at;
    const std::chrono::seconds after{tz.At(at).offset};
    if (after == offset) continue;  // only the abbreviation or the DST flag changed
    table->transitions.push_back(to_sys(at));
    table->offsets.push_back(after);
    offset = after;
  }
  const auto [lo, hi] = std::minmax_element(table->offsets.begin(), table->offsets.end());
  table->min_offset = *lo;
  table->max_offset = *hi;
  return table;
}

// IANA names are short paths of letters, digits and "/_+-". Anything else is refused before it
// reaches abseil, which remembers every name it was asked for, found or not.
bool plausible_zone_name(const std::string& name) {
  if (name.empty() || name.size() > 64 || name.front() == '/' || name.find("..") != std::string::npos)
    return false;
  for (char ch : name) {
    const bool ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
                    ch == '/' || ch == '_' || ch == '+' || ch == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

std::shared_ptr<const ZoneTable> load_zone_table(const std::string& name) {
  if (!plausible_zone_name(name)) return nullptr;
  static std::mutex mutex;
  static std::map<std::string, std::shared_ptr<const ZoneTable>, std::less<>> cache;
  std::lock_guard lock(mutex);
  if (auto it = cache.find(name); it != cache.end()) return it->second;
  absl::TimeZone tz;
  if (!absl::LoadTimeZone(name, &tz)) return nullptr;
  auto table = build(name, tz);
  cache.emplace(name, table);
  return table;
}

}  // namespace solocron::detail
