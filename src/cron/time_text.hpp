// Reading instants from text for the CLI's --from: RFC 3339 with an offset or Z, or a wall time
// without offset read in a zone (ambiguous: the earlier instant; nonexistent: an error).
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "solocron/expected.hpp"

namespace solocron::detail {

struct ParsedTime {
  std::chrono::sys_seconds seconds;  // the instant, rounded down to a whole second
  bool fractional = false;           // true when the text had a non-zero fraction of a second
};

// `zone` is the IANA name used when the text has no offset. Errors quote the text.
Expected<ParsedTime, std::string> parse_time_text(std::string_view text, const std::string& zone);

}  // namespace solocron::detail
