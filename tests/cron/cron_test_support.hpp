// Helpers shared by the schedule tests: instants written as RFC 3339 text.
#pragma once

#include <absl/time/time.h>
#include <gtest/gtest.h>

#include <string>

#include "solocron/cron.hpp"

namespace solocron::testing {

inline sys_seconds at(const std::string& rfc3339) {
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, rfc3339, &t, &err)) {
    ADD_FAILURE() << "bad time in test: " << rfc3339 << ": " << err;
    return {};
  }
  return sys_seconds{std::chrono::seconds{absl::ToUnixSeconds(t)}};
}

inline Schedule must_parse(const std::string& expr, const std::string& zone = "UTC") {
  auto s = Schedule::parse(expr, ParseOptions{zone});
  if (!s) {
    ADD_FAILURE() << "parse failed: " << s.error().message();
    return Schedule{};
  }
  return *s;
}

// The fire time as the CLI shows it, or "none".
inline std::string show(const std::optional<sys_seconds>& t, const Schedule& s) {
  return t ? format_rfc3339(*t, s.time_zone()) : "none";
}

}  // namespace solocron::testing
