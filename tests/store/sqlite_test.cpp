// sqlite:-specific behaviour beyond the conformance suite: URLs, files and their modes,
// read-only opening, schema versions, and the identity of the file.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "solocron/store.hpp"
#include "store/backends.hpp"
#include "store/sqlite/sqlite_store.hpp"

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
  auto s = open_store("sqlite:rel/state.db");
  fs::create_directory(dir_ / "rel");
  s->migrate();
  EXPECT_TRUE(s->register_node("a", std::chrono::seconds(5)).acquired);
  const std::string id = s->identity();
  fs::current_path(old);
  EXPECT_EQ(s->identity(), id) << "the file is still there, seen from another directory";
  s.reset();
  EXPECT_TRUE(fs::exists(dir_ / "rel" / "state.db"));
  auto again = open_store("sqlite:" + (dir_ / "rel" / "state.db").string());
  again->migrate();
  EXPECT_EQ(again->nodes().size(), 1u);
}

TEST(SqliteUrl, BadUrlsAreInvalid) {
  for (std::string url : {"sqlite:", "sqlite://", "sqlite://host/x.db", "sqlite:///tmp/",
                          "sqlite:x.db?mode=rw", "sqlite:x.db?cache=shared", "sqlite:x.db?"}) {
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

TEST_F(SqliteFiles, AnUnknownOptionCreatesNoFile) {
  const std::string url = "sqlite://" + (dir_ / "x.db").string() + "?journal=off";
  try {
    open_store(url);
    ADD_FAILURE();
  } catch (const StoreError& e) {
    EXPECT_EQ(e.kind(), StoreError::Kind::invalid);
    EXPECT_NE(std::string(e.what()).find("journal=off"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(fs::is_empty(dir_));
}

TEST_F(SqliteFiles, CreatedFilesArePrivateWhateverTheUmask) {
  const auto path = (dir_ / "private.db").string();
  const mode_t old = umask(0);
  auto s = open_store("sqlite://" + path);
  s->migrate();
  s->register_node("a", std::chrono::seconds(5));
  umask(old);
  for (const auto& file : {path, path + "-wal", path + "-shm"}) {
    struct stat st {};
    ASSERT_EQ(stat(file.c_str(), &st), 0) << file;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << file;
  }
}

TEST_F(SqliteFiles, ReadOnlyOpenOfAMissingFileFailsAndCreatesNothing) {
  const auto path = (dir_ / "missing.db").string();
  for (const std::string& url : {"sqlite://" + path, "sqlite://" + path + "?mode=ro"}) {
    auto store = open_store(url, {.read_only = url.find('?') == std::string::npos});
    try {
      store->history({});
      ADD_FAILURE();
    } catch (const StoreError& e) {
      EXPECT_EQ(e.kind(), StoreError::Kind::invalid);
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("run a node first"), std::string::npos) << e.what();
    }
  }
  EXPECT_TRUE(fs::is_empty(dir_));
}

TEST_F(SqliteFiles, ReadOnlyReadsAStoreInUseAndNeverWrites) {
  const auto path = (dir_ / "shared.db").string();
  auto writer = open_store("sqlite://" + path);
  writer->migrate();
  ASSERT_TRUE(writer->register_node("a", std::chrono::seconds(60)).acquired);
  auto reader = open_store("sqlite://" + path, {.read_only = true});
  reader->migrate();  // only checks the schema version
  EXPECT_EQ(reader->identity(), writer->identity());
  ASSERT_TRUE(writer->register_node("b", std::chrono::seconds(60)).acquired);
  EXPECT_EQ(reader->nodes().size(), 2u) << "sees the writer's latest commit";
  EXPECT_THROW(reader->register_node("c", std::chrono::seconds(60)), StoreError);
  EXPECT_THROW(reader->another_connection(std::chrono::seconds(1))
                   ->register_node("c", std::chrono::seconds(60)),
               StoreError);
  writer.reset();  // the last writer leaves: its -wal and -shm files go
  auto later = open_store("sqlite://" + path + "?mode=ro");
  EXPECT_EQ(later->nodes().size(), 2u);
  EXPECT_EQ(reader->nodes().size(), 2u);
}

TEST_F(SqliteFiles, ReadOnlyDoesNotUpgradeAnOlderSchema) {
  const auto path = (dir_ / "v1.db").string();
  detail::SqliteStore(path).migrate_to(1);
  auto reader = open_store("sqlite://" + path, {.read_only = true});
  try {
    reader->migrate();
    ADD_FAILURE();
  } catch (const StoreError& e) {
    EXPECT_EQ(e.kind(), StoreError::Kind::invalid);
    EXPECT_NE(std::string(e.what()).find("version 1"), std::string::npos) << e.what();
  }
  auto writer = open_store("sqlite://" + path);
  writer->migrate();
  EXPECT_NO_THROW(reader->migrate()) << "once upgraded by a node";
}

TEST_F(SqliteFiles, IdentityFailsOnceTheFileIsDeleted) {
  const auto path = (dir_ / "gone.db").string();
  auto s = open_store("sqlite://" + path);
  s->migrate();
  EXPECT_EQ(s->identity().size(), 32u);
  for (const auto& f : {path, path + "-wal", path + "-shm"}) fs::remove(f);
  try {
    s->identity();
    ADD_FAILURE() << "the file is gone";
  } catch (const StoreError& e) {
    EXPECT_EQ(e.kind(), StoreError::Kind::invalid);
    EXPECT_NE(std::string(e.what()).find(path + " was deleted or replaced"), std::string::npos)
        << e.what();
  }
}

TEST_F(SqliteFiles, IdentityFailsOnceTheFileIsReplacedByAnotherStore) {
  const auto path = (dir_ / "replaced.db").string();
  auto s = open_store("sqlite://" + path);
  s->migrate();
  const std::string before = s->identity();
  for (const auto& f : {path, path + "-wal", path + "-shm"}) fs::remove(f);
  auto replacement = open_store("sqlite://" + path);
  replacement->migrate();
  EXPECT_NE(replacement->identity(), before);
  try {
    s->identity();
    ADD_FAILURE() << "another file is at the path";
  } catch (const StoreError& e) {
    EXPECT_EQ(e.kind(), StoreError::Kind::invalid) << e.what();
  }
  EXPECT_EQ(replacement->identity(), replacement->identity());
}

}  // namespace
}  // namespace solocron
