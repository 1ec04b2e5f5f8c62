# Finds cswarm's dependencies through pkg-config. A missing one stops the
# configure step with the Debian package that provides it.
find_package(PkgConfig)
if(NOT PKG_CONFIG_FOUND)
  message(FATAL_ERROR "pkg-config not found: apt-get install pkg-config")
endif()

function(cswarm_require var module debian_package)
  pkg_check_modules(${var} IMPORTED_TARGET ${module})
  if(NOT ${var}_FOUND)
    message(FATAL_ERROR "${module} not found: apt-get install ${debian_package} "
                        "(or run scripts/install-deps.sh)")
  endif()
endfunction()

cswarm_require(LIBUV libuv libuv1-dev)
cswarm_require(OPENSSL openssl libssl-dev)
cswarm_require(LIBCURL libcurl libcurl4-openssl-dev)
cswarm_require(LUA lua5.4 liblua5.4-dev)

find_package(Threads REQUIRED)

add_library(cswarm_deps INTERFACE)
target_link_libraries(cswarm_deps INTERFACE PkgConfig::LIBUV PkgConfig::OPENSSL
  PkgConfig::LIBCURL PkgConfig::LUA Threads::Threads ${CMAKE_DL_LIBS} m)

if(CSWARM_TESTS)
  cswarm_require(CMOCKA cmocka libcmocka-dev)
endif()
