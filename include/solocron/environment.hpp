// What a job's process inherits from the node's environment.
//
// A node's environment holds what the node needs and its jobs should not see: the password of
// its store (PGPASSWORD, a SOLOCRON_STORE URL), the files libpq finds credentials in. By
// default a command gets everything else; a job chooses otherwise with InheritEnv
// (`inherit_env:` in the YAML file). Its own `env` and the contract's variables SOLOCRON_JOB,
// SOLOCRON_SCHEDULED_AT, SOLOCRON_NODE, SOLOCRON_FENCE and SOLOCRON_ATTEMPT are set in every
// case.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace solocron {

struct InheritEnv {
  enum class Mode {
    all_but_credentials,  // everything except the node's credentials (is_node_credential)
    all,                  // everything, credentials included
    none,                 // nothing
    only,                 // only the variables in `names` (credentials too, when named)
  };
  Mode mode = Mode::all_but_credentials;
  std::vector<std::string> names;  // Mode::only
  friend bool operator==(const InheritEnv&, const InheritEnv&) = default;
};

// PGPASSWORD, PGPASSFILE, PGSERVICEFILE, and every SOLOCRON_* variable (SOLOCRON_STORE, the
// test and internal settings of the node): what Mode::all_but_credentials leaves out.
bool is_node_credential(std::string_view name);

// Whether a process under `policy` inherits the node's variable `name`.
bool inherits(const InheritEnv& policy, std::string_view name);

}  // namespace solocron
