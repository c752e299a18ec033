#include "store/backends.hpp"

#include <filesystem>
#include <stdexcept>

namespace solocron::testing {

SqliteBackend::SqliteBackend() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "solocron-sqlite-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  path_ = dir_ + "/state.db";
}

SqliteBackend::~SqliteBackend() {
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

}  // namespace solocron::testing
