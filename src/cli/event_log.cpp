#include "cli/event_log.hpp"

#include <spdlog/sinks/stdout_sinks.h>

#include <nlohmann/json.hpp>

#include "cli/record_format.hpp"
#include "cron/duration.hpp"
#include "solocron/clock.hpp"

namespace solocron::cli {

namespace {

spdlog::level::level_enum level_of(RunEventKind kind, const RunEvent& e) {
  switch (kind) {
    // Command output is what operators read a job's log for: shown at the default level.
    case RunEventKind::claim_taken: return spdlog::level::debug;
    case RunEventKind::finished:
      return e.state == RunState::succeeded ? spdlog::level::info : spdlog::level::warn;
    case RunEventKind::missed:
    case RunEventKind::skipped_overlap:
    case RunEventKind::replaced:
    case RunEventKind::lost:
    case RunEventKind::too_early:
    case RunEventKind::not_claimed:
    case RunEventKind::stale_write:
    case RunEventKind::clock_step:
    case RunEventKind::lease_waiting: return spdlog::level::warn;
    case RunEventKind::store_error:
    case RunEventKind::clock_skew:
    case RunEventKind::lease_lost:
    case RunEventKind::fatal: return spdlog::level::err;
    default: return spdlog::level::info;
  }
}

std::string now_text() {
  auto now = std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
  return format_store_time(StoreTime(now.time_since_epoch()));
}

// Adds the fields of `e` that apply, after the common ones already in `j`.
void add_event_fields(const RunEvent& e, nlohmann::ordered_json& j) {
  if (!e.job.empty()) {
    j["job"] = e.job;
    j["scheduled_at"] = format_rfc3339(e.scheduled_at, "UTC", true);
    if (e.fence != 0) j["fence"] = e.fence;
    j["attempt"] = e.attempt;
  }
  if (e.state) j["state"] = std::string(to_string(*e.state));
  if (e.exit_code) j["exit_code"] = *e.exit_code;
  if (e.signal) j["signal"] = *e.signal;
  if (e.kind == RunEventKind::finished || e.kind == RunEventKind::clock_step) {
    j["duration_ms"] = e.duration.count();
  }
  if (e.kind == RunEventKind::output) {
    j["line"] = std::string(e.line);
    j["stderr"] = e.from_stderr;
  }
}

// "tick@2026-03-08T07:00:00Z fence=12 attempt=1 state=succeeded exit=0 1.2s"
std::string event_text(const RunEvent& e) {
  std::string out;
  if (!e.job.empty()) out += e.job + "@" + format_rfc3339(e.scheduled_at, "UTC", true);
  if (e.kind == RunEventKind::output) return out + (e.from_stderr ? " ! " : " | ") + std::string(e.line);
  if (e.fence != 0) out += " fence=" + std::to_string(e.fence);
  if (e.attempt > 1) out += " attempt=" + std::to_string(e.attempt);
  if (e.state) out += " state=" + std::string(to_string(*e.state));
  if (e.exit_code) out += " exit=" + std::to_string(*e.exit_code);
  if (e.signal) out += " signal=" + std::to_string(*e.signal);
  if (e.kind == RunEventKind::finished) out += " took " + detail::format_duration(e.duration);
  return out;
}

}  // namespace

EventLog::EventLog(std::string node, bool json, const std::string& level)
    : node_(std::move(node)), json_(json) {
  logger_ = std::make_shared<spdlog::logger>("solocron",
                                             std::make_shared<spdlog::sinks::stderr_sink_mt>());
  logger_->set_pattern("%v");  // the line is formatted here, in one place, for both formats
  logger_->set_level(spdlog::level::from_str(level));
  logger_->flush_on(spdlog::level::trace);
}

void EventLog::on_event(const RunEvent& e) {
  write(level_of(e.kind, e), std::string(to_string(e.kind)), &e, e.message);
}

void EventLog::info(const std::string& event, const std::string& message) {
  write(spdlog::level::info, event, nullptr, message);
}
void EventLog::warn(const std::string& event, const std::string& message) {
  write(spdlog::level::warn, event, nullptr, message);
}
void EventLog::error(const std::string& event, const std::string& message) {
  write(spdlog::level::err, event, nullptr, message);
}

void EventLog::write(spdlog::level::level_enum level, const std::string& event, const RunEvent* e,
                     const std::string& message) {
  if (!logger_->should_log(level)) return;
  std::string level_name(spdlog::level::to_string_view(level).data());
  if (json_) {
    nlohmann::ordered_json j;
    j["ts"] = now_text();
    j["level"] = level_name;
    j["node"] = node_;
    j["event"] = event;
    if (e) add_event_fields(*e, j);
    if (!message.empty()) j["message"] = message;
    logger_->log(level, j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    return;
  }
  std::string line = now_text() + " " + level_name + " " + node_ + " " + event;
  if (e) {
    std::string detail = event_text(*e);
    if (!detail.empty()) line += " " + detail;
  }
  if (!message.empty()) line += ": " + message;
  logger_->log(level, line);
}

}  // namespace solocron::cli
