# The Debian package (CPack DEB): `scripts/package.sh` -> build/solocron_VERSION_amd64.deb.
#
# It holds what a host's operator needs and nothing of the development install: the binary
# (component solocron_runtime, from SolocronInstall.cmake) and component solocron_deb: the
# systemd unit, /etc/solocron/jobs.yaml (a conffile), the man page, the Debian copyright and
# changelog, install.md and the Prometheus alert rules. solocron_deb's rules are
# EXCLUDE_FROM_ALL: a plain `cmake --install` (a prefix of the user's choice, the consumer test)
# never writes to /etc or /lib/systemd; only CPack, which installs component by component,
# picks them up. Its files are made by the target solocron_package_files (help2man, gzip).

set(SOLOCRON_PACKAGE_MAINTAINER "solocron maintainers <maintainers@solocron.invalid>" CACHE STRING
    "The Maintainer field of the Debian package and its changelog")
set(solocron_deb_src ${PROJECT_SOURCE_DIR}/deploy/debian)
set(solocron_deb_out ${PROJECT_BINARY_DIR}/debian)

# Debian wants a changelog in the package; the project's own is CHANGELOG.md. This one has a
# single entry for PROJECT_VERSION, dated by SOURCE_DATE_EPOCH when set (reproducible builds)
# or else by the configure run.
string(TIMESTAMP SOLOCRON_PACKAGE_DATE "%a, %d %b %Y %H:%M:%S +0000" UTC)
configure_file(${solocron_deb_src}/changelog.in ${solocron_deb_out}/changelog @ONLY)

find_program(SOLOCRON_HELP2MAN help2man)
find_program(SOLOCRON_GZIP gzip)
add_custom_command(
  OUTPUT ${solocron_deb_out}/solocron.1.gz
  COMMAND ${CMAKE_COMMAND} -DBIN=$<TARGET_FILE:solocron_cli> -DHELP2MAN=${SOLOCRON_HELP2MAN}
          -DGZIP=${SOLOCRON_GZIP} -DINCLUDE=${solocron_deb_src}/solocron.h2m
          -DOUT=${solocron_deb_out}/solocron.1.gz
          -P ${PROJECT_SOURCE_DIR}/cmake/solocron_manpage.cmake
  DEPENDS solocron_cli ${solocron_deb_src}/solocron.h2m ${PROJECT_SOURCE_DIR}/cmake/solocron_manpage.cmake
  COMMENT "Writing the man page from solocron --help"
  VERBATIM)
add_custom_command(
  OUTPUT ${solocron_deb_out}/changelog.gz
  COMMAND ${SOLOCRON_GZIP} -9nkf ${solocron_deb_out}/changelog
  DEPENDS ${solocron_deb_out}/changelog
  VERBATIM)
add_custom_target(solocron_package_files
  DEPENDS ${solocron_deb_out}/solocron.1.gz ${solocron_deb_out}/changelog.gz)

# Absolute destinations: the package's paths, whatever CPACK_PACKAGING_INSTALL_PREFIX is.
set(solocron_deb_rules COMPONENT solocron_deb EXCLUDE_FROM_ALL)
install(FILES ${solocron_deb_src}/solocron.service DESTINATION /lib/systemd/system ${solocron_deb_rules})
install(FILES ${solocron_deb_src}/jobs.yaml DESTINATION /etc/solocron ${solocron_deb_rules})
install(FILES ${solocron_deb_out}/solocron.1.gz DESTINATION /usr/share/man/man1 ${solocron_deb_rules})
install(FILES ${solocron_deb_src}/copyright ${solocron_deb_out}/changelog.gz
              ${PROJECT_SOURCE_DIR}/docs/install.md
        DESTINATION /usr/share/doc/solocron ${solocron_deb_rules})
install(FILES ${PROJECT_SOURCE_DIR}/deploy/prometheus/solocron-alerts.yaml
        DESTINATION /usr/share/solocron ${solocron_deb_rules})

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME solocron)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${SOLOCRON_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "cron jobs that run exactly once across a cluster")
set(CPACK_PACKAGE_DESCRIPTION
    "solocron runs cron jobs exactly once across a cluster of nodes that coordinate\n\
through a store: an embedded SQLite file on one host, or PostgreSQL shared by\n\
several hosts. This package runs one node as the systemd service\n\
solocron.service (user solocron), with the jobs of /etc/solocron/jobs.yaml.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
# cpack's "preinstall" step builds the target `all` first (every test, with SOLOCRON_BUILD_TESTS);
# the package needs only solocron_cli and solocron_package_files, which scripts/package.sh
# builds. This only stops `make install` from building everything first: `cmake --install`,
# which the docs and the consumer test use, never builds anything.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)
# One package from the runtime components; the headers and static libraries stay out.
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL solocron_runtime solocron_deb)
set(CPACK_COMPONENTS_GROUPING ALL_COMPONENTS_IN_ONE)
set(CPACK_DEBIAN_PACKAGE_NAME solocron)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# adduser for the postinst's user; tzdata because every schedule's time zone is read from it;
# init-system-helpers for deb-systemd-helper and deb-systemd-invoke in the maintainer scripts.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser, tzdata, init-system-helpers (>= 1.54~)")
# dpkg would otherwise take permissions from the umask of the build.
set(CPACK_INSTALL_DEFAULT_DIRECTORY_PERMISSIONS
    OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${solocron_deb_src}/conffiles ${solocron_deb_src}/postinst ${solocron_deb_src}/prerm
    ${solocron_deb_src}/postrm)
# The maintainer scripts 0755 and the rest 0644, as dpkg-deb and lintian expect.
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
