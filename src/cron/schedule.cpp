#include <absl/time/time.h>

#include "cron/schedule_impl.hpp"
#include "solocron/cron.hpp"

namespace solocron {

std::optional<sys_seconds> Schedule::next(sys_seconds after) const {
  if (!impl_) return std::nullopt;
  return detail::next_fire(*impl_, after);
}

std::optional<sys_seconds> Schedule::prev(sys_seconds before) const {
  if (!impl_) return std::nullopt;
  return detail::prev_fire(*impl_, before);
}

std::string Schedule::description() const {
  if (!impl_) return "Never";
  return detail::describe(*impl_);
}

const std::vector<std::string>& Schedule::warnings() const {
  static const std::vector<std::string> kNone;
  return impl_ ? impl_->warnings : kNone;
}

const std::string& Schedule::text() const {
  static const std::string kEmpty;
  return impl_ ? impl_->text : kEmpty;
}

const std::string& Schedule::time_zone() const {
  static const std::string kUtc = "UTC";
  return impl_ ? impl_->zone->name : kUtc;
}

bool Schedule::is_reboot() const { return impl_ && impl_->kind == detail::ScheduleKind::reboot; }
bool Schedule::is_interval_like() const { return impl_ && impl_->interval_like; }

std::string format_rfc3339(sys_seconds t, const std::string& time_zone, bool utc) {
  const absl::Time at = absl::FromUnixSeconds(t.time_since_epoch().count());
  if (utc) return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", at, absl::UTCTimeZone());
  absl::TimeZone tz = absl::UTCTimeZone();
  if (auto table = detail::load_zone_table(time_zone)) tz = table->tz;
  return absl::FormatTime("%Y-%m-%dT%H:%M:%S%Ez", at, tz);
}

}  // namespace solocron
