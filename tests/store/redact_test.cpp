// redact_secrets() and store_url_error(): the two functions every message and every store URL
// of the CLI go through.
#include "store/redact.hpp"

#include <gtest/gtest.h>

#include "store/store_url.hpp"

namespace solocron::detail {
namespace {

TEST(RedactSecrets, MasksPasswordsWhereverTheyAppear) {
  struct Case {
    const char* in;
    const char* want;
  };
  const Case cases[] = {
      {"no secret here", "no secret here"},
      {"", ""},
      {"postgres://app:S3cret@db:5432/app", "postgres://app:***@db:5432/app"},
      {"error: store \"postgress://postgres:S3cret@h/db\": unknown scheme",
       "error: store \"postgress://postgres:***@h/db\": unknown scheme"},
      {"postgresql://:S3cret@h/db", "postgresql://:***@h/db"},
      {"postgres://app@db/app", "postgres://app@db/app"},              // no password
      {"postgres://app:@db/app", "postgres://app:@db/app"},            // an empty one
      {"postgres://db:5432/app", "postgres://db:5432/app"},            // a port is not one
      {"postgres://u:p@ss@h/db", "postgres://u:***@h/db"},             // a raw '@' in it
      {"postgres://u:p/ss@h/db", "postgres://u:***@h/db"},             // a raw '/' in it
      {"postgres://u:p?s#s@h/db", "postgres://u:***@h/db"},            // '?' and '#'
      {"a mysql://root:hunter2@x and redis://:pw@y", "a mysql://root:***@x and redis://:***@y"},
      {"https://example.com/path", "https://example.com/path"},
      {"://u:p@h", "://u:p@h"},                                        // not a URL
      {"postgres://u@h/db?sslmode=disable&password=S3cret&x=1",
       "postgres://u@h/db?sslmode=disable&password=***&x=1"},
      {"host=db password=S3cret user=app", "host=db password=*** user=app"},
      {"host=db password = 'S3 cret' user=app", "host=db password = '***' user=app"},
      {"password='it\\'s' dbname=x", "password='***' dbname=x"},
      {"PGPASSWORD=S3cret", "PGPASSWORD=***"},
      {"DB_PASSWD=S3cret;next", "DB_PASSWD=***;next"},
      {"{\"password\": \"S3cret\"}", "{\"password\": \"***\"}"},
      {"Password: S3cret", "Password: ***"},
      {"password authentication failed for user \"app\"",
       "password authentication failed for user \"app\""},
      {"fe_sendauth: no password supplied", "fe_sendauth: no password supplied"},
      {"password=", "password="},
      {"password=*** already", "password=*** already"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(redact_secrets(c.in), c.want) << c.in;
    EXPECT_EQ(redact_secrets(redact_secrets(c.in)), c.want) << "not idempotent: " << c.in;
  }
}

TEST(StoreUrl, AcceptsWhatOpenStoreReads) {
  for (const char* url :
       {"memory:", "memory://", "sqlite:solocron.db", "sqlite:dir/state.db", "sqlite:///var/lib/s.db",
        "sqlite:/abs.db", "postgres://db/app", "postgresql://app@db:5432/app",
        "postgres://app:S3cret@db:5432/app?sslmode=verify-full&connect_timeout=3",
        "postgres://app@h1:5432,h2:5433/app?target_session_attrs=read-write",
        "postgres://[::1]:5432/app", "postgres://%2Fvar%2Frun%2Fpostgresql/app",
        "postgres://u@h/app?ssl=true", "postgres://u@h/app?port=5432&application_name=x",
        "postgres:///app", "postgres://"}) {
    EXPECT_EQ(store_url_error(url), std::nullopt) << url << ": " << store_url_error(url).value_or("");
  }
}

TEST(StoreUrl, RejectsWithAMessageAndNeverQuotesThePassword) {
  struct Case {
    const char* url;
    const char* want;
  };
  const Case cases[] = {
      {"", "the store URL is empty"},
      {"mysql://x", "store \"mysql://x\": unknown scheme \"mysql\" (expected memory:, sqlite:PATH or postgres://...)"},
      {"postgress://postgres:S3cretPa55@h/db", "store \"postgress://postgres:***@h/db\": unknown scheme \"postgress\""},
      {"solocron.db", "store \"solocron.db\": not a URL"},
      {"memory:x", "memory: takes nothing after the colon"},
      {"sqlite:", "missing the file name"},
      {"sqlite://rel.db", "expected sqlite:///absolute/path"},
      {"sqlite:dir/", "names a directory"},
      {"postgres://u@h:99999/db", "store \"postgres://u@h:99999/db\": port 99999 is out of range 1-65535"},
      {"postgres://u@h:0/db", "port 0 is out of range 1-65535"},
      {"postgres://u@h:http/db", "port \"http\" is not a number"},
      {"postgres://u@h:/db", "missing port number after ':'"},
      {"postgres://u@h1:5432,h2:70000/db", "port 70000 is out of range"},
      {"postgres://u@[::1/db", "lacks its ']'"},
      {"postgres://u@h/db?sslmode=bogus", "sslmode \"bogus\" is not one of: disable, allow, prefer, require, verify-ca, verify-full"},
      {"postgres://u@h/db?sslmod=disable", "unknown query parameter \"sslmod\""},
      {"postgres://u@h/db?port=99999", "port 99999 is out of range"},
      {"postgres://u@h/db?connect_timeout=soon", "connect_timeout \"soon\" is not a whole number"},
      {"postgres://u@h/db?sslmode", "query parameter \"sslmode\" is not NAME=VALUE"},
      {"postgres://u:S3c%zzretPa55@h/db", "the password has an invalid percent-encoding"},
      {"postgres://u%zz@h/db", "the user name has an invalid percent-encoding"},
      {"postgres://u@h/d%zzb", "the database name has an invalid percent-encoding"},
      {"postgres://u:S3cretPa55@h/db?password=S3cretPa55&sslmode=nope", "sslmode \"nope\""},
      {"postgres://u@h/db\n", "contains a control character"},
  };
  for (const auto& c : cases) {
    auto e = store_url_error(c.url);
    ASSERT_TRUE(e) << c.url;
    EXPECT_NE(e->find(c.want), std::string::npos) << c.url << "\n  got: " << *e;
    EXPECT_EQ(e->find("S3c"), std::string::npos) << "password quoted: " << *e;
  }
}

}  // namespace
}  // namespace solocron::detail
