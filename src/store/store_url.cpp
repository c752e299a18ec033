#include "store/store_url.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <charconv>
#include <set>
#include <vector>

#include "store/redact.hpp"

namespace solocron::detail {
namespace {

constexpr std::string_view kExpected = "expected memory:, sqlite:PATH or postgres://...";

std::string quoted(std::string_view url) { return "\"" + redact_secrets(url) + "\""; }

std::optional<std::string> problem(std::string_view url, const std::string& what) {
  return "store " + quoted(url) + ": " + what;
}

// The connection parameters the linked libpq knows: its own list, so that this check and the
// library that reads the URL cannot drift apart.
const std::set<std::string, std::less<>>& libpq_keywords() {
  static const std::set<std::string, std::less<>> keywords = [] {
    std::set<std::string, std::less<>> out;
    if (PQconninfoOption* opts = PQconninfoParse("", nullptr)) {
      for (auto* o = opts; o->keyword != nullptr; ++o) out.insert(o->keyword);
      PQconninfoFree(opts);
    }
    return out;
  }();
  return keywords;
}

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// libpq refuses a '%' not followed by two hex digits, and %00.
bool valid_percent_encoding(std::string_view s) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') continue;
    if (i + 2 >= s.size() || !is_hex(s[i + 1]) || !is_hex(s[i + 2])) return false;
    if (s[i + 1] == '0' && s[i + 2] == '0') return false;
    i += 2;
  }
  return true;
}

std::optional<std::string> port_error(std::string_view port) {
  int value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size()) {
    if (ec == std::errc::result_out_of_range) return "port " + std::string(port) + " is out of range 1-65535";
    return "port \"" + std::string(port) + "\" is not a number (expected 1-65535)";
  }
  if (value < 1 || value > 65535) return "port " + std::string(port) + " is out of range 1-65535";
  return std::nullopt;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for (;;) {
    const auto at = s.find(sep);
    out.push_back(s.substr(0, at));
    if (at == std::string_view::npos) return out;
    s.remove_prefix(at + 1);
  }
}

// One "host[:port]" or "[v6]:port" of the host list.
std::optional<std::string> host_error(std::string_view spec) {
  std::string_view port;
  if (spec.starts_with('[')) {
    const auto close = spec.find(']');
    if (close == std::string_view::npos) return "IPv6 host \"" + std::string(spec) + "\" lacks its ']'";
    std::string_view rest = spec.substr(close + 1);
    if (rest.empty()) return std::nullopt;
    if (!rest.starts_with(':')) return "unexpected \"" + std::string(rest) + "\" after the IPv6 host";
    port = rest.substr(1);
  } else {
    const auto colon = spec.find(':');
    if (colon == std::string_view::npos) return std::nullopt;
    port = spec.substr(colon + 1);
  }
  if (port.empty()) return "missing port number after ':' (expected 1-65535)";
  return port_error(port);
}

std::optional<std::string> query_error(std::string_view query) {
  static const std::set<std::string_view> kSslModes = {"disable", "allow", "prefer", "require",
                                                       "verify-ca", "verify-full"};
  for (std::string_view param : split(query, '&')) {
    const auto eq = param.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      return "query parameter \"" + redact_secrets(param) + "\" is not NAME=VALUE";
    }
    const std::string_view name = param.substr(0, eq), value = param.substr(eq + 1);
    if (name == "ssl" && value == "true") continue;  // libpq's alias for sslmode=require
    if (!libpq_keywords().contains(name)) {
      return "unknown query parameter \"" + std::string(name) +
             "\" (expected a libpq connection parameter such as sslmode, connect_timeout, "
             "application_name)";
    }
    if (!valid_percent_encoding(value)) {
      return "query parameter " + std::string(name) + " has an invalid percent-encoding (expected %XX)";
    }
    if (name == "sslmode" && !kSslModes.contains(value)) {
      return "sslmode \"" + std::string(value) +
             "\" is not one of: disable, allow, prefer, require, verify-ca, verify-full";
    }
    if (name == "port") {
      for (std::string_view p : split(value, ',')) {
        if (auto e = port_error(p)) return e;
      }
    }
    if (name == "connect_timeout" &&
        (value.empty() || !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; }))) {
      return "connect_timeout \"" + std::string(value) + "\" is not a whole number of seconds";
    }
  }
  return std::nullopt;
}

// After "postgres://", in libpq's order: userinfo up to the first '@' before any '/', the host
// list up to '/' or '?', the database up to '?', then the query.
std::optional<std::string> postgres_error(std::string_view rest) {
  const auto at = rest.find_first_of("@/");
  if (at != std::string_view::npos && rest[at] == '@') {
    const std::string_view userinfo = rest.substr(0, at);
    const auto colon = userinfo.find(':');
    if (!valid_percent_encoding(userinfo.substr(0, colon))) {
      return std::string("the user name has an invalid percent-encoding (expected %XX)");
    }
    if (colon != std::string_view::npos && !valid_percent_encoding(userinfo.substr(colon + 1))) {
      return std::string("the password has an invalid percent-encoding (expected %XX)");
    }
    rest.remove_prefix(at + 1);
  }
  const auto hosts_end = rest.find_first_of("/?");
  for (std::string_view host : split(rest.substr(0, hosts_end), ',')) {
    if (!valid_percent_encoding(host)) return "host \"" + std::string(host) + "\" has an invalid percent-encoding";
    if (auto e = host_error(host)) return e;
  }
  if (hosts_end == std::string_view::npos) return std::nullopt;
  rest.remove_prefix(hosts_end);
  const auto query_at = rest.find('?');
  if (rest.starts_with('/') && !valid_percent_encoding(rest.substr(1, query_at - 1))) {
    return std::string("the database name has an invalid percent-encoding (expected %XX)");
  }
  if (query_at == std::string_view::npos || query_at + 1 == rest.size()) return std::nullopt;
  return query_error(rest.substr(query_at + 1));
}

// libpq has the last word: anything it would refuse that the checks above let through.
std::optional<std::string> libpq_error(const std::string& url) {
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(url.c_str(), &err);
  if (opts != nullptr) {
    PQconninfoFree(opts);
    return std::nullopt;
  }
  std::string why = err != nullptr ? err : "cannot parse";
  PQfreemem(err);
  while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
  return redact_secrets(why);
}

std::optional<std::string> sqlite_error(std::string_view rest) {
  if (rest.starts_with("//")) {
    rest.remove_prefix(2);
    if (!rest.starts_with('/')) return std::string("expected sqlite:///absolute/path or sqlite:relative/path");
  }
  if (rest.empty()) return std::string("missing the file name (expected e.g. sqlite:solocron.db)");
  if (rest.ends_with('/')) return std::string("the path names a directory, not a file");
  return std::nullopt;
}

}  // namespace

std::optional<std::string> store_url_error(std::string_view url) {
  if (url.empty()) return "the store URL is empty (" + std::string(kExpected) + ")";
  if (std::any_of(url.begin(), url.end(), [](char c) {
        return static_cast<unsigned char>(c) < 0x20 || c == 0x7F;
      })) {
    return std::string("the store URL contains a control character");
  }
  if (url == "memory:" || url == "memory://") return std::nullopt;
  if (url.starts_with("memory:")) return problem(url, "memory: takes nothing after the colon");
  if (url.starts_with("sqlite:")) {
    if (auto e = sqlite_error(url.substr(7))) return problem(url, *e);
    return std::nullopt;
  }
  for (std::string_view scheme : {"postgres://", "postgresql://"}) {
    if (!url.starts_with(scheme)) continue;
    if (auto e = postgres_error(url.substr(scheme.size()))) return problem(url, *e);
    if (auto e = libpq_error(std::string(url))) return problem(url, *e);
    return std::nullopt;
  }
  const auto colon = url.find(':');
  if (colon == std::string_view::npos || colon == 0) {
    return problem(url, "not a URL (" + std::string(kExpected) + ")");
  }
  return problem(url, "unknown scheme \"" + redact_secrets(url.substr(0, colon)) + "\" (" +
                          std::string(kExpected) + ")");
}

}  // namespace solocron::detail
