// open_store(): the URL factory. Each backend parses the rest of its own URL.
#include <string_view>

#include "solocron/store.hpp"
#include "store/memory/memory_store.hpp"
#include "store/postgres/pg_store.hpp"
#include "store/redact.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace solocron {

std::unique_ptr<Store> open_store(const std::string& url, const OpenOptions& options) {
  std::string_view u = url;
  // memory: a read-only handle on a store nobody else can write is an empty store.
  if (u == "memory:" || u == "memory://") return std::make_unique<detail::MemoryStore>();
  if (u.starts_with("sqlite:")) return detail::open_sqlite_store(url, options.read_only);
  if (u.starts_with("postgres://") || u.starts_with("postgresql://")) {
    return detail::open_postgres_store(url, options.read_only);
  }
  // The URL may hold a password: quoted with it masked.
  throw StoreError(StoreError::Kind::invalid,
                   "store \"" + detail::redact_secrets(url) +
                       "\": unknown scheme (expected memory:, sqlite:PATH or postgres://...)");
}

}  // namespace solocron
