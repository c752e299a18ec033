# Install rules, the CMake package (`find_package(solocron)` then link `solocron::solocron`)
# and a pkg-config file for other build systems, all with the version of project().
#
# Every static component library registered by solocron_component() is exported under the
# solocron:: namespace, because solocron::solocron is only an INTERFACE target over them: an
# installed solocron::solocron that named a component missing from the export would not link.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(SOLOCRON_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/solocron CACHE STRING
    "Where solocronConfig.cmake is installed, relative to the prefix")

get_property(solocron_components GLOBAL PROPERTY SOLOCRON_COMPONENTS)
set(solocron_exported solocron ${solocron_components})

foreach(target ${solocron_exported})
  # The public headers use C++20 (sys_seconds, designated initialisers), so consumers must
  # compile with it; inside this tree CMAKE_CXX_STANDARD already does that.
  set_property(TARGET ${target} APPEND PROPERTY INTERFACE_COMPILE_FEATURES cxx_std_20)
  # Instrumented static libraries need the sanitizer runtime at the consumer's link.
  if(SOLOCRON_SANITIZE)
    set_property(TARGET ${target} APPEND PROPERTY INTERFACE_LINK_OPTIONS
                 $<INSTALL_INTERFACE:-fsanitize=address,undefined>)
  endif()
  if(SOLOCRON_TSAN)
    set_property(TARGET ${target} APPEND PROPERTY INTERFACE_LINK_OPTIONS
                 $<INSTALL_INTERFACE:-fsanitize=thread>)
  endif()
endforeach()

install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/solocron
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        COMPONENT solocron_development
        FILES_MATCHING PATTERN "*.hpp")

install(TARGETS ${solocron_exported}
        EXPORT solocronTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT solocron_development
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT solocron_development
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

install(TARGETS solocron_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT solocron_runtime)

install(EXPORT solocronTargets
        NAMESPACE solocron::
        FILE solocronTargets.cmake
        DESTINATION ${SOLOCRON_INSTALL_CMAKEDIR}
        COMPONENT solocron_development)

configure_package_config_file(
  ${PROJECT_SOURCE_DIR}/cmake/solocronConfig.cmake.in
  ${PROJECT_BINARY_DIR}/solocronConfig.cmake
  INSTALL_DESTINATION ${SOLOCRON_INSTALL_CMAKEDIR})
# 0.x: a minor release may change the API, so only the same minor version is compatible.
write_basic_package_version_file(
  ${PROJECT_BINARY_DIR}/solocronConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/solocronConfig.cmake
              ${PROJECT_BINARY_DIR}/solocronConfigVersion.cmake
        DESTINATION ${SOLOCRON_INSTALL_CMAKEDIR}
        COMPONENT solocron_development)

# pkg-config: the component libraries in link order. solocron_component() is called after the
# components it links (src/CMakeLists.txt), so the reverse of registration order puts every
# library before the ones it needs, as a static link requires.
set(SOLOCRON_PC_LIBS "")
foreach(target ${solocron_components})
  get_target_property(type ${target} TYPE)
  if(type STREQUAL "STATIC_LIBRARY")
    string(PREPEND SOLOCRON_PC_LIBS "-l${target} ")
  endif()
endforeach()
# Instrumented static libraries need the sanitizer runtime at the consumer's link, as above.
if(SOLOCRON_SANITIZE)
  string(APPEND SOLOCRON_PC_LIBS " -fsanitize=address,undefined")
endif()
if(SOLOCRON_TSAN)
  string(APPEND SOLOCRON_PC_LIBS " -fsanitize=thread")
endif()
string(STRIP "${SOLOCRON_PC_LIBS}" SOLOCRON_PC_LIBS)
# What the components link, by the names of the Debian packages' own .pc files.
set(SOLOCRON_PC_REQUIRES "absl_time absl_civil_time sqlite3 libpq cpp-httplib nlohmann_json yaml-cpp")
set(SOLOCRON_PKGCONFIGDIR ${CMAKE_INSTALL_LIBDIR}/pkgconfig CACHE STRING
    "Where solocron.pc is installed, relative to the prefix")
# ${pcfiledir}/.. once per level of SOLOCRON_PKGCONFIGDIR (lib/x86_64-linux-gnu/pkgconfig: 3).
file(RELATIVE_PATH SOLOCRON_PC_UP /p/${SOLOCRON_PKGCONFIGDIR} /p)
string(REGEX REPLACE "/$" "" SOLOCRON_PC_UP "${SOLOCRON_PC_UP}")
configure_file(${PROJECT_SOURCE_DIR}/cmake/solocron.pc.in ${PROJECT_BINARY_DIR}/solocron.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/solocron.pc
        DESTINATION ${SOLOCRON_PKGCONFIGDIR}
        COMPONENT solocron_development)
