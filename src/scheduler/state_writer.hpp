// StateWriter: the fenced state writes of runs (running, then the outcome), batched.
//
// Writing each state change as its own store call costs a round trip per change, and all of a
// node's calls share one connection: on PostgreSQL that capped a node at under 1,000 runs a
// second. One thread takes whatever has been submitted since its last call and writes it in two
// Store::update calls: all `running` marks first, then all outcomes, so an outcome never
// overtakes the `running` mark of the same occurrence. Results come back per write.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "solocron/store.hpp"

namespace solocron::detail {

class StateWriter {
 public:
  // applied: the store's answer (false: rejected by its fencing token), or nullopt with the
  // store's error message when the write failed.
  using Done = std::function<void(std::optional<bool> applied, const std::string& error)>;

  // `on_idle` runs on the writer's thread each time the queue drains.
  StateWriter(Store& store, std::function<void()> on_idle);
  ~StateWriter();  // writes what was submitted, then stops
  StateWriter(const StateWriter&) = delete;
  StateWriter& operator=(const StateWriter&) = delete;

  void submit(StateUpdate update, Done done);
  // Blocks until everything submitted so far has been written (or has failed).
  void flush();
  bool idle() const;

 private:
  void main();
  void write_batch(std::vector<std::pair<StateUpdate, Done>>& batch);

  Store& store_;
  std::function<void()> on_idle_;
  mutable std::mutex mu_;
  std::condition_variable work_cv_, drained_cv_;
  std::vector<std::pair<StateUpdate, Done>> queue_;
  std::size_t in_flight_ = 0;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace solocron::detail
