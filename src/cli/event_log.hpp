// The node's log: every scheduler event as one line, as text for people or JSON for machines.
//
// A JSON line is an object with "ts" (RFC 3339 UTC, milliseconds), "level" (trace, debug,
// info, warn, error: spelled as node.log_level), "node", "event" (the RunEventKind name, e.g.
// "started", "finished", "lease_acquired", "stale_write", or a daemon event such as "reload")
// and, where they apply, "job", "scheduled_at", "fence", "attempt", "state", "exit_code",
// "signal", "duration_ms", "line", "stderr", "message". docs/operations.md lists the events.
//
// Every string is redacted (no password reaches the log) and made safe on the way out
// (cli/user_text.hpp): the text format escapes control characters, so no job output can move
// the cursor or forge a line; the JSON format is valid UTF-8 JSON whatever a job printed.
#pragma once

#include <memory>
#include <string>

#include <spdlog/logger.h>

#include "solocron/scheduler.hpp"

namespace solocron::cli {

class EventLog final : public SchedulerObserver {
 public:
  // `level`: trace, debug, info, warn or error.
  EventLog(std::string node, bool json, const std::string& level);

  void on_event(const RunEvent& event) override;
  // Node-level messages of the daemon itself (start, reload, shutdown, config errors).
  void info(const std::string& event, const std::string& message);
  void warn(const std::string& event, const std::string& message);
  void error(const std::string& event, const std::string& message);
  // Takes effect for the next line; safe while other threads log.
  void set_level(const std::string& level);

 private:
  void write(spdlog::level::level_enum level, const std::string& event, const RunEvent* e,
             const std::string& message);

  std::string node_;
  bool json_;
  std::shared_ptr<spdlog::logger> logger_;
};

}  // namespace solocron::cli
