# solocron_component(NAME DIR [DEPS ...]): a static library from every .cpp directly in src/DIR.
# Globbing keeps each area's file list in its own folder: adding a file needs no CMake edit.
function(solocron_component name dir)
  file(GLOB srcs CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/${dir}/*.cpp)
  # Recorded so that cmake/SolocronInstall.cmake installs and exports every component.
  set_property(GLOBAL APPEND PROPERTY SOLOCRON_COMPONENTS ${name})
  if(NOT srcs)
    # An area with no sources yet is an interface target so the tree still configures.
    add_library(${name} INTERFACE)
    target_include_directories(${name} INTERFACE $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>)
    target_link_libraries(${name} INTERFACE ${ARGN})
    return()
  endif()
  add_library(${name} STATIC ${srcs})
  target_include_directories(${name}
    PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
    PRIVATE ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(${name} PUBLIC ${ARGN})
  set_target_properties(${name} PROPERTIES POSITION_INDEPENDENT_CODE ON)
endfunction()

# solocron_test_dir(DIR LIBS...): one GoogleTest binary per tests/ subfolder.
function(solocron_test_dir dir)
  file(GLOB srcs CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/tests/${dir}/*.cpp)
  if(NOT srcs)
    return()
  endif()
  set(target solocron_${dir}_tests)
  add_executable(${target} ${srcs})
  target_include_directories(${target} PRIVATE ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/tests)
  target_link_libraries(${target} PRIVATE ${ARGN} GTest::gtest GTest::gmock GTest::gtest_main)
  gtest_discover_tests(${target} DISCOVERY_TIMEOUT 60 PROPERTIES LABELS ${dir})
endfunction()
