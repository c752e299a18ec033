// Files built into the binary (src/cli/openapi.json, src/cli/dashboard/*), so that a node
// serves its API document and its dashboard with nothing to install and nothing fetched.
#pragma once

#include <optional>
#include <string_view>

namespace solocron::cli {

// The contents of the file at `path` under src/cli/ ("dashboard/app.js"), if built in.
std::optional<std::string_view> asset(std::string_view path);

}  // namespace solocron::cli
