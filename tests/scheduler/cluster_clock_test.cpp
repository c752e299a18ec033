// The node's wall clock at a monotonic instant, read while the clock jumps.
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace solocron::detail
