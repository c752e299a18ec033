// A time zone as the engine uses it: the UTC-offset segments between its transitions.
//
// Inside one segment the offset is fixed, so the engine matches fields in local civil time and
// converts with a constant offset; only the segment edges (DST gaps and folds) need care. The
// transitions of 1970-2199 come from abseil's tz reader, which extends the listed transitions by
// the POSIX rule at the end of the tz file, so years after 2037 are right. Tables are built once
// per zone per process and shared by every schedule in that zone.
#pragma once

#include <absl/time/time.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace solocron::detail {

using std::chrono::sys_seconds;

struct ZoneTable {
  std::string name;
  absl::TimeZone tz;
  // Segment i runs from transitions[i-1] (or the distant past) to transitions[i] (or the
  // distant future) with offsets[i]; offsets has one entry more than transitions.
  std::vector<sys_seconds> transitions;
  std::vector<std::chrono::seconds> offsets;
  std::chrono::seconds min_offset{0};
  std::chrono::seconds max_offset{0};

  bool fixed() const { return transitions.empty(); }
  // Index of the segment containing instant t.
  std::size_t segment(sys_seconds t) const;
};

// The table for an IANA name, or nullptr when the system tz database does not know it.
std::shared_ptr<const ZoneTable> load_zone_table(const std::string& name);

}  // namespace solocron::detail
