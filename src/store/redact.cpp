#include "store/redact.hpp"

#include <array>
#include <cctype>

namespace solocron::detail {
namespace {

bool is_scheme_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.';
}

// Characters that end a URL in running text. Not '/', '?' or '#': libpq takes everything up to
// the first '@' or '/' as the userinfo, so a password may hold a raw '?' or '#', and a raw '/'
// makes the rest of the URL unparseable but no less secret.
bool ends_url(char c) {
  return c == '"' || c == '\'' || c == '<' || c == '>' || c == '`' ||
         std::isspace(static_cast<unsigned char>(c));
}

bool ends_bare_value(char c) {
  return c == '&' || c == '#' || c == ',' || c == ';' || c == '"' || c == '\'' ||
         std::isspace(static_cast<unsigned char>(c));
}

bool iequals_suffix(std::string_view text, std::size_t end, std::string_view word) {
  if (end < word.size()) return false;
  for (std::size_t i = 0; i < word.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[end - word.size() + i])) != word[i]) {
      return false;
    }
  }
  return true;
}

// Masks the password of each "scheme://user:password@" in place: from the first ':' after
// "://" (when it comes before any '/') to the last '@' of the URL. That over-masks a URL with
// a port and an '@' further on (https://h:8080/a@b), which is the safe side to err on.
void redact_userinfo(std::string& s) {
  for (std::size_t at = s.find("://"); at != std::string::npos; at = s.find("://", at + 3)) {
    if (at == 0 || !is_scheme_char(s[at - 1])) continue;
    const std::size_t start = at + 3;
    std::size_t end = start;
    while (end < s.size() && !ends_url(s[end])) ++end;
    const std::size_t last_at = s.rfind('@', end == start ? start : end - 1);
    if (last_at == std::string::npos || last_at < start) continue;
    const std::size_t colon = s.find(':', start);
    const std::size_t slash = s.find('/', start);
    if (colon >= last_at || colon > slash || colon + 1 == last_at) continue;
    s.replace(colon + 1, last_at - colon - 1, kRedacted);
  }
}

// The end of the value that starts at `pos` (after "password=").
std::size_t value_end(const std::string& s, std::size_t pos) {
  if (pos < s.size() && (s[pos] == '\'' || s[pos] == '"')) {
    const char quote = s[pos];
    std::size_t i = pos + 1;
    while (i < s.size() && s[i] != quote) i += (s[i] == '\\' && i + 1 < s.size()) ? 2 : 1;
    return std::min(i + 1, s.size());
  }
  std::size_t i = pos;
  while (i < s.size() && !ends_bare_value(s[i])) ++i;
  return i;
}

// Masks the value of each "...password=value" / "...passwd: value" in place.
void redact_key_values(std::string& s) {
  constexpr std::array<std::string_view, 2> kKeys = {"password", "passwd"};
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '=' && s[i] != ':') continue;
    std::size_t key_end = i;
    while (key_end > 0 && s[key_end - 1] == ' ') --key_end;  // "password = x"
    if (key_end > 0 && (s[key_end - 1] == '"' || s[key_end - 1] == '\'')) --key_end;  // JSON
    bool is_key = false;
    for (std::string_view key : kKeys) is_key |= iequals_suffix(s, key_end, key);
    if (!is_key) continue;
    std::size_t v = i + 1;
    while (v < s.size() && s[v] == ' ') ++v;
    if (s.compare(v, kRedacted.size(), kRedacted) == 0) continue;  // masked already
    const std::size_t end = value_end(s, v);
    if (end == v) continue;
    const bool quoted = s[v] == '\'' || s[v] == '"';
    const std::string mask = quoted ? std::string(1, s[v]) + std::string(kRedacted) +
                                          std::string(1, s[v])
                                    : std::string(kRedacted);
    s.replace(v, end - v, mask);
    i = v + mask.size() - 1;
  }
}

}  // namespace

std::string redact_secrets(std::string_view text) {
  std::string out(text);
  redact_userinfo(out);
  redact_key_values(out);
  return out;
}

}  // namespace solocron::detail
