// Work done on a thread of its own while the main thread keeps answering signals.
//
// The daemon takes SIGTERM, SIGINT and SIGHUP synchronously on its main thread. Anything that
// may take long (reading a large configuration file, a store that needs retries) runs as a
// Background task that the main thread polls between signal waits, so a signal is never
// stuck behind it.
#pragma once

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>
#include <thread>

namespace solocron::cli {

template <class T>
class Background {
 public:
  explicit Background(std::function<T()> work) : state_(std::make_shared<State>()) {
    thread_ = std::thread([state = state_, work = std::move(work)] {
      state->value = work();
      state->done = true;
    });
  }
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;
  ~Background() {
    if (thread_.joinable()) thread_.join();
  }

  bool done() const { return state_->done.load(); }
  // The result; waits for it if it is not done.
  T take() {
    thread_.join();
    return std::move(*state_->value);
  }

 private:
  struct State {
    std::atomic<bool> done{false};
    std::optional<T> value;
  };
  std::shared_ptr<State> state_;
  std::thread thread_;
};

// Ends the process now with `code`, flushing stdio first. For a signal that arrives while a
// Background task still runs: the task's work is abandoned rather than waited for, and no
// destructor (static or not) runs under it. Used only where the process holds nothing that
// needs releasing (no lease yet, or the scheduler already shut down).
[[noreturn]] inline void exit_now(int code) {
  std::fflush(nullptr);
  std::_Exit(code);
}

}  // namespace solocron::cli
