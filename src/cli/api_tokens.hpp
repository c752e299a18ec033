// The HTTP API's bearer tokens: the file `node.api_tokens_file`, one `ROLE NAME TOKEN` per line
// (`read` or `operate`; blank lines and `#` comments ignored), and the lookup of a presented
// token. A token is a secret: no message, log line or error built here ever contains one (a
// bad line is reported by its position and the field that is wrong, never its text).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "solocron/expected.hpp"

namespace solocron::cli {

enum class ApiRole { read, operate };

struct ApiPrincipal {
  ApiRole role = ApiRole::read;
  std::string name;  // recorded as who asked
};

class ApiTokens {
 public:
  // Reads and checks the whole file: any bad line rejects it ("FILE:LINE:COLUMN: ..."), so a
  // typo never leaves a token silently unusable or a role wider than meant.
  static Expected<ApiTokens, std::string> load(const std::string& path);
  static Expected<ApiTokens, std::string> parse(std::string_view text, const std::string& file);

  // The holder of `token`. Every entry is compared, each in time independent of where the
  // bytes differ, so the answer's timing says nothing about how close a guess was.
  std::optional<ApiPrincipal> find(std::string_view token) const;
  std::size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    ApiPrincipal principal;
    std::string token;
  };
  std::vector<Entry> entries_;
};

// node.api_tokens_file as given in `config_file`: a relative path is the file's neighbour (as
// Prometheus reads its rule files).
std::string tokens_path_in(const std::string& configured, const std::string& config_file);

// Who else may read the file ("group", "others"), for a warning; nullopt when only its owner.
std::optional<std::string> readable_by_others(const std::string& path);

}  // namespace solocron::cli
