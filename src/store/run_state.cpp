#include <array>

#include "solocron/store.hpp"

namespace solocron {

namespace {
// Order matches the RunState enumerators; these are the names stored and printed.
constexpr std::array<std::string_view, 9> kStateNames = {
    "claimed", "running", "succeeded", "failed", "timed_out",
    "lost", "interrupted", "missed", "skipped_overlap",
};
}  // namespace

std::string_view to_string(RunState state) { return kStateNames[static_cast<std::size_t>(state)]; }

std::optional<RunState> run_state_from_string(std::string_view text) {
  for (std::size_t i = 0; i < kStateNames.size(); ++i) {
    if (kStateNames[i] == text) return static_cast<RunState>(i);
  }
  return std::nullopt;
}

}  // namespace solocron
