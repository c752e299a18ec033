// Turning the bytes a job printed into text that every consumer of it accepts.
//
// A job's output is bytes: any value, any length, no encoding promised. Where it goes next is
// stricter: a PostgreSQL `text` column refuses NUL and invalid UTF-8, nlohmann::json throws on
// invalid UTF-8 when it dumps, and a terminal obeys ESC, CR and BEL. Two functions make the
// bytes safe once, at the boundary, so that nothing a job prints can fail a write, break JSON
// or rewrite the operator's screen:
//
// - storable_text(): valid UTF-8 without NUL, for the history record and JSON.
// - escape_for_log(): one line for the text log, with every control character spelled out.
#pragma once

#include <string>
#include <string_view>

namespace solocron::detail {

// Valid UTF-8 without NUL, and otherwise the bytes unchanged (valid input is returned as is).
//
// Each maximal invalid subsequence becomes one U+FFFD: the "substitution of maximal subparts"
// that Unicode recommends (chapter 3, U+FFFD substitution) and that browsers, Python's
// errors="replace" and nlohmann's error_handler_t::replace apply, so the stored text reads as
// any decoder would show the bytes. NUL becomes U+2400 (SYMBOL FOR NULL): PostgreSQL text
// cannot hold NUL, C strings end at it, and a visible stand-in keeps the fact that the job
// printed one (dropping it would hide that). The result is at most three times as long.
std::string storable_text(std::string_view bytes);

// One log line from arbitrary bytes: storable_text()'s replacement of invalid sequences, then
// every control character escaped so it cannot move the cursor, retitle a terminal or start
// a forged line: \0 \a \b \f \n \r \v \e by name, other C0 characters and DEL as \xHH, C1
// controls (U+0080-U+009F, which some terminals obey like ESC) as \u00HH. A tab stays a tab.
// A backslash stays as it is: the log is read by people, and JSON logs carry the exact text.
std::string escape_for_log(std::string_view bytes);

// The offset of the first byte of `bytes` that is not part of valid UTF-8, or npos.
std::size_t first_invalid_utf8(std::string_view bytes);

}  // namespace solocron::detail
