// libFuzzer target: Schedule::parse on arbitrary text, then everything a caller may do with the
// result (next/prev around several instants, description, warnings) and the CLI's time reader.
// Any crash, leak or sanitizer report is a bug; invalid input must come back as a ParseError.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "cron/time_text.hpp"
#include "solocron/cron.hpp"

namespace {

constexpr const char* kZones[] = {"UTC", "America/New_York", "Australia/Lord_Howe", "Pacific/Apia",
                                  "Europe/London", "Asia/Kolkata", "", "Not/AZone"};

void exercise(const solocron::Schedule& s, std::int64_t seed) {
  using std::chrono::seconds;
  const solocron::sys_seconds starts[] = {
      solocron::sys_seconds{seconds{seed}}, solocron::sys_seconds{seconds{1767225600}},
      solocron::sys_seconds{seconds{0}}, solocron::sys_seconds{seconds{7258118400}},
      solocron::sys_seconds{seconds{INT64_MIN / 2}}, solocron::sys_seconds{seconds{INT64_MAX / 2}}};
  for (auto t : starts) {
    auto at = t;
    for (int i = 0; i < 3; ++i) {
      auto n = s.next(at);
      if (!n) break;
      if (*n <= at) __builtin_trap();  // next must be strictly after
      at = *n;
    }
    if (auto p = s.prev(t); p && *p >= t) __builtin_trap();  // prev must be strictly before
  }
  (void)s.description();
  (void)s.warnings();
  (void)solocron::format_rfc3339(solocron::sys_seconds{seconds{seed % 8000000000}}, s.time_zone());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::string zone = kZones[data[0] % std::size(kZones)];
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  std::int64_t seed = 0;
  for (std::size_t i = 0; i < size && i < 8; ++i) seed = seed * 131 + data[i];
  auto s = solocron::Schedule::parse(text, solocron::ParseOptions{zone, solocron::sys_seconds{std::chrono::seconds{seed % 100000}}});
  if (s) {
    exercise(*s, seed);
  } else {
    (void)s.error().message();
  }
  (void)solocron::detail::parse_time_text(text, zone.empty() ? "UTC" : zone);
  return 0;
}
