// `solocron check CONFIG`: validates a configuration file the way `run` would load it and shows
// each job with its next fire times, so an operator sees what will run before it runs.
#include <chrono>
#include <iostream>

#include "cli/api_tokens.hpp"
#include "cli/commands.hpp"
#include "cli/user_text.hpp"
#include "config/config.hpp"
#include "solocron/clock.hpp"

namespace solocron::cli {

namespace {

constexpr int kShownFires = 3;

std::string_view run_on_name(RunOn r) {
  switch (r) {
    case RunOn::once: return "once";
    case RunOn::every_node: return "every_node";
    case RunOn::local: return "local";
  }
  return "";
}

void print_job(const JobSpec& job, sys_seconds now) {
  std::cout << job.name << ": " << text_line(job.schedule.text()) << " (" << job.schedule.description()
            << "), run_on " << run_on_name(job.run_on) << (job.paused ? ", paused" : "") << "\n";
  for (const auto& w : job.schedule.warnings()) std::cout << "  warning: " << text_line(w) << "\n";
  if (job.schedule.is_reboot()) {
    std::cout << "  runs once when the node starts\n";
    return;
  }
  auto t = now;
  for (int i = 0; i < kShownFires; ++i) {
    auto next = job.schedule.next(t);
    if (!next) break;
    std::cout << "  next: " << format_rfc3339(*next, job.schedule.time_zone()) << "\n";
    t = *next;
  }
}

}  // namespace

// The same reading as `run` and a reload (detail::load_config_file): whatever it reports
// here, `run` refuses to start with.
int run_check(const std::string& path, const detail::ConfigLimits& limits) {
  detail::ConfigLoad load = detail::load_config_file(path, limits);
  for (const auto& e : load.errors) print_error(e.to_string());
  if (load.fatal) return 2;
  auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  std::cout << text_line(path) << ": " << load.config.jobs.size() << " valid job"
            << (load.config.jobs.size() == 1 ? "" : "s");
  if (!load.bad_jobs.empty()) std::cout << ", " << load.bad_jobs.size() << " with errors";
  std::cout << "\n";
  for (const auto& job : load.config.jobs) print_job(job, now);
  bool tokens_ok = true;
  if (const std::string tokens = tokens_path_in(load.config.api_tokens_file, path); !tokens.empty()) {
    auto read = ApiTokens::load(tokens);
    tokens_ok = read.has_value();
    if (!read) {
      print_error(read.error());
    } else {
      std::cout << "API tokens: " << read->size() << " in " << text_line(tokens) << "\n";
      if (auto who = readable_by_others(tokens)) print_warning(tokens + " may be read by its " + *who + " (chmod 600)");
    }
  }
  return load.errors.empty() && tokens_ok ? 0 : 2;
}

}  // namespace solocron::cli
