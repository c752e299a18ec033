#include "process/output_text.hpp"

#include <cstdint>

namespace solocron::detail {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD
constexpr std::string_view kSymbolForNull = "\xE2\x90\x80";  // U+2400

// One step of a UTF-8 decoder: the character at the front of `s`, or the length of the
// maximal invalid subsequence there (a prefix of a valid sequence that breaks off, or a
// single byte that cannot start one).
struct Step {
  std::size_t length;
  bool valid;
  std::uint32_t code_point;
};

Step decode(std::string_view s) {
  const auto b0 = static_cast<unsigned char>(s[0]);
  if (b0 < 0x80) return {1, true, b0};
  std::size_t need;
  unsigned char lo = 0x80, hi = 0xBF;  // the range allowed for the second byte
  std::uint32_t cp;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 1, cp = b0 & 0x1F;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 2, cp = b0 & 0x0F;
    if (b0 == 0xE0) lo = 0xA0;  // no overlong forms
    if (b0 == 0xED) hi = 0x9F;  // no surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 3, cp = b0 & 0x07;
    if (b0 == 0xF0) lo = 0x90;  // no overlong forms
    if (b0 == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
  } else {
    return {1, false, 0};  // a continuation byte, C0/C1 (overlong) or F5..FF
  }
  std::size_t i = 1;
  for (; i <= need; ++i) {
    if (i >= s.size()) return {i, false, 0};
    const auto b = static_cast<unsigned char>(s[i]);
    if (b < (i == 1 ? lo : 0x80) || b > (i == 1 ? hi : 0xBF)) return {i, false, 0};
    cp = cp << 6 | (b & 0x3F);
  }
  return {i, true, cp};
}

void append_hex(std::string& out, const char* prefix, std::uint32_t value, int digits) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += prefix;
  for (int shift = 4 * (digits - 1); shift >= 0; shift -= 4) out += kHex[(value >> shift) & 0xF];
}

// Appends the escape of control character `cp`, or returns false if it is not one.
bool append_escape(std::string& out, std::uint32_t cp) {
  switch (cp) {
    case 0x00: out += "\\0"; return true;
    case 0x07: out += "\\a"; return true;
    case 0x08: out += "\\b"; return true;
    case 0x0A: out += "\\n"; return true;
    case 0x0B: out += "\\v"; return true;
    case 0x0C: out += "\\f"; return true;
    case 0x0D: out += "\\r"; return true;
    case 0x1B: out += "\\e"; return true;
    case 0x09: return false;  // a tab only moves to the next column
    default: break;
  }
  if (cp < 0x20 || cp == 0x7F) {
    append_hex(out, "\\x", cp, 2);
    return true;
  }
  if (cp >= 0x80 && cp <= 0x9F) {
    append_hex(out, "\\u", cp, 4);
    return true;
  }
  return false;
}

// Walks `bytes` once: `on_char` decides about each valid character, invalid runs become U+FFFD.
template <class OnChar>
std::string transform(std::string_view bytes, OnChar on_char) {
  std::string out;
  out.reserve(bytes.size());
  while (!bytes.empty()) {
    const Step step = decode(bytes);
    if (!step.valid) {
      out += kReplacement;
    } else if (!on_char(out, step.code_point)) {
      out.append(bytes.substr(0, step.length));
    }
    bytes.remove_prefix(step.length);
  }
  return out;
}

}  // namespace

std::string storable_text(std::string_view bytes) {
  return transform(bytes, [](std::string& out, std::uint32_t cp) {
    if (cp != 0) return false;
    out += kSymbolForNull;
    return true;
  });
}

std::string escape_for_log(std::string_view bytes) { return transform(bytes, append_escape); }

std::size_t first_invalid_utf8(std::string_view bytes) {
  for (std::size_t at = 0; at < bytes.size();) {
    const Step step = decode(bytes.substr(at));
    if (!step.valid) return at;
    at += step.length;
  }
  return std::string_view::npos;
}

}  // namespace solocron::detail
