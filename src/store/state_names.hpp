// The stored names of run states, shared by the backends (inline so that each backend
// library links on its own, without depending on the store library that depends on it).
#pragma once

#include <array>
#include <optional>
#include <string_view>

#include "solocron/store.hpp"

namespace solocron::detail {

// Order matches the RunState enumerators; these are the names stored and printed.
inline constexpr std::array<std::string_view, 10> kStateNames = {
    "claimed", "running",     "succeeded", "failed",          "timed_out",
    "lost",    "interrupted", "missed",    "skipped_overlap", "paused",
};

inline std::string_view state_name(RunState state) {
  return kStateNames[static_cast<std::size_t>(state)];
}

inline std::optional<RunState> state_from_name(std::string_view text) {
  for (std::size_t i = 0; i < kStateNames.size(); ++i) {
    if (kStateNames[i] == text) return static_cast<RunState>(i);
  }
  return std::nullopt;
}

}  // namespace solocron::detail
