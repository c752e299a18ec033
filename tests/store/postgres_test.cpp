// postgres:-specific behaviour beyond the conformance suite: URLs and passwords, deadlines
// against a server that stops answering, and reconnection after an outage.
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <signal.h>

#include <thread>

#include "solocron/store.hpp"
#include "store/backends.hpp"
#include "store/postgres/pg_store.hpp"

namespace solocron {
namespace {

using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;

TEST(PostgresUrl, DescribeNeverShowsThePassword) {
  for (std::string url : {"postgres://alice:s3cret@db.example:6543/jobs?sslmode=require",
                          "postgresql://alice:s3cret@db.example:6543/jobs"}) {
    auto s = open_store(url);  // does not connect yet
    EXPECT_EQ(s->describe(), "postgres://alice@db.example:6543/jobs");
  }
}

TEST(PostgresUrl, UnparsableUrlIsInvalidWithoutEchoingIt) {
  try {
    open_store("postgres://bob:hunter2@host:5432/db?nosuchoption=1");
    ADD_FAILURE();
  } catch (const StoreError& e) {
    EXPECT_EQ(e.kind(), StoreError::Kind::invalid);
    EXPECT_EQ(std::string(e.what()).find("hunter2"), std::string::npos) << e.what();
  }
}

TEST(PostgresUrl, UnreachableServerIsUnavailableQuickly) {
  // A closed port on loopback: refused at once, well within the connect timeout.
  auto s = open_store("postgres://nobody:pw@127.0.0.1:1/none?sslmode=disable");
  auto start = Steady::now();
  try {
    s->now();
    ADD_FAILURE();
  } catch (const StoreError& e) {
    EXPECT_EQ(e.kind(), StoreError::Kind::unavailable);
    EXPECT_EQ(std::string(e.what()).find(":pw@"), std::string::npos) << e.what();
  }
  EXPECT_LT(Steady::now() - start, 4s);
}

class PostgresFaults : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { testing::postgres_server_private(); }
  // Short deadlines so that the test does not wait for the production ones.
  detail::PgTimeouts timeouts_{.call = 1500ms, .statement = 1000ms, .connect_seconds = 2};
  testing::PostgresBackend backend_;
};

int backend_pid_of_solocron(const std::string& url) {
  PGconn* c = PQconnectdb(url.c_str());
  PGresult* r = PQexec(c,
                       "SELECT pid FROM pg_stat_activity WHERE application_name = 'solocron' "
                       "AND datname = current_database()");
  int pid = PQntuples(r) == 1 ? std::atoi(PQgetvalue(r, 0, 0)) : -1;
  PQclear(r);
  PQfinish(c);
  return pid;
}

TEST_F(PostgresFaults, AServerThatStopsAnsweringIsDetectedByTheDeadline) {
  detail::PostgresStore store(backend_.url(), timeouts_);
  store.migrate();
  ASSERT_TRUE(store.register_node("a", 60s).acquired);
  int pid = backend_pid_of_solocron(backend_.url());
  ASSERT_GT(pid, 0);
  // The server process of our connection freezes: no error, no reset, just silence, as in a
  // network partition.
  ASSERT_EQ(kill(pid, SIGSTOP), 0);
  auto start = Steady::now();
  try {
    store.nodes();
    ADD_FAILURE() << "a frozen server answered";
  } catch (const StoreError& e) {
    EXPECT_EQ(e.kind(), StoreError::Kind::unavailable) << e.what();
  }
  auto took = Steady::now() - start;
  kill(pid, SIGCONT);
  EXPECT_GE(took, 1400ms);
  EXPECT_LT(took, 3s);
  // The next call reconnects on its own.
  EXPECT_EQ(store.nodes().size(), 1u);
}

TEST_F(PostgresFaults, ReconnectsAfterTheServerRestarts) {
  auto store = backend_.connect();
  store->migrate();
  auto reg = store->register_node("a", 60s);
  ASSERT_TRUE(reg.acquired);
  testing::postgres_server_halt();
  auto start = Steady::now();
  try {
    store->nodes();
    ADD_FAILURE() << "server is down";
  } catch (const StoreError& e) {
    EXPECT_EQ(e.kind(), StoreError::Kind::unavailable) << e.what();
  }
  EXPECT_LT(Steady::now() - start, 4s);
  testing::postgres_server_resume();
  // The first call after the restart already succeeds: the closed idle connection is
  // noticed before anything is sent on it.
  auto nodes = store->nodes();
  ASSERT_EQ(nodes.size(), 1u);
  EXPECT_EQ(nodes[0].node_id, "a");
  ClaimRequest r;
  r.key = {"j", std::chrono::floor<std::chrono::seconds>(store->now()), ""};
  r.node_id = "a";
  r.lease_token = reg.lease.token;
  EXPECT_EQ(store->claim(std::span(&r, 1)).at(0).outcome, ClaimResult::Outcome::won);
}

TEST_F(PostgresFaults, NewerSchemaIsRefused) {
  auto store = backend_.connect();
  store->migrate();
  PGconn* c = PQconnectdb(backend_.url().c_str());
  PQclear(PQexec(c, "UPDATE solocron_schema_version SET version = 999"));
  PQfinish(c);
  try {
    backend_.connect()->migrate();
    ADD_FAILURE();
  } catch (const StoreError& e) {
    EXPECT_EQ(e.kind(), StoreError::Kind::invalid);
    EXPECT_NE(std::string(e.what()).find("999"), std::string::npos) << e.what();
  }
}

class PostgresReadOnly : public ::testing::Test {
 protected:
  testing::PostgresBackend backend_;
};

TEST_F(PostgresReadOnly, ReadsButNeverWrites) {
  auto writer = backend_.connect();
  writer->migrate();
  ASSERT_TRUE(writer->register_node("a", 60s).acquired);
  auto reader = open_store(backend_.url(), {.read_only = true});
  reader->migrate();  // only checks the schema version
  EXPECT_EQ(reader->nodes().size(), 1u);
  EXPECT_EQ(reader->identity(), writer->identity());
  EXPECT_THROW(reader->register_node("b", 60s), StoreError);
  EXPECT_THROW(reader->another_connection(2s)->register_node("b", 60s), StoreError)
      << "its other connections are read-only too";
  EXPECT_EQ(writer->nodes().size(), 1u);
}

TEST_F(PostgresReadOnly, AStoreWithoutTheSchemaIsInvalidAndStaysEmpty) {
  auto reader = open_store(backend_.url(), {.read_only = true});
  try {
    reader->migrate();
    ADD_FAILURE() << "no schema to read";
  } catch (const StoreError& e) {
    EXPECT_EQ(e.kind(), StoreError::Kind::invalid) << e.what();
    EXPECT_NE(std::string(e.what()).find("schema version 0"), std::string::npos) << e.what();
  }
  PGconn* c = PQconnectdb(backend_.url().c_str());
  PGresult* r = PQexec(c, "SELECT to_regclass('solocron_schema_version') IS NULL");
  EXPECT_STREQ(PQgetvalue(r, 0, 0), "t") << "nothing created";
  PQclear(r);
  PQfinish(c);
}

}  // namespace
}  // namespace solocron
