#include "solocron/version.hpp"

#ifndef SOLOCRON_VERSION
#error "SOLOCRON_VERSION is defined by src/CMakeLists.txt from PROJECT_VERSION"
#endif

namespace solocron {

const char* version() noexcept { return SOLOCRON_VERSION; }

}  // namespace solocron
