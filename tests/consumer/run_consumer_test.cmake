# Installs the just-built tree into a scratch prefix, builds tests/consumer against it twice,
# with find_package(solocron VERSION) and with pkg-config, runs both programs and checks their
# output and the version each build system reports.
# Run as: cmake -DBUILD_DIR=... -DSOURCE_DIR=... -DWORK_DIR=... -DCONFIG=... -DVERSION=...
#               -DCXX_COMPILER=... -DGENERATOR=... -P run_consumer_test.cmake
foreach(var BUILD_DIR SOURCE_DIR WORK_DIR CONFIG CXX_COMPILER GENERATOR VERSION)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run_consumer_test.cmake: ${var} is not set")
  endif()
endforeach()

# Single-configuration generators need no --config; multi-configuration ones pick with it.
set(config_args)
if(CONFIG)
  set(config_args --config ${CONFIG})
endif()

set(prefix ${WORK_DIR}/prefix)
set(consumer_build ${WORK_DIR}/build)
file(REMOVE_RECURSE ${WORK_DIR})

function(run step)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${step} failed (${rc}):\n${ARGN}\n${out}\n${err}")
  endif()
  set(step_output "${out}" PARENT_SCOPE)
endfunction()

set(expected "next 2026-03-09T09:30:00+01:00\nscheduler next 2026-03-09T09:30:00+01:00\nversion ${VERSION}\n")
string(REGEX MATCH "^[0-9]+\\.[0-9]+" major_minor "${VERSION}")
string(REGEX REPLACE "^([0-9]+)\\.([0-9]+).*" "\\1" major "${VERSION}")
string(REGEX REPLACE "^([0-9]+)\\.([0-9]+).*" "\\2" minor "${VERSION}")
math(EXPR next_minor "${minor} + 1")

# Only the library's development files: what a user installs to build against it.
run("install" ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix} ${config_args}
    --component solocron_development)
# The prefix is the only place it may find solocron: no package registry, no build tree.
set(consumer_configure ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${consumer_build} -G ${GENERATOR}
    -DCMAKE_BUILD_TYPE=${CONFIG} -DCMAKE_CXX_COMPILER=${CXX_COMPILER}
    -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
    -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF)
# A 0.x minor release may change the API: asking for the next minor version must fail.
execute_process(COMMAND ${consumer_configure} -DSOLOCRON_WANT=${major}.${next_minor}
                RESULT_VARIABLE rc OUTPUT_QUIET ERROR_QUIET)
if(rc EQUAL 0)
  message(FATAL_ERROR "find_package(solocron ${major}.${next_minor}) accepted version ${VERSION}")
endif()
file(REMOVE_RECURSE ${consumer_build})
run("consumer configure" ${consumer_configure} -DSOLOCRON_WANT=${major_minor})
if(NOT step_output MATCHES "found solocron ${VERSION}\n")
  message(FATAL_ERROR "find_package(solocron ${major_minor}) did not report ${VERSION}:\n${step_output}")
endif()
run("consumer build" ${CMAKE_COMMAND} --build ${consumer_build} ${config_args})

find_program(consumer_exe consumer PATHS ${consumer_build} ${consumer_build}/${CONFIG} NO_DEFAULT_PATH)
if(NOT consumer_exe)
  message(FATAL_ERROR "the consumer build produced no 'consumer' program in ${consumer_build}")
endif()
run("consumer run" ${consumer_exe})
if(NOT step_output STREQUAL expected)
  message(FATAL_ERROR "consumer printed:\n${step_output}\nexpected:\n${expected}")
endif()
message(STATUS "CMake consumer output as expected:\n${step_output}")

# The same program built by a plain compiler call from `pkg-config --cflags --libs solocron`.
file(GLOB_RECURSE pc_files ${prefix}/solocron.pc)
if(NOT pc_files)
  message(FATAL_ERROR "the install put no solocron.pc under ${prefix}")
endif()
list(GET pc_files 0 pc_file)
get_filename_component(pc_dir ${pc_file} DIRECTORY)
set(ENV{PKG_CONFIG_PATH} ${pc_dir})
run("pkg-config --modversion" pkg-config --modversion solocron)
string(STRIP "${step_output}" pc_version)
if(NOT pc_version STREQUAL VERSION)
  message(FATAL_ERROR "pkg-config says solocron ${pc_version}, the project is ${VERSION}")
endif()
run("pkg-config --cflags --libs" pkg-config --cflags --libs solocron)
separate_arguments(pc_flags UNIX_COMMAND "${step_output}")
run("pkg-config consumer build" ${CXX_COMPILER} -Wall -Wextra -Werror ${SOURCE_DIR}/main.cpp
    ${pc_flags} -o ${WORK_DIR}/consumer-pc)
run("pkg-config consumer run" ${WORK_DIR}/consumer-pc)
if(NOT step_output STREQUAL expected)
  message(FATAL_ERROR "pkg-config consumer printed:\n${step_output}\nexpected:\n${expected}")
endif()
message(STATUS "pkg-config consumer output as expected")
file(REMOVE_RECURSE ${WORK_DIR})
