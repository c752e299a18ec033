// The web dashboard (src/cli/dashboard/): a page over the HTTP API, served from the binary.
#pragma once

namespace httplib {
class Server;
}

namespace solocron::cli {

// Serves the page at "/" and its script and style at "/ui/...". They need no token: the page
// asks for one when the API wants it.
void register_dashboard(httplib::Server& server);

}  // namespace solocron::cli
