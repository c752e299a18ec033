// The routes of the HTTP API (docs/api.md): what each reads or does, by the shared views and
// operations; authorisation, errors and the store connection are api_server.cpp's.
#include <httplib.h>

#include <algorithm>
#include <limits>

#include "cli/api_request.hpp"
#include "cli/assets.hpp"
#include "cli/api_server.hpp"
#include "cli/backfill_plan.hpp"
#include "cli/cluster_ops.hpp"
#include "cli/cluster_view.hpp"
#include "cli/operation_error.hpp"
#include "cli/record_format.hpp"
#include "cli/user_text.hpp"
#include "solocron/cron.hpp"
#include "solocron/version.hpp"

namespace solocron::cli {

namespace {

using nlohmann::json;
using std::chrono::seconds;
using std::chrono::sys_seconds;

constexpr std::size_t kMaxPage = 1000;
// A path segment: a job name (config/job_reader.cpp says which names are valid).
constexpr const char* kJob = "/api/v1/jobs/([^/]+)";

sys_seconds now_of(Store& store) { return std::chrono::floor<seconds>(store.now()); }

json jobs_page(Store& store, const httplib::Request& req) {
  const std::string q = text_param(req, "q");
  const std::size_t offset = size_param(req, "offset", 0, 0, std::numeric_limits<int>::max());
  const std::size_t limit = size_param(req, "limit", 100, 1, kMaxPage);
  const auto published = published_by_job(store);
  std::vector<const std::string*> names;  // those matching, by name
  for (const auto& [name, rows] : published) {
    if (q.empty() || name.find(q) != std::string::npos) names.push_back(&name);
  }
  const sys_seconds now = now_of(store);
  json page = json::array();
  for (std::size_t i = offset; i < names.size() && i < offset + limit; ++i) {
    page.push_back(job_summary_json(store, cluster_job_of(*names[i], published.at(*names[i])), now));
  }
  return {{"total", names.size()}, {"offset", offset}, {"limit", limit}, {"jobs", std::move(page)}};
}

// A page of records newest first. Records of one instant are never split between pages (an
// every_node job has one per node): the cursor `next_before` is strict.
json history_page(Store& store, const httplib::Request& req, std::optional<std::string> job) {
  HistoryQuery query;
  query.job = std::move(job);
  query.limit = size_param(req, "limit", 50, 1, kMaxPage) + 1;
  query.before = time_param(req, "before");
  query.states = states_param(req, "state");
  std::vector<RunRecord> records = store.history(query);
  std::optional<sys_seconds> next_before;
  if (records.size() == query.limit) {
    const bool group_goes_on = records.back().key.scheduled_at == records[query.limit - 2].key.scheduled_at;
    records.pop_back();
    const sys_seconds cut = records.back().key.scheduled_at;
    next_before = cut;
    // The last instant's records go on past the page: they all start the next one instead
    // (unless they fill this page: one instant with more records than a page is cut).
    if (group_goes_on && records.front().key.scheduled_at != cut) {
      std::erase_if(records, [&](const RunRecord& r) { return r.key.scheduled_at == cut; });
      next_before = cut + seconds(1);
    }
  }
  return {{"records", history_json(store, records)},
          {"next_before", next_before ? json(format_rfc3339(*next_before, "UTC", true)) : json(nullptr)}};
}

json control_answer(const std::string& job, const ControlChange& c) {
  if (!c.changed) throw OperationError(OperationError::Kind::conflict, c.message);
  json out = control_json(c.control);
  out["job"] = job;
  out["message"] = json_text(c.message);
  return out;
}

}  // namespace

void ApiServer::install(httplib::Server& server) {
  const auto get = [&](const char* pattern, Handler h) {
    server.Get(pattern, [this, h](const httplib::Request& req, httplib::Response& res) {
      answer(req, res, Need::read, h);
    });
  };
  const auto post = [&](const char* pattern, Handler h) {
    server.Post(pattern, [this, h](const httplib::Request& req, httplib::Response& res) {
      answer(req, res, Need::operate, h);
    });
  };
  const auto job_of = [](const httplib::Request& req) { return std::string(req.matches[1]); };

  server.Get("/api/v1/openapi.json", [](const httplib::Request&, httplib::Response& res) {
    const auto doc = asset("openapi.json");
    res.set_content(doc->data(), doc->size(), "application/json");
  });
  get("/api/v1/jobs", [](Store& s, const httplib::Request& req, const ApiPrincipal&, int&) {
    return jobs_page(s, req);
  });
  get(kJob, [job_of](Store& s, const httplib::Request& req, const ApiPrincipal&, int&) {
    return job_detail_json(s, cluster_job(s, job_of(req)), now_of(s));
  });
  get("/api/v1/jobs/([^/]+)/history", [job_of](Store& s, const httplib::Request& req, const ApiPrincipal&, int&) {
    json page = history_page(s, req, job_of(req));
    // A job no node has any more keeps its history; a name that has neither is a typo.
    if (page["records"].empty() && !req.has_param("before") && !req.has_param("state")) cluster_job(s, job_of(req));
    return page;
  });
  get("/api/v1/history", [](Store& s, const httplib::Request& req, const ApiPrincipal&, int&) {
    const std::string job = text_param(req, "job");
    return history_page(s, req, job.empty() ? std::nullopt : std::optional<std::string>(job));
  });
  get("/api/v1/nodes", [this](Store& s, const httplib::Request&, const ApiPrincipal&, int&) {
    return json{{"store", s.describe()},
                {"store_time", format_store_time(s.now())},
                {"answered_by", {{"node", settings_.node_id}, {"version", solocron::version()}}},
                {"nodes", nodes_json(s)}};
  });

  post("/api/v1/jobs/([^/]+)/trigger", [this, job_of](Store& s, const httplib::Request& req, const ApiPrincipal& p, int& status) {
    const RunRequest r = trigger_job(s, job_of(req), p.name, string_field(body_object(req), "note"));
    status = 202;
    audit(p.name + " triggered " + r.job + " (request " + std::to_string(r.id) + ")");
    return request_json(r);
  });
  post("/api/v1/jobs/([^/]+)/pause", [this, job_of](Store& s, const httplib::Request& req, const ApiPrincipal& p, int&) {
    json out = control_answer(job_of(req), pause_job(s, job_of(req), p.name, string_field(body_object(req), "note")));
    audit(p.name + " paused " + job_of(req));
    return out;
  });
  post("/api/v1/jobs/([^/]+)/resume", [this, job_of](Store& s, const httplib::Request& req, const ApiPrincipal& p, int&) {
    json out = control_answer(job_of(req), resume_job(s, job_of(req), p.name, string_field(body_object(req), "note")));
    audit(p.name + " resumed " + job_of(req));
    return out;
  });
  post("/api/v1/jobs/([^/]+)/backfill", [this, job_of](Store& s, const httplib::Request& req, const ApiPrincipal& p, int& status) {
    const json body = body_object(req);
    BackfillArgs a{job_of(req), string_field(body, "from"), string_field(body, "to"),
                   string_field(body, "note"), p.name, size_field(body, "max", 100),
                   bool_field(body, "dry_run", false)};
    if (a.from.empty() || a.to.empty()) {
      throw OperationError(OperationError::Kind::bad_request, "\"from\" and \"to\" are required (RFC 3339)");
    }
    const Backfill b = run_backfill(s, a, {"from", "to", "max"});
    status = a.dry_run ? 200 : 202;
    if (b.plan.id) audit(p.name + " backfilled " + std::to_string(b.plan.chosen.size()) + " tick(s) of " + a.job);
    return backfill_json(a, b);
  });

  // Anything else under /api/v1/ is a JSON 404, not the server's empty page.
  const auto unknown = [](const httplib::Request& req, httplib::Response& res) {
    send_error(res, 404, "not_found", "no such API call: " + req.method + " " + req.path);
  };
  server.Get("/api/v1/.*", unknown);
  server.Post("/api/v1/.*", unknown);
  // What the HTTP layer refuses before any route (a POST without Content-Length, a body too
  // large) gets a JSON error too.
  server.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (req.path.rfind("/api/", 0) != 0 || !res.body.empty()) return;
    send_error(res, res.status, "bad_request",
               res.status == 400 && !req.has_header("Content-Length")
                   ? "the request has no Content-Length: send a JSON body, {} if nothing else"
                   : "the request was refused by the HTTP layer (status " + std::to_string(res.status) + ")");
  });
}

void ApiServer::audit(const std::string& line) const {
  if (settings_.audit) settings_.audit(false, line);
}

}  // namespace solocron::cli
