// TimerLoop: the thread that fires due occurrences and runs short deadline tasks (callable
// timeouts, the lease watchdog, pool growth). It never calls the store, a process or the
// network, so no store latency can delay a `local` job, a timeout or the watchdog.
//
// It waits on the monotonic clock for the next fire of the cluster's clock (ClusterClock), at
// most a second at a time, and on every wake compares the cluster's time with what it should
// read: a forward jump (the store's clock stepped, or the memory: store's wall clock) sends the
// skipped occurrences through the misfire policy; a backward one never fires an occurrence
// twice (each job remembers its last fired instant).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "scheduler/cluster_clock.hpp"
#include "scheduler/events.hpp"
#include "scheduler/job_table.hpp"

namespace solocron::detail {

class TimerLoop {
 public:
  using WallTime = Clock::wall_time;
  using SteadyTime = Clock::steady_time;
  // Receives due occurrences (oldest first, `misfired` set) with the cluster's time.
  using Dispatch = std::function<void(std::vector<Occurrence>, WallTime now)>;

  TimerLoop(Clock& clock, ClusterClock& cluster_clock, JobTable& jobs, Events& events,
            Dispatch dispatch);
  ~TimerLoop();
  TimerLoop(const TimerLoop&) = delete;
  TimerLoop& operator=(const TimerLoop&) = delete;

  void start();
  void stop();  // joins the thread; tasks not yet due are dropped
  // Firing stops at shutdown (deadline tasks keep running until stop()).
  void set_firing(bool firing);
  // Runs `fn` on the loop's thread once the monotonic clock reaches `at`. `fn` must not block.
  void add_task(SteadyTime at, std::function<void()> fn);
  // A job was added or changed: its next fire may be earlier than the loop's wait.
  void jobs_changed();
  bool idle() const;

 private:
  struct Task {
    SteadyTime at;
    std::uint64_t seq;
    std::function<void()> fn;
  };
  void main();
  void fire(WallTime now, bool forward_step, WallTime expected);
  SteadyTime next_wake(SteadyTime steady, WallTime now) const;

  Clock& clock_;
  ClusterClock& cluster_clock_;
  JobTable& jobs_;
  Events& events_;
  Dispatch dispatch_;

  mutable std::mutex mu_;
  std::condition_variable_any cv_;
  std::vector<Task> tasks_;  // min-heap on `at`
  std::uint64_t task_seq_ = 0;
  bool firing_ = false;
  bool stop_ = false;
  bool dirty_ = false;  // work was posted after the loop last looked
  bool parked_ = false;
  bool started_ = false;
  SteadyTime park_deadline_{};
  std::thread thread_;
};

}  // namespace solocron::detail
