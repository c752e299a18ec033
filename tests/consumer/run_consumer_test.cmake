# Installs the just-built tree into a scratch prefix, builds tests/consumer against it with
# find_package(solocron), runs the program and checks its output.
# Run as: cmake -DBUILD_DIR=... -DSOURCE_DIR=... -DWORK_DIR=... -DCONFIG=...
#               -DCXX_COMPILER=... -DGENERATOR=... -P run_consumer_test.cmake
foreach(var BUILD_DIR SOURCE_DIR WORK_DIR CONFIG CXX_COMPILER GENERATOR)
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

run("install" ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix} ${config_args})
# The prefix is the only place it may find solocron: no package registry, no build tree.
run("consumer configure" ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${consumer_build} -G ${GENERATOR}
    -DCMAKE_BUILD_TYPE=${CONFIG} -DCMAKE_CXX_COMPILER=${CXX_COMPILER}
    -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
    -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF)
run("consumer build" ${CMAKE_COMMAND} --build ${consumer_build} ${config_args})

find_program(consumer_exe consumer PATHS ${consumer_build} ${consumer_build}/${CONFIG} NO_DEFAULT_PATH)
if(NOT consumer_exe)
  message(FATAL_ERROR "the consumer build produced no 'consumer' program in ${consumer_build}")
endif()
run("consumer run" ${consumer_exe})

set(expected "next 2026-03-09T09:30:00+01:00\nscheduler next 2026-03-09T09:30:00+01:00\n")
if(NOT step_output STREQUAL expected)
  message(FATAL_ERROR "consumer printed:\n${step_output}\nexpected:\n${expected}")
endif()
message(STATUS "consumer output as expected:\n${step_output}")
file(REMOVE_RECURSE ${WORK_DIR})
