// sqlite:-specific behaviour beyond the conformance suite: URLs, files, schema versions.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>

#include "solocron/store.hpp"
#include "store/backends.hpp"

namespace solocron {
namespace {

namespace fs = std::filesystem;

class SqliteFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "solocron-sqlite-XXXXXX").string();
    ASSERT_TRUE(mkdtemp(tmpl.data()));
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(SqliteFiles, AbsoluteUrlCreatesTheFileInWalMode) {
  auto path = dir_ / "abs.db";
  auto s = open_store("sqlite://" + path.string());
  EXPECT_EQ(s->describe(), "sqlite:" + path.string());
  EXPECT_FALSE(fs::exists(path)) << "opened on first use, not by open_store";
  s->migrate();
  EXPECT_TRUE(fs::exists(path));
  EXPECT_TRUE(fs::exists(path.string() + "-wal"));
}

TEST_F(SqliteFiles, RelativeUrlIsRelativeToTheWorkingDirectory) {
  auto old = fs::current_path();
  fs::current_path(dir_);
  {
    auto s = open_store("sqlite:rel/state.db");
    fs::create_directory(dir_ / "rel");
    s->migrate();
    EXPECT_TRUE(s->register_node("a", std::chrono::seconds(5)).acquired);
  }
  fs::current_path(old);
  EXPECT_TRUE(fs::exists(dir_ / "rel" / "state.db"));
  auto again = open_store("sqlite:" + (dir_ / "rel" / "state.db").string());
  again->migrate();
  EXPECT_EQ(again->nodes().size(), 1u);
}

TEST(SqliteUrl, BadUrlsAreInvalid) {
  for (std::string url : {"sqlite:", "sqlite://", "sqlite://host/x.db", "sqlite:///tmp/"}) {
    try {
      open_store(url);
      ADD_FAILURE() << url;
    } catch (const StoreError& e) {
      EXPECT_EQ(e.kind(), StoreError::Kind::invalid) << url;
      EXPECT_NE(std::string(e.what()).find(url), std::string::npos) << e.what();
    }
  }
}

// Waiting will not create a directory: a node pointed there must stop and say so.
TEST_F(SqliteFiles, FileInAMissingDirectoryIsAConfigurationError) {
  auto s = open_store("sqlite://" + (dir_ / "no" / "such" / "dir.db").string());
  try {
    s->migrate();
    ADD_FAILURE();
  } catch (const StoreError& e) {
    EXPECT_EQ(e.kind(), StoreError::Kind::invalid) << e.what();
    EXPECT_NE(std::string(e.what()).find("is missing or not writable"), std::string::npos) << e.what();
  }
}

TEST_F(SqliteFiles, NewerSchemaIsRefused) {
  auto path = (dir_ / "new.db").string();
  open_store("sqlite://" + path)->migrate();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "UPDATE solocron_schema_version SET version = 999", nullptr, nullptr,
                         nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  try {
    open_store("sqlite://" + path)->migrate();
    ADD_FAILURE();
  } catch (const StoreError& e) {
    EXPECT_EQ(e.kind(), StoreError::Kind::invalid);
    EXPECT_NE(std::string(e.what()).find("999"), std::string::npos) << e.what();
  }
}

TEST_F(SqliteFiles, AWriterHoldingTheFileTooLongIsAnOutage) {
  auto path = (dir_ / "busy.db").string();
  auto s = open_store("sqlite://" + path);
  s->migrate();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  auto start = std::chrono::steady_clock::now();
  try {
    s->register_node("a", std::chrono::seconds(5));
    ADD_FAILURE() << "the write lock is held";
  } catch (const StoreError& e) {
    EXPECT_EQ(e.kind(), StoreError::Kind::unavailable) << e.what();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10)) << "bounded wait";
  sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  EXPECT_TRUE(s->register_node("a", std::chrono::seconds(5)).acquired) << "recovers";
}

}  // namespace
}  // namespace solocron
