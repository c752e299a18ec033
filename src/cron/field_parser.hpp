// Parsing of one cron field (a comma list of items) into a bit mask and day extras.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cron/calendar.hpp"

namespace solocron::detail {

enum class FieldKind { second, minute, hour, day_of_month, month, day_of_week, year };

struct FieldRule {
  FieldKind kind;
  const char* name;  // as it appears in messages: "day-of-week"
  int min, max;
};

const FieldRule& field_rule(FieldKind kind);

// Mask of the plain values (bit v - offset, where offset is kFirstYear for the year field and
// 0 otherwise; day-of-week 7 is folded onto 0). Extras (L, W, #) go into `days`.
struct FieldBits {
  uint64_t mask = 0;
  std::vector<uint64_t> year_mask;  // only for the year field: 4 words
};

// Parses `text` (one field) for `rule`. On error returns the detail, e.g.
// "61 is out of range 0-23". Notes such as a step larger than its range go to `warnings`.
std::optional<std::string> parse_field(std::string_view text, const FieldRule& rule,
                                       FieldBits& bits, DaySpec& days,
                                       std::vector<std::string>& warnings);

}  // namespace solocron::detail
