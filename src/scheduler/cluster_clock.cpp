#include "scheduler/cluster_clock.hpp"

namespace solocron::detail {

using std::chrono::nanoseconds;

namespace {
std::int64_t ns_of(Clock::steady_time s) {
  return std::chrono::duration_cast<nanoseconds>(s.time_since_epoch()).count();
}
std::int64_t ns_of(Clock::wall_time w) {
  return std::chrono::duration_cast<nanoseconds>(w.time_since_epoch()).count();
}
// Readings further apart than this are taken again (a few times at most: on a real clock
// they are some 50 ns apart unless the thread was preempted).
constexpr auto kPairedReads = std::chrono::milliseconds(1);
// Successive measurements differ by up to a millisecond with no change of either clock: every
// backend floors the store's clock to the millisecond (StoreTime), and round trips are not
// symmetric. Taken as they come, the estimate jumps that much at every heartbeat and a fire
// lands anywhere in that millisecond. Changes smaller than this are averaged (an eighth of each,
// as NTP filters its samples); larger ones are a step, taken whole. Each floored sample is at
// or behind the store's clock, so their average is too: the node never fires early by the
// store's clock (a claim made early is refused, too_early, and costs a retry), and fires about
// half a millisecond after the instant, steadily.
constexpr std::int64_t kSmoothedBelow_ns = 3'000'000;
constexpr std::int64_t kSmoothing = 8;
}  // namespace

Clock::wall_time wall_at(const Clock& clock, Clock::steady_time s) {
  for (int attempt = 0;; ++attempt) {
    const auto before = clock.steady_now();
    const auto wall = clock.now();
    const auto after = clock.steady_now();
    if (after - before < kPairedReads || attempt == 3) {
      return wall + std::chrono::duration_cast<Clock::wall_time::duration>(s - before);
    }
  }
}

ClusterClock::WallTime ClusterClock::at(SteadyTime s) const {
  if (!measured()) return wall_at(clock_, s);  // unmeasured: the node's own wall clock
  const std::int64_t t = ns_of(s) + offset_ns_.load(std::memory_order_acquire);
  return WallTime(std::chrono::duration_cast<WallTime::duration>(nanoseconds(t)));
}

ClusterClock::SteadyTime ClusterClock::steady_at(WallTime t) const {
  const SteadyTime now = clock_.steady_now();
  return now + std::chrono::duration_cast<SteadyTime::duration>(t - at(now));
}

std::chrono::milliseconds ClusterClock::measure(SteadyTime sent, SteadyTime received,
                                                StoreTime store, WallTime wall) {
  const std::int64_t mid = ns_of(sent) + (ns_of(received) - ns_of(sent)) / 2;
  const std::int64_t offset = ns_of(store) - mid;
  const bool before = measured();
  const std::int64_t previous = offset_ns_.load(std::memory_order_acquire);
  const bool small = before && offset - previous < kSmoothedBelow_ns && previous - offset < kSmoothedBelow_ns;
  offset_ns_.store(small ? previous + (offset - previous) / kSmoothing : offset, std::memory_order_release);
  measured_.store(true, std::memory_order_release);
  wall_offset_ms_.store((ns_of(wall) - ns_of(store)) / 1'000'000, std::memory_order_relaxed);
  if (!before) return std::chrono::milliseconds(0);
  return std::chrono::duration_cast<std::chrono::milliseconds>(nanoseconds(offset - previous));
}

}  // namespace solocron::detail
