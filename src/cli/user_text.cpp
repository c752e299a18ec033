#include "cli/user_text.hpp"

#include <cstdio>

#include "process/output_text.hpp"
#include "store/redact.hpp"

namespace solocron::cli {

std::string text_line(std::string_view text) {
  return detail::escape_for_log(detail::redact_secrets(text));
}

std::string json_text(std::string_view text) {
  return detail::storable_text(detail::redact_secrets(text));
}

void print_error(std::string_view message) {
  std::fprintf(stderr, "error: %s\n", text_line(message).c_str());
}

void print_warning(std::string_view message) {
  std::fprintf(stderr, "warning: %s\n", text_line(message).c_str());
}

namespace {

// JSON escapes the C0 controls itself but leaves DEL and the C1 controls (U+0080-U+009F, e.g.
// CSI) raw, and some terminals obey those. They can only be inside strings (everything
// structural is ASCII), where \u escapes mean the same: the JSON is unchanged for a parser.
std::string escape_terminal_controls(std::string json) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(json.size());
  for (std::size_t i = 0; i < json.size(); ++i) {
    const auto b = static_cast<unsigned char>(json[i]);
    const auto next = i + 1 < json.size() ? static_cast<unsigned char>(json[i + 1]) : 0;
    if (b == 0x7F) {
      out += "\\u007f";
    } else if (b == 0xC2 && next >= 0x80 && next <= 0x9F) {
      out += "\\u00";
      out += kHex[next >> 4];
      out += kHex[next & 15];
      ++i;
    } else {
      out += json[i];
    }
  }
  return out;
}

}  // namespace

std::string dump_json(const nlohmann::json& value, int indent) {
  return escape_terminal_controls(value.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace));
}

std::string dump_json(const nlohmann::ordered_json& value, int indent) {
  return escape_terminal_controls(
      value.dump(indent, ' ', false, nlohmann::ordered_json::error_handler_t::replace));
}

}  // namespace solocron::cli
