// libFuzzer target: the configuration reader (parse_config, what `check`, `run` and a reload
// use) on arbitrary bytes. It must never crash, hang or leak, and what it returns must hold
// together: a fatal load has an error, a job left out has an error, errors are sorted by
// position, every job accepted has a valid name and an answer for its next fire time.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // A small limit keeps each input cheap; the limit itself is part of what is fuzzed.
  const auto load = solocron::detail::parse_config(text, "fuzz.yaml", {.max_bytes = 1 << 16});
  if (load.fatal && load.errors.empty()) __builtin_trap();
  if (!load.bad_jobs.empty() && load.errors.empty()) __builtin_trap();
  for (std::size_t i = 0; i < load.errors.size(); ++i) {
    (void)load.errors[i].to_string();
    if (i > 0 && (load.errors[i - 1].line > load.errors[i].line ||
                  (load.errors[i - 1].line == load.errors[i].line &&
                   load.errors[i - 1].column > load.errors[i].column))) {
      __builtin_trap();  // not sorted by position
    }
  }
  const solocron::sys_seconds t{std::chrono::seconds{1767225600}};
  for (const auto& job : load.config.jobs) {
    if (solocron::validate_job_name(job.name)) __builtin_trap();
    (void)job.schedule.next(t);
  }
  return 0;
}
