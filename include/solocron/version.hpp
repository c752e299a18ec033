// The version of the solocron library and binary: CMake's PROJECT_VERSION, set in one place
// (the top CMakeLists.txt). A node records it with its lease, so `solocron nodes` and the API
// show what each node of a cluster runs, e.g. in the middle of a rollout.
#pragma once

namespace solocron {

// "0.1.0": as `solocron --version` prints it after the program's name.
const char* version() noexcept;

}  // namespace solocron
