// The address of the node's HTTP endpoints (`node.http`, `--http`): "HOST:PORT" or ":PORT".
//
// Read in one place so that `check`, `run` and the server agree on what is valid.
#pragma once

#include <string>
#include <string_view>

#include "solocron/expected.hpp"

namespace solocron::detail {

struct HttpAddress {
  std::string host;  // "0.0.0.0" for ":PORT" (every interface); an IPv6 address without brackets
  int port = 0;      // 0: a free port, chosen when listening
};

// "127.0.0.1:9180", "localhost:9180", ":9180", "[::1]:9180"; the port is 0-65535.
Expected<HttpAddress, std::string> parse_http_address(std::string_view text);

}  // namespace solocron::detail
