// A request that the cluster's state refuses, classed by what the caller must change: the
// commands exit with status 2 for each (bad input); the HTTP API answers 400, 404 or 409.
#pragma once

#include <stdexcept>
#include <string>

namespace solocron::cli {

class OperationError : public std::runtime_error {
 public:
  enum class Kind {
    bad_request,  // a malformed argument: the message names it and what was expected
    not_found,    // no live node has the job
    conflict,     // the job's state or kind forbids it (paused already, run_on: local, ...)
  };
  OperationError(Kind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

}  // namespace solocron::cli
