#include <gtest/gtest.h>

#include <thread>

#include "solocron/fake_clock.hpp"

namespace solocron {
namespace {

using namespace std::chrono_literals;

TEST(FakeClock, MovesOnlyWhenTold) {
  FakeClock c;
  const auto w = c.now();
  const auto s = c.steady_now();
  EXPECT_EQ(c.now(), w);
  c.advance(1500ms);
  EXPECT_EQ(c.now() - w, 1500ms);
  EXPECT_EQ(c.steady_now() - s, 1500ms);
}

TEST(FakeClock, StepWallLeavesSteadyAlone) {
  FakeClock c;
  const auto w = c.now();
  const auto s = c.steady_now();
  c.step_wall(-1h);
  EXPECT_EQ(c.now() - w, -1h);
  EXPECT_EQ(c.steady_now(), s);
  c.set_wall(w + 10s);
  EXPECT_EQ(c.now(), w + 10s);
  EXPECT_THROW(c.advance(-1s), std::invalid_argument);
}

TEST(FakeClock, WaitUntilReturnsAtOnceWhenDeadlinePassed) {
  FakeClock c;
  std::mutex m;
  std::condition_variable_any cv;
  std::unique_lock<std::mutex> lk(m);
  c.wait_until(cv, lk, c.steady_now());  // must not block
  EXPECT_TRUE(lk.owns_lock());
}

TEST(FakeClock, AdvanceWakesWaiterOnlyAtItsDeadline) {
  FakeClock c;
  std::mutex m;
  std::condition_variable_any cv;
  std::atomic<bool> woke{false};
  const auto deadline = c.steady_now() + 10s;
  std::thread t([&] {
    std::unique_lock<std::mutex> lk(m);
    while (c.steady_now() < deadline) c.wait_until(cv, lk, deadline);
    woke = true;
  });
  while (c.waiters() == 0) std::this_thread::yield();
  c.advance(9s);
  // The waiter is not due: it stays registered and blocked.
  EXPECT_EQ(c.waiters(), 1u);
  EXPECT_FALSE(woke);
  c.advance(1s);
  t.join();
  EXPECT_TRUE(woke);
  EXPECT_EQ(c.waiters(), 0u);
}

TEST(FakeClock, NotifyWakesWaiterEarly) {
  FakeClock c;
  std::mutex m;
  std::condition_variable_any cv;
  bool flag = false;
  std::thread t([&] {
    std::unique_lock<std::mutex> lk(m);
    while (!flag) c.wait_until(cv, lk, c.steady_now() + 1h);
  });
  while (c.waiters() == 0) std::this_thread::yield();
  {
    std::lock_guard<std::mutex> g(m);
    flag = true;
  }
  cv.notify_all();
  t.join();
  EXPECT_EQ(c.waiters(), 0u);
}

// Many short advances racing with waiters re-arming: no wake-up may be lost.
TEST(FakeClock, NoLostWakeups) {
  FakeClock c;
  std::mutex m;
  std::condition_variable_any cv;
  std::atomic<int> rounds{0};
  std::thread t([&] {
    std::unique_lock<std::mutex> lk(m);
    for (int i = 0; i < 2000; ++i) {
      const auto d = c.steady_now() + 1ms;
      while (c.steady_now() < d) c.wait_until(cv, lk, d);
      ++rounds;
    }
  });
  while (rounds < 2000) {
    c.advance(1ms);
    std::this_thread::yield();
  }
  t.join();
  EXPECT_EQ(rounds, 2000);
}

}  // namespace
}  // namespace solocron
