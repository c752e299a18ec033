#include "config/http_address.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace solocron::detail {
namespace {

bool is_host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_';
}

std::string expected(std::string_view text) {
  return "\"" + std::string(text) + "\" is not HOST:PORT (expected e.g. 127.0.0.1:9180 or :9180)";
}

}  // namespace

Expected<HttpAddress, std::string> parse_http_address(std::string_view text) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos) return Unexpected{expected(text)};
  std::string_view host = text.substr(0, colon), port = text.substr(colon + 1);
  if (host.starts_with('[')) {
    if (!host.ends_with(']') || host.size() < 3) return Unexpected{expected(text)};
    host = host.substr(1, host.size() - 2);
    if (!std::all_of(host.begin(), host.end(), [](char c) {
          return c == ':' || c == '.' || std::isxdigit(static_cast<unsigned char>(c));
        })) {
      return Unexpected{expected(text)};
    }
  } else if (!std::all_of(host.begin(), host.end(), is_host_char)) {
    return Unexpected{expected(text)};
  }
  int value = -1;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || end != port.data() + port.size() || (ec != std::errc() && ec != std::errc::result_out_of_range)) {
    return Unexpected{expected(text)};
  }
  if (ec == std::errc::result_out_of_range || value < 0 || value > 65535) {
    return Unexpected{"port " + std::string(port) + " of \"" + std::string(text) +
                      "\" is out of range 0-65535 (0 picks a free port)"};
  }
  return HttpAddress{host.empty() ? "0.0.0.0" : std::string(host), value};
}

}  // namespace solocron::detail
