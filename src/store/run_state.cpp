#include "solocron/store.hpp"
#include "store/state_names.hpp"

namespace solocron {

std::string_view to_string(RunState state) { return detail::state_name(state); }

std::string_view to_string(Trigger trigger) {
  switch (trigger) {
    case Trigger::schedule: return "schedule";
    case Trigger::manual: return "manual";
    case Trigger::backfill: return "backfill";
    case Trigger::retry: return "retry";
  }
  return "schedule";
}

std::optional<RunState> run_state_from_string(std::string_view text) {
  return detail::state_from_name(text);
}

}  // namespace solocron
