// The version of this build: CMake's PROJECT_VERSION, given to the binary as SOLOCRON_VERSION.
#pragma once

#ifndef SOLOCRON_VERSION
#define SOLOCRON_VERSION "unknown"
#endif

namespace solocron::cli {

inline constexpr const char* kVersion = SOLOCRON_VERSION;

}  // namespace solocron::cli
