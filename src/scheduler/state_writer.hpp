// StateWriter: the fenced outcome writes of runs, batched, each failure isolated.
//
// Writing each outcome as its own store call costs a round trip per run; one thread takes
// whatever has been submitted since its last call and writes it in one Store::update. When a
// batch fails, its writes are tried again one by one, so one write the store rejects (bad
// bytes, a constraint) cannot fail its neighbours. A write the store cannot take at all
// (unreachable) waits and is tried again with backoff, in order, for as long as the node
// lives: a write error never turns into a lost run. A write that keeps failing alone for any
// other reason is tried once more without its output tail, then reported failed.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "scheduler/events.hpp"
#include "solocron/clock.hpp"
#include "solocron/store.hpp"

namespace solocron::detail {

struct WriteResult {
  enum class Kind { applied, rejected, failed } kind = Kind::applied;
  std::string error;  // failed: the store's message
};

class StateWriter {
 public:
  using Done = std::function<void(const WriteResult&)>;

  StateWriter(Store& store, Clock& clock, Events& events);
  ~StateWriter();  // tries what was submitted once more, then stops
  StateWriter(const StateWriter&) = delete;
  StateWriter& operator=(const StateWriter&) = delete;

  void submit(StateUpdate update, Done done);
  // Shutdown: from now on a write that fails is reported failed instead of waiting for the
  // store; returns once everything submitted so far was written or reported.
  void flush();
  bool idle() const;

 private:
  struct Item {
    StateUpdate update;
    Done done;
    bool without_tail = false;  // already retried once without its output tail
  };
  void main();
  void write_batch(std::vector<Item>& batch);
  // Writes one alone; returns false when the store is unreachable (the item is kept).
  bool write_one(Item& item);
  void backoff();

  Store& store_;
  Clock& clock_;
  Events& events_;
  mutable std::mutex mu_;
  std::condition_variable_any work_cv_, drained_cv_;
  std::deque<Item> queue_;
  std::size_t in_flight_ = 0;
  bool stop_ = false;
  bool flushing_ = false;
  bool backing_off_ = false;
  Clock::steady_time backoff_until_{};
  std::chrono::milliseconds backoff_{0};
  std::thread thread_;
};

}  // namespace solocron::detail
