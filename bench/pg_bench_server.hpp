// The PostgreSQL server the benchmarks use: SOLOCRON_BENCH_PG if set, otherwise a throwaway one
// from scripts/pg-server.sh (loopback, free port, temp dir), stopped by PID at exit.
#pragma once

#include <libpq-fe.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>

namespace solocron::bench {

inline std::string run_command(const std::string& cmd) {
  FILE* f = popen(cmd.c_str(), "r");
  if (!f) throw std::runtime_error("cannot run " + cmd);
  std::string out;
  char buf[512];
  while (fgets(buf, sizeof buf, f)) out += buf;
  if (pclose(f) != 0) throw std::runtime_error("failed: " + cmd);
  return out;
}

inline std::string env_value(const std::string& text, const std::string& key) {
  auto pos = text.find(key + "=");
  if (pos == std::string::npos) return "";
  pos += key.size() + 1;
  return text.substr(pos, text.find('\n', pos) - pos);
}

inline std::string pg_script() {
  namespace fs = std::filesystem;
  return (fs::path(__FILE__).parent_path().parent_path() / "scripts" / "pg-server.sh").string();
}

struct PgServer {
  std::string base_url;  // of the server's maintenance database
  std::string dir;       // set when this program started the server
  ~PgServer() {
    if (!dir.empty()) std::system(("'" + pg_script() + "' stop '" + dir + "'").c_str());
  }
};

inline PgServer& pg_server() {
  static PgServer server = [] {
    PgServer s;
    if (const char* given = std::getenv("SOLOCRON_BENCH_PG")) {
      s.base_url = given;
    } else {
      const auto out = run_command("'" + pg_script() + "' start --env --owner " +
                                   std::to_string(getpid()));
      s.base_url = env_value(out, "SOLOCRON_PG_URL");
      s.dir = env_value(out, "SOLOCRON_PG_DIR");
    }
    return s;
  }();
  return server;
}

// A new, empty database `name` on the server (dropped first if it exists); returns its URL.
inline std::string fresh_pg_database(const std::string& name) {
  const std::string base = pg_server().base_url;
  PGconn* c = PQconnectdb(base.c_str());
  PQsetNoticeProcessor(c, [](void*, const char*) {}, nullptr);
  PQclear(PQexec(c, ("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)").c_str()));
  PGresult* r = PQexec(c, ("CREATE DATABASE " + name).c_str());
  const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
  PQclear(r);
  PQfinish(c);
  if (!ok) throw std::runtime_error("cannot create database " + name);
  // Same server and options, the new database.
  const auto slash = base.find('/', base.find("://") + 3);
  const auto query = base.find('?');
  return base.substr(0, slash) + "/" + name + (query == std::string::npos ? "" : base.substr(query));
}

}  // namespace solocron::bench
