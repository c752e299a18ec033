// The node's wall clock at a monotonic instant, read while the clock jumps.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>

#include "scheduler/cluster_clock.hpp"
#include "solocron/fake_clock.hpp"

namespace solocron::detail {
namespace {

using namespace std::chrono_literals;

// A FakeClock that jumps ten minutes (both clocks, as a resumed VM's) right after the first
// reading of its wall clock: between the two reads of a pair.
class JumpingClock : public Clock {
 public:
  wall_time now() const override {
    const wall_time w = fake.now();
    if (!jumped) {
      jumped = true;
      fake.advance(10min);
    }
    return w;
  }
  steady_time steady_now() const override { return fake.steady_now(); }
  void wait_until(std::condition_variable_any& cv, std::unique_lock<std::mutex>& lock,
                  steady_time deadline) override {
    fake.wait_until(cv, lock, deadline);
  }
  mutable FakeClock fake;
  mutable bool jumped = false;
};

TEST(WallAt, APairTornByAJumpIsReadAgain) {
  JumpingClock clock;
  const auto at = clock.fake.steady_now();
  const auto start = clock.fake.now();
  const auto wall = wall_at(clock, at);
  ASSERT_TRUE(clock.jumped);
  // The wall clock and the monotonic one moved together: at `at` it still read `start`.
  EXPECT_EQ(wall, start);
}

TEST(WallAt, TheUnmeasuredClusterClockIsTheWallClock) {
  JumpingClock clock;
  const auto start = clock.fake.now();
  const auto at = clock.fake.steady_now() + 5s;
  ClusterClock cluster(clock);
  EXPECT_EQ(cluster.at(at), start + 5s);
}

// The store's clock exactly 7.3 ms ahead of the node's monotonic clock, read floored to the
// millisecond as every backend returns it, over round trips of different lengths.
TEST(ClusterClock, FlooredReadingsAreAveragedNeverAhead) {
  FakeClock clock;
  ClusterClock cluster(clock);
  const auto true_offset = std::chrono::microseconds(7300);
  auto store_at = [&](Clock::steady_time s) {
    const auto wall = clock.now() + (s - clock.steady_now()) + true_offset;
    return std::chrono::floor<std::chrono::milliseconds>(wall);
  };
  auto error_us = [&] {
    const auto s = clock.steady_now();
    return std::chrono::duration_cast<std::chrono::microseconds>(cluster.at(s) - (clock.now() + true_offset)).count();
  };
  std::int64_t lowest_us = 0, highest_us = -1'000'000;  // once settled
  for (int i = 0; i < 60; ++i) {
    const auto sent = clock.steady_now();
    clock.advance(std::chrono::microseconds(137 * (i % 5)));  // the store reads here...
    const auto read = clock.steady_now();
    clock.advance(std::chrono::microseconds(137 * (i % 5)));  // ...halfway back
    cluster.measure(sent, clock.steady_now(), store_at(read), clock.now());
    clock.advance(std::chrono::microseconds(1000 + 211 * i));  // heartbeats a little apart
    if (i >= 30) {
      lowest_us = std::min(lowest_us, error_us());
      highest_us = std::max(highest_us, error_us());
    }
  }
  // Never ahead of the store's clock (a fire is never early), within a millisecond behind it,
  // and steady: one floored reading is anywhere in that millisecond, averaged they are not.
  EXPECT_LE(highest_us, 0);
  EXPECT_GE(lowest_us, -1000);
  EXPECT_LE(highest_us - lowest_us, 300);
}

TEST(ClusterClock, AStepOfTheStoresClockIsTakenWhole) {
  FakeClock clock;
  ClusterClock cluster(clock);
  auto measure_with = [&](std::chrono::milliseconds ahead) {
    const auto s = clock.steady_now();
    cluster.measure(s, s, std::chrono::floor<std::chrono::milliseconds>(clock.now() + ahead), clock.now());
  };
  measure_with(0ms);
  measure_with(2s);
  const auto error = cluster.at(clock.steady_now()) - (clock.now() + 2s);
  EXPECT_LE(std::chrono::abs(error), 1ms);
}

}  // namespace
}  // namespace solocron::detail
