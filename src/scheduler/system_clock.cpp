#include "solocron/clock.hpp"

namespace solocron {

namespace {

class SystemClock final : public Clock {
 public:
  wall_time now() const override { return std::chrono::system_clock::now(); }
  steady_time steady_now() const override { return std::chrono::steady_clock::now(); }
  void wait_until(std::condition_variable_any& cv, std::unique_lock<std::mutex>& lock,
                  steady_time deadline) override {
    cv.wait_until(lock, deadline);
  }
};

}  // namespace

Clock& system_clock() {
  static SystemClock clock;
  return clock;
}

}  // namespace solocron
