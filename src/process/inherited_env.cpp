// The environment policy of job processes (include/solocron/environment.hpp).
#include <algorithm>

#include "solocron/environment.hpp"

namespace solocron {

bool is_node_credential(std::string_view name) {
  return name == "PGPASSWORD" || name == "PGPASSFILE" || name == "PGSERVICEFILE" ||
         name.starts_with("SOLOCRON_");
}

bool inherits(const InheritEnv& policy, std::string_view name) {
  switch (policy.mode) {
    case InheritEnv::Mode::all: return true;
    case InheritEnv::Mode::none: return false;
    case InheritEnv::Mode::only:
      return std::find(policy.names.begin(), policy.names.end(), name) != policy.names.end();
    case InheritEnv::Mode::all_but_credentials: break;
  }
  return !is_node_credential(name);
}

}  // namespace solocron
