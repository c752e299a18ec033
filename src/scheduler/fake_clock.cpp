#include "solocron/fake_clock.hpp"

#include <algorithm>
#include <stdexcept>

namespace solocron {

// A blocked wait_until() call. advance() notifies it while holding the waiter's own mutex
// (`user_mutex`), so a notification can never fall between the waiter's time check and its
// cv.wait(): the waiter holds that mutex until cv.wait() releases it atomically.
// `entry_mutex` guards `active`, so advance() never touches a cv whose waiter has returned.
struct FakeClock::Waiter {
  std::condition_variable_any* cv = nullptr;
  std::mutex* user_mutex = nullptr;
  steady_time deadline;
  std::mutex entry_mutex;
  bool active = true;
};

FakeClock::FakeClock(wall_time wall)
    : wall_(wall), steady_(steady_time{} + std::chrono::hours(1000)) {}

Clock::wall_time FakeClock::now() const {
  std::lock_guard<std::mutex> g(mutex_);
  return wall_;
}

Clock::steady_time FakeClock::steady_now() const {
  std::lock_guard<std::mutex> g(mutex_);
  return steady_;
}

void FakeClock::wait_until(std::condition_variable_any& cv, std::unique_lock<std::mutex>& lock,
                           steady_time deadline) {
  auto waiter = std::make_shared<Waiter>();
  waiter->cv = &cv;
  waiter->user_mutex = lock.mutex();
  waiter->deadline = deadline;
  {
    std::lock_guard<std::mutex> g(mutex_);
    if (steady_ >= deadline) return;
    waiters_.push_back(waiter);
  }
  cv.wait(lock);
  // Deregister without holding the caller's mutex: advance() takes entry_mutex then the
  // caller's mutex, so taking them in the other order here could deadlock.
  lock.unlock();
  {
    std::lock_guard<std::mutex> g(waiter->entry_mutex);
    waiter->active = false;
  }
  {
    std::lock_guard<std::mutex> g(mutex_);
    std::erase(waiters_, waiter);
  }
  lock.lock();
}

void FakeClock::advance(std::chrono::nanoseconds d) {
  if (d.count() < 0) throw std::invalid_argument("FakeClock::advance: negative duration");
  std::vector<std::shared_ptr<Waiter>> due;
  {
    std::lock_guard<std::mutex> g(mutex_);
    wall_ += std::chrono::duration_cast<wall_time::duration>(d);
    steady_ += std::chrono::duration_cast<steady_time::duration>(d);
    for (const auto& w : waiters_) {
      if (w->deadline <= steady_) due.push_back(w);
    }
  }
  for (const auto& w : due) {
    std::lock_guard<std::mutex> e(w->entry_mutex);
    if (!w->active) continue;
    std::lock_guard<std::mutex> u(*w->user_mutex);
    w->cv->notify_all();
  }
}

void FakeClock::step_wall(std::chrono::nanoseconds d) {
  std::lock_guard<std::mutex> g(mutex_);
  wall_ += std::chrono::duration_cast<wall_time::duration>(d);
}

void FakeClock::set_wall(wall_time t) {
  std::lock_guard<std::mutex> g(mutex_);
  wall_ = t;
}

std::size_t FakeClock::waiters() const {
  std::lock_guard<std::mutex> g(mutex_);
  return waiters_.size();
}

}  // namespace solocron
