#include "cli/event_log.hpp"

#include <spdlog/sinks/stdout_sinks.h>

#include <nlohmann/json.hpp>

#include "cli/record_format.hpp"
#include "cli/user_text.hpp"
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
    // The node fires by the store's clock whatever its own says: worth knowing, not an error.
    case RunEventKind::clock_skew:
    case RunEventKind::hook_failed:
    case RunEventKind::lease_waiting: return spdlog::level::warn;
    case RunEventKind::store_error:
    case RunEventKind::lease_lost:
    case RunEventKind::store_changed:
    case RunEventKind::unguarded:
    case RunEventKind::fatal: return spdlog::level::err;
    default: return spdlog::level::info;
  }
}

// The names of node.log_level, not spdlog's ("warning", "critical").
const char* level_name(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace: return "trace";
    case spdlog::level::debug: return "debug";
    case spdlog::level::info: return "info";
    case spdlog::level::warn: return "warn";
    default: return "error";
  }
}

spdlog::level::level_enum level_from_name(const std::string& name) {
  if (name == "trace") return spdlog::level::trace;
  if (name == "debug") return spdlog::level::debug;
  if (name == "warn") return spdlog::level::warn;
  if (name == "error") return spdlog::level::err;
  return spdlog::level::info;
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
    j["line"] = json_text(e.line);
    j["stderr"] = e.from_stderr;
  }
}

// What to say about a finished run besides its state: when it has neither an exit code nor
// a signal it never ran (it could not start, a callable threw, shutdown came first), and its
// tail holds the reason.
std::string finished_reason(const RunEvent& e) {
  if (e.kind != RunEventKind::finished || e.exit_code || e.signal) return "";
  if (e.state == RunState::succeeded) return "";
  return e.output_tail;
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
  logger_->set_level(level_from_name(level));
  logger_->flush_on(spdlog::level::trace);
}

void EventLog::set_level(const std::string& level) { logger_->set_level(level_from_name(level)); }

void EventLog::on_event(const RunEvent& e) {
  std::string message = e.message;
  if (std::string reason = finished_reason(e); !reason.empty()) {
    message += (message.empty() ? "" : "; ") + reason;
  }
  write(level_of(e.kind, e), std::string(to_string(e.kind)), &e, message);
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
  if (json_) {
    nlohmann::ordered_json j;
    j["ts"] = now_text();
    j["level"] = level_name(level);
    j["node"] = json_text(node_);
    j["event"] = event;
    if (e) add_event_fields(*e, j);
    if (!message.empty()) j["message"] = json_text(message);
    logger_->log(level, dump_json(j, -1));
    return;
  }
  std::string line = now_text() + " " + level_name(level) + " " + text_line(node_) + " " + event;
  if (e) {
    std::string detail = event_text(*e);
    if (!detail.empty()) line += " " + text_line(detail);
  }
  if (!message.empty()) line += ": " + text_line(message);
  logger_->log(level, line);
}

}  // namespace solocron::cli
