# Finds Botan 3 (>= 3.7) and provides the target pkiflow::botan.
# Order: Botan's own CMake package (Botan_DIR / CMAKE_PREFIX_PATH), then pkg-config botan-3.
# tools/setup-deps.sh prints the prefix of a Botan it built; pass it with
#   -DCMAKE_PREFIX_PATH=$(tools/setup-deps.sh)
set(PKIFLOW_BOTAN_MIN_VERSION 3.7)

if(NOT TARGET pkiflow::botan)
  set(_pkiflow_cache "$ENV{HOME}/.cache/pkiflow")
  if(DEFINED ENV{PKIFLOW_CACHE})
    set(_pkiflow_cache "$ENV{PKIFLOW_CACHE}")
  endif()
  file(GLOB _pkiflow_botan_hints "${_pkiflow_cache}/botan-3.*")
  find_package(Botan ${PKIFLOW_BOTAN_MIN_VERSION} CONFIG QUIET HINTS ${_pkiflow_botan_hints})
  if(Botan_FOUND)
    add_library(pkiflow_botan INTERFACE)
    if(TARGET Botan::Botan-static)
      set(PKIFLOW_BOTAN_TARGET Botan::Botan-static)
    else()
      set(PKIFLOW_BOTAN_TARGET Botan::Botan)
    endif()
    target_link_libraries(pkiflow_botan INTERFACE ${PKIFLOW_BOTAN_TARGET})
    set(PKIFLOW_BOTAN_VIA "config")
    set(PKIFLOW_BOTAN_SOURCE "CMake package in ${Botan_DIR}")
  else()
    find_package(PkgConfig QUIET)
    if(PkgConfig_FOUND)
      pkg_check_modules(BOTAN3 QUIET IMPORTED_TARGET "botan-3>=${PKIFLOW_BOTAN_MIN_VERSION}")
    endif()
    if(NOT BOTAN3_FOUND)
      message(FATAL_ERROR
        "pkiflow needs Botan 3 (>= ${PKIFLOW_BOTAN_MIN_VERSION}) and found none.\n"
        "Debian 12 only packages Botan 2. Run tools/setup-deps.sh: it builds Botan 3 once into "
        "~/.cache/pkiflow and prints its prefix; then configure with\n"
        "  cmake -DCMAKE_PREFIX_PATH=<that prefix> ...\n"
        "or point Botan_DIR at a directory holding botan-config.cmake, or PKG_CONFIG_PATH at one "
        "holding botan-3.pc.")
    endif()
    add_library(pkiflow_botan INTERFACE)
    set(PKIFLOW_BOTAN_TARGET PkgConfig::BOTAN3)
    target_link_libraries(pkiflow_botan INTERFACE PkgConfig::BOTAN3)
    set(PKIFLOW_BOTAN_VIA "pkg-config")
    set(PKIFLOW_BOTAN_SOURCE "pkg-config botan-3 ${BOTAN3_VERSION}")
  endif()
  add_library(pkiflow::botan ALIAS pkiflow_botan)
  message(STATUS "pkiflow: Botan from ${PKIFLOW_BOTAN_SOURCE}")
endif()
