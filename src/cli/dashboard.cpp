#include "cli/dashboard.hpp"

#include <httplib.h>

#include "cli/assets.hpp"

namespace solocron::cli {

namespace {

// The page loads nothing but its own files, runs no inline script, and is never framed.
constexpr const char* kPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

void serve(httplib::Server& server, const char* route, const char* file, const char* type) {
  server.Get(route, [file, type](const httplib::Request&, httplib::Response& res) {
    const auto text = asset(file);
    if (!text) {
      res.status = 404;
      return;
    }
    res.set_header("Content-Security-Policy", kPolicy);
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_header("Referrer-Policy", "no-referrer");
    res.set_header("Cache-Control", "no-cache");
    res.set_content(text->data(), text->size(), type);
  });
}

}  // namespace

void register_dashboard(httplib::Server& server) {
  serve(server, "/", "dashboard/index.html", "text/html; charset=utf-8");
  serve(server, "/ui/app.js", "dashboard/app.js", "text/javascript; charset=utf-8");
  serve(server, "/ui/style.css", "dashboard/style.css", "text/css; charset=utf-8");
}

}  // namespace solocron::cli
