// Durations and instants as people read them in logs and error messages.
#pragma once

#include <chrono>
#include <cstdio>
#include <string>

namespace solocron::detail {

// "1s", "1500ms", "0ms", "-2s": whole seconds when exact, else milliseconds.
inline std::string duration_text(std::chrono::milliseconds d) {
  if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + "s";
  return std::to_string(d.count()) + "ms";
}

}  // namespace solocron::detail

namespace solocron::detail {

// "2026-03-08T07:00:00Z": the form of SOLOCRON_SCHEDULED_AT (cluster contract section 12).
inline std::string rfc3339_utc(std::chrono::sys_seconds t) {
  using namespace std::chrono;
  const auto day = floor<days>(t);
  const year_month_day ymd{day};
  const hh_mm_ss<seconds> hms{t - day};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  return buf;
}

}  // namespace solocron::detail
