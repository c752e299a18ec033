#include "http/http_call.hpp"

#include <httplib.h>

#include <cctype>
#include <stop_token>

#include "process/output_capture.hpp"

namespace solocron::detail {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Userinfo is percent-encoded (RFC 3986 3.2.1): a password may hold '@' or ':' as %40, %3A.
std::optional<std::string> percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    const int hi = hex_value(s[i + 1]);
    const int lo = hex_value(s[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

bool fail(std::string* error, std::string message) {
  if (error) *error = std::move(message);
  return false;
}

bool parse_port(std::string_view text, int& port, std::string* error) {
  if (text.empty() || text.size() > 5) return fail(error, "the port must be a number 1-65535");
  int p = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return fail(error, "the port must be a number 1-65535");
    p = p * 10 + (c - '0');
  }
  if (p < 1 || p > 65535) return fail(error, "the port must be a number 1-65535");
  port = p;
  return true;
}

// host, [v6] or host:port, [v6]:port
bool parse_authority_host(std::string_view hp, HttpUrl& u, std::string* error) {
  std::string_view port_text;
  if (!hp.empty() && hp.front() == '[') {
    const auto close = hp.find(']');
    if (close == std::string_view::npos) return fail(error, "an IPv6 address needs a closing ']'");
    u.host = std::string(hp.substr(1, close - 1));
    const std::string_view rest = hp.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return fail(error, "expected ':PORT' after the IPv6 address");
      port_text = rest.substr(1);
      if (!parse_port(port_text, u.port, error)) return false;
    }
  } else {
    const auto colon = hp.rfind(':');
    u.host = std::string(hp.substr(0, colon));
    if (colon != std::string_view::npos && !parse_port(hp.substr(colon + 1), u.port, error)) return false;
  }
  if (u.host.empty()) return fail(error, "the URL has no host (expected e.g. http://127.0.0.1:4000/jobs/report)");
  return true;
}

}  // namespace

std::string HttpUrl::host_port() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::string HttpUrl::origin() const { return scheme + "://" + host_port(); }

std::string HttpUrl::redacted() const {
  std::string userinfo;
  if (!user.empty() || !password.empty()) userinfo = user + (password.empty() ? "" : ":***") + "@";
  return scheme + "://" + userinfo + host_port() + target;
}

std::optional<HttpUrl> parse_http_url(const std::string& url, std::string* error) {
  for (unsigned char c : url) {
    if (c <= 0x20 || c == 0x7f) {
      fail(error, "the URL holds a space or a control character (percent-encode it, e.g. %20)");
      return std::nullopt;
    }
  }
  HttpUrl u;
  const auto sep = url.find("://");
  if (sep == std::string::npos) {
    fail(error, "expected an http:// or https:// URL such as http://127.0.0.1:4000/jobs/report");
    return std::nullopt;
  }
  u.scheme = url.substr(0, sep);
  for (char& c : u.scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (u.scheme != "http" && u.scheme != "https") {
    fail(error, "the scheme must be http or https");
    return std::nullopt;
  }
  u.port = u.scheme == "https" ? 443 : 80;
  std::string_view rest(url);
  rest.remove_prefix(sep + 3);
  if (const auto hash = rest.find('#'); hash != std::string_view::npos) rest = rest.substr(0, hash);
  const auto path_at = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, path_at);
  u.target = path_at == std::string_view::npos ? "/" : std::string(rest.substr(path_at));
  if (u.target.front() == '?') u.target.insert(0, "/");
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
    const std::string_view info = authority.substr(0, at);
    const auto colon = info.find(':');
    auto user = percent_decode(info.substr(0, colon));
    auto password = colon == std::string_view::npos ? std::optional<std::string>("")
                                                    : percent_decode(info.substr(colon + 1));
    if (!user || !password) {
      fail(error, "the user or password has a bad percent-escape (expected %XX)");
      return std::nullopt;
    }
    u.user = std::move(*user);
    u.password = std::move(*password);
    authority.remove_prefix(at + 1);
  }
  if (!parse_authority_host(authority, u, error)) return std::nullopt;
  return u;
}

namespace {
// RFC 9110 5.6.2 token characters: what a method and a header name are made of.
bool is_token(const std::string& s) {
  if (s.empty()) return false;
  for (unsigned char c : s) {
    if (std::isalnum(c) == 0 && std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}
}  // namespace

std::optional<std::string> http_method_error(const std::string& method) {
  if (is_token(method)) return std::nullopt;
  return "\"" + method + "\" is not an HTTP method (expected e.g. GET, POST, PUT)";
}

std::optional<std::string> http_header_name_error(const std::string& name) {
  if (is_token(name)) return std::nullopt;
  return "\"" + name + "\" is not an HTTP header name (letters, digits and !#$%&'*+-.^_`|~)";
}

// The value is not echoed: header values are where tokens live.
std::optional<std::string> http_header_value_error(const std::string& value) {
  for (unsigned char c : value) {
    if (c == '\r' || c == '\n' || c == 0) {
      return std::string("a header value may not hold a line break or NUL (it would start another header)");
    }
  }
  return std::nullopt;
}

std::optional<std::string> http_spec_error(const HttpSpec& spec) {
  std::string error;
  if (!parse_http_url(spec.url, &error)) return "http.url: " + error;
  if (auto e = http_method_error(spec.method)) return "http.method: " + *e;
  for (const auto& [k, v] : spec.headers) {
    if (auto e = http_header_name_error(k)) return "http.headers: " + *e;
    if (auto e = http_header_value_error(v)) return "http.headers." + k + ": " + *e;
  }
  if (spec.timeout.count() <= 0) return std::string("http.timeout must be positive");
  if (spec.success.empty()) return std::string("http.success is empty (expected e.g. [200-299])");
  for (const auto& [lo, hi] : spec.success) {
    if (lo < 100 || hi > 599 || lo > hi) {
      return "http.success: " + std::to_string(lo) + "-" + std::to_string(hi) +
             " is not a range of HTTP statuses within 100-599";
    }
  }
  return std::nullopt;
}

HttpOutcome call_http(const HttpSpec& spec,
                      const std::vector<std::pair<std::string, std::string>>& extra_headers,
                      std::size_t tail_bytes, std::stop_token stop) {
  HttpOutcome out;
  std::string error;
  const auto url = parse_http_url(spec.url, &error);
  if (!url) {
    out.error = "bad URL: " + error;
    return out;
  }
  httplib::Client cli(url->origin());
  const auto seconds = spec.timeout.count() / 1000;
  const auto usec = (spec.timeout.count() % 1000) * 1000;
  cli.set_connection_timeout(seconds, usec);
  cli.set_read_timeout(seconds, usec);
  cli.set_write_timeout(seconds, usec);
  cli.set_follow_location(false);  // a redirect is the application's answer, not a new target
  cli.set_keep_alive(false);
  if (!url->user.empty() || !url->password.empty()) cli.set_basic_auth(url->user, url->password);
  if (url->scheme == "https") {
    cli.enable_server_certificate_verification(true);
    if (!spec.ca_file.empty()) cli.set_ca_cert_path(spec.ca_file);
  }

  httplib::Request req;
  req.method = spec.method;
  req.path = url->target;
  for (const auto& [k, v] : spec.headers) req.headers.emplace(k, v);
  for (const auto& [k, v] : extra_headers) req.headers.emplace(k, v);
  req.body = spec.body;
  OutputTail tail(tail_bytes);
  req.content_receiver = [&](const char* data, std::size_t n, std::uint64_t, std::uint64_t) {
    tail.append(std::string_view(data, n));
    return !stop.stop_requested();
  };

  // A stop (timeout, shutdown, replace) shuts the socket down: a blocked read returns at once.
  std::stop_callback abort(stop, [&cli] { cli.stop(); });
  if (stop.stop_requested()) {
    out.error = "stopped before the request was sent";
    return out;
  }
  httplib::Response res;
  httplib::Error e = httplib::Error::Success;
  const bool sent = cli.send(req, res, e);
  if (!sent || stop.stop_requested()) {
    if (stop.stop_requested()) {
      out.error = "stopped while waiting for " + url->redacted();
    } else {
      out.error = httplib::to_string(e) + " (" + url->redacted() + ")";
    }
    out.body_tail = tail.take();
    return out;
  }
  out.responded = true;
  out.status = res.status;
  for (const auto& [lo, hi] : spec.success) out.success = out.success || (res.status >= lo && res.status <= hi);
  out.body_tail = tail.take();
  return out;
}

}  // namespace solocron::detail
