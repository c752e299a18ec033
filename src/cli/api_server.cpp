#include "cli/api_server.hpp"

#include <httplib.h>

#include "cli/operation_error.hpp"
#include "cli/user_text.hpp"
#include "config/http_address.hpp"

namespace solocron::cli {

namespace {

constexpr const char* kJson = "application/json";

std::string error_code(OperationError::Kind kind) {
  switch (kind) {
    case OperationError::Kind::bad_request: return "bad_request";
    case OperationError::Kind::not_found: return "not_found";
    case OperationError::Kind::conflict: return "conflict";
  }
  return "bad_request";
}

int error_status(OperationError::Kind kind) {
  switch (kind) {
    case OperationError::Kind::bad_request: return 400;
    case OperationError::Kind::not_found: return 404;
    case OperationError::Kind::conflict: return 409;
  }
  return 400;
}

std::string_view bearer_of(const std::string& header) {
  constexpr std::string_view kScheme = "Bearer ";
  if (header.size() <= kScheme.size() || header.compare(0, kScheme.size(), kScheme) != 0) return {};
  return std::string_view(header).substr(kScheme.size());
}

}  // namespace

void send_error(httplib::Response& res, int status, const std::string& code, const std::string& message) {
  res.status = status;
  nlohmann::json body = {{"error", {{"code", code}, {"message", json_text(message)}}}};
  res.set_content(dump_json(body, -1) + "\n", kJson);
}

bool is_loopback_address(const std::string& address) {
  auto parsed = detail::parse_http_address(address);
  if (!parsed) return false;
  const std::string& host = parsed->host;
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

ApiServer::ApiServer(ApiSettings settings, Connect connect)
    : settings_(std::move(settings)), connect_(std::move(connect)) {}

void ApiServer::set_tokens(std::optional<ApiTokens> tokens) {
  std::lock_guard lock(tokens_mutex_);
  tokens_ = tokens ? std::make_shared<const ApiTokens>(std::move(*tokens)) : nullptr;
}

std::optional<ApiPrincipal> ApiServer::authorize(const httplib::Request& req, httplib::Response& res,
                                                 Need need) {
  std::shared_ptr<const ApiTokens> tokens;
  {
    std::lock_guard lock(tokens_mutex_);
    tokens = tokens_;
  }
  const auto refuse = [&](int status, const std::string& message) -> std::optional<ApiPrincipal> {
    if (status == 401) res.set_header("WWW-Authenticate", "Bearer realm=\"solocron\"");
    send_error(res, status, status == 401 ? "unauthorized" : "forbidden", message);
    if (need == Need::operate && settings_.audit) {
      settings_.audit(true, "refused " + req.method + " " + req.path + ": " + message);
    }
    return std::nullopt;
  };
  if (need == Need::operate && !tokens) {
    return refuse(403, "this node has no API tokens file (node.api_tokens_file): its API is read-only");
  }
  const std::string header = req.get_header_value("Authorization");
  if (header.empty()) {
    if (need == Need::read && settings_.loopback_bind) return ApiPrincipal{ApiRole::read, ""};
    return refuse(401, "a token is needed: send Authorization: Bearer TOKEN");
  }
  const std::string_view token = bearer_of(header);
  if (token.empty()) return refuse(401, "the Authorization header is not \"Bearer TOKEN\"");
  if (!tokens) return refuse(401, "this node has no API tokens file: it accepts no token");
  auto principal = tokens->find(token);
  if (!principal) return refuse(401, "the token is not valid (not in the API tokens file)");
  if (need == Need::operate && principal->role != ApiRole::operate) {
    return refuse(403, "the token of " + principal->name + " has the role read: it may not " +
                           "trigger, pause, resume or backfill");
  }
  return principal;
}

Store& ApiServer::store() {
  if (!store_) store_ = connect_();
  return *store_;
}

void ApiServer::answer(const httplib::Request& req, httplib::Response& res, Need need,
                       const Handler& handler) {
  res.set_header("Cache-Control", "no-store");
  const auto principal = authorize(req, res, need);
  if (!principal) return;
  if (!store_ready_) {
    send_error(res, 503, "store_unavailable", "the node is still opening its store; try again");
    return;
  }
  std::lock_guard lock(store_mutex_);
  try {
    int status = 200;
    nlohmann::json body = handler(store(), req, *principal, status);
    res.status = status;
    res.set_content(dump_json(body, -1) + "\n", kJson);
  } catch (const OperationError& e) {
    send_error(res, error_status(e.kind()), error_code(e.kind()), e.what());
  } catch (const StoreError& e) {
    if (e.kind() == StoreError::Kind::invalid) {
      send_error(res, 400, "bad_request", e.what());
      return;
    }
    store_.reset();  // a connection that failed is opened again by the next request
    if (e.kind() == StoreError::Kind::unavailable) {
      send_error(res, 503, "store_unavailable", std::string("the store cannot be reached: ") + e.what());
    } else {
      send_error(res, 500, "internal", e.what());
    }
  } catch (const std::exception& e) {
    send_error(res, 500, "internal", e.what());
  }
}

}  // namespace solocron::cli
