// One HTTP request as a job's action: the URL's parts, and the call itself.
//
// The transport is cpp-httplib (OpenSSL for https). What is ours: which headers a run sends,
// that a response's body is kept only as its last bytes (a huge body cannot grow the node), that
// a stop request (timeout, shutdown, replace) aborts the request in flight, and that the URL's
// password never appears in a message.
#pragma once

#include <cstddef>
#include <optional>
#include <stop_token>
#include <string>
#include <utility>
#include <vector>

#include "solocron/job.hpp"

namespace solocron::detail {

struct HttpUrl {
  std::string scheme;  // http or https
  std::string user, password;
  std::string host;  // without brackets for IPv6
  int port = 0;
  std::string target;  // path and query, at least "/"
  std::string host_port() const;  // host:port, IPv6 in brackets
  // scheme://host:port, what the client connects to.
  std::string origin() const;
  // The URL as messages show it: the password masked.
  std::string redacted() const;
};

// Splits an http(s) URL; on failure the error says what was expected (never echoes a password).
std::optional<HttpUrl> parse_http_url(const std::string& url, std::string* error);

// What is wrong with one part of a request, for the config reader's positioned errors.
std::optional<std::string> http_method_error(const std::string& method);
std::optional<std::string> http_header_name_error(const std::string& name);
std::optional<std::string> http_header_value_error(const std::string& value);
// The first problem of a whole spec (library users), or nothing.
std::optional<std::string> http_spec_error(const HttpSpec& spec);

struct HttpOutcome {
  bool responded = false;  // a status line arrived
  int status = 0;
  bool success = false;  // status within the job's success ranges
  std::string body_tail;  // the body's last bytes (raw)
  std::string error;      // why no response (connection refused, TLS, timeout, stopped)
};

// Sends the request and waits for the whole response, or until `stop` is requested.
HttpOutcome call_http(const HttpSpec& spec, const std::vector<std::pair<std::string, std::string>>& extra_headers,
                      std::size_t tail_bytes, std::stop_token stop);

}  // namespace solocron::detail
