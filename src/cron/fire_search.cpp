// Fire instants: the civil search of civil_search.cpp applied segment by segment of the zone's
// UTC offset, with the DST rules at the segment edges:
//  - gap (offset grows at S): a fixed-time schedule matching any skipped wall time fires once,
//    at S; an interval-like one has nothing there to match.
//  - fold (offset shrinks at S): wall times [S+new, S+old) come again after S; a fixed-time
//    schedule ignores that second pass, an interval-like one fires in it too.
// When a segment has no match, the search jumps straight to the segment of the next civil
// match instead of walking every transition in between.
#include <algorithm>
#include <limits>

#include "cron/schedule_impl.hpp"

namespace solocron::detail {
namespace {

using std::chrono::seconds;

constexpr seconds kOneSecond{1};
// Instants outside these bounds are outside the window in every zone.
constexpr sys_seconds kEarliest{kWindowStart.time_since_epoch() - seconds{2 * 86400}};
constexpr sys_seconds kLatest{kWindowEnd.time_since_epoch() + seconds{2 * 86400}};

local_seconds to_local(sys_seconds t, seconds offset) {
  return local_seconds{t.time_since_epoch() + offset};
}
sys_seconds to_sys(local_seconds t, seconds offset) {
  return sys_seconds{t.time_since_epoch() - offset};
}

// One offset segment of a zone: [start, end) with `offset`, entered from `prev_offset`.
struct Segment {
  std::size_t index;
  bool has_start, has_end;
  sys_seconds start, end;
  seconds offset, prev_offset;
};

Segment segment_at(const ZoneTable& z, std::size_t i) {
  Segment g{i, i > 0, i < z.transitions.size(), {}, {}, z.offsets[i], z.offsets[i]};
  if (g.has_start) {
    g.start = z.transitions[i - 1];
    g.prev_offset = z.offsets[i - 1];
  }
  if (g.has_end) g.end = z.transitions[i];
  return g;
}

std::optional<sys_seconds> every_next(const ScheduleImpl& s, sys_seconds after) {
  after = std::max(after, sys_seconds{kWindowStart.time_since_epoch()} - kOneSecond);
  const auto k = (after - s.anchor) / s.every;  // rounds toward zero
  auto t = s.anchor + s.every * k;
  while (t <= after) t += s.every;
  while (t - s.every > after) t -= s.every;
  if (t < sys_seconds{kWindowStart.time_since_epoch()} || t >= sys_seconds{kWindowEnd.time_since_epoch()})
    return std::nullopt;
  return t;
}

std::optional<sys_seconds> every_prev(const ScheduleImpl& s, sys_seconds before) {
  before = std::min(before, sys_seconds{kWindowEnd.time_since_epoch()});
  const auto k = (before - s.anchor) / s.every;
  auto t = s.anchor + s.every * k;
  while (t >= before) t -= s.every;
  while (t + s.every < before) t += s.every;
  if (t < sys_seconds{kWindowStart.time_since_epoch()} || t >= sys_seconds{kWindowEnd.time_since_epoch()})
    return std::nullopt;
  return t;
}

}  // namespace

std::optional<sys_seconds> next_fire(const ScheduleImpl& s, sys_seconds after) {
  if (after >= kLatest) return std::nullopt;
  if (s.kind == ScheduleKind::every) return every_next(s, after);
  if (s.kind != ScheduleKind::cron) return std::nullopt;
  sys_seconds u = std::max(after + kOneSecond, kEarliest);
  const ZoneTable& z = *s.zone;
  if (z.fixed()) {
    auto c = find_first(s, to_local(u, z.offsets[0]));
    if (!c) return std::nullopt;
    return to_sys(*c, z.offsets[0]);
  }
  const bool fixed_time = !s.interval_like;
  Segment g = segment_at(z, z.segment(u));
  for (;;) {
    const seconds o = g.offset, op = g.prev_offset;
    std::optional<local_seconds> c;
    if (g.has_start && u == g.start && fixed_time && o > op) {
      // Entering a gap edge: any match among the skipped wall times fires at the edge.
      c = find_first(s, to_local(g.start, op));
      if (c && *c < to_local(g.start, o)) return g.start;
    } else {
      local_seconds lo = to_local(u, o);
      if (g.has_start && fixed_time && op > o) lo = std::max(lo, to_local(g.start, op));
      c = find_first(s, lo);
    }
    if (c && (!g.has_end || *c < to_local(g.end, o))) return to_sys(*c, o);
    if (!g.has_end) return std::nullopt;
    // The next segment's wall times may start below where this search began (a fold right
    // after u): then they have not been searched yet, so step into it.
    const seconds next_o = z.offsets[g.index + 1];
    const bool unsearched = to_local(g.end, std::min(o, next_o)) < to_local(u, o);
    if (!c && !unsearched) return std::nullopt;
    std::size_t j = g.index + 1;
    if (c && !unsearched) j = std::max(j, z.segment(to_sys(*c, z.max_offset)));
    g = segment_at(z, j);
    u = g.start;
  }
}

std::optional<sys_seconds> prev_fire(const ScheduleImpl& s, sys_seconds before) {
  if (before <= kEarliest) return std::nullopt;
  if (s.kind == ScheduleKind::every) return every_prev(s, before);
  if (s.kind != ScheduleKind::cron) return std::nullopt;
  sys_seconds u = std::min(before - kOneSecond, kLatest);
  const ZoneTable& z = *s.zone;
  if (z.fixed()) {
    auto c = find_last(s, to_local(u, z.offsets[0]));
    if (!c) return std::nullopt;
    return to_sys(*c, z.offsets[0]);
  }
  const bool fixed_time = !s.interval_like;
  Segment g = segment_at(z, z.segment(u));
  for (;;) {
    const seconds o = g.offset, op = g.prev_offset;
    const local_seconds hi = to_local(u, o);
    auto c = find_last(s, hi);
    if (!g.has_start) {
      if (!c) return std::nullopt;
      return to_sys(*c, o);
    }
    // Wall times before `low` belong to the previous segment (or, in a fold, are the second
    // pass that fixed-time schedules skip).
    const local_seconds low = to_local(g.start, fixed_time && op > o ? op : o);
    if (c && *c >= low) return to_sys(*c, o);
    if (c && fixed_time && o > op && *c >= to_local(g.start, op)) return g.start;  // gap fire
    // In a fold the previous segment's wall times reach above `hi`: not searched yet.
    const bool unsearched = to_local(g.start, op) - kOneSecond > hi;
    if (!c && !unsearched) return std::nullopt;
    std::size_t j = g.index - 1;
    if (c && !unsearched) j = std::min(j, z.segment(to_sys(*c, z.min_offset)));
    g = segment_at(z, j);
    u = g.end - kOneSecond;
  }
}

}  // namespace solocron::detail
