// The version of this build, from the library (solocron/version.hpp: CMake's PROJECT_VERSION).
#pragma once

#include "solocron/version.hpp"

namespace solocron::cli {

inline const char* const kVersion = solocron::version();

}  // namespace solocron::cli
