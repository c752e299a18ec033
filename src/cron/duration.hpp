// Durations as operators write them in configuration and read them in logs and errors:
// "30s", "1h30m", "500ms", "2d".
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "solocron/expected.hpp"

namespace solocron::detail {

// Accepts one or more <integer><unit> groups, units ms, s, m, h, d (largest first is not
// required). A bare "0" is zero. Returns a message saying what was expected otherwise.
Expected<std::chrono::milliseconds, std::string> parse_duration(std::string_view text);

// A form that parse_duration reads back to the same value: 90000ms -> "1m30s", 1500ms ->
// "1500ms" (negative durations, e.g. a clock step back, get a leading '-').
std::string format_duration(std::chrono::milliseconds d);

}  // namespace solocron::detail
