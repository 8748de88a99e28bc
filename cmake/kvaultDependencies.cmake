# The libraries libkvault links, found the same way by kvault's own build and
# by the installed CMake package (kvaultConfig.cmake includes this file for
# kvault::kvault_static, whose link interface names the targets below).
#
# Defines, where they are not defined yet:
#   Threads::Threads, CURL::libcurl, OpenSSL::Crypto, LibXml2::LibXml2
#                        (CMake's own find modules)
#   kvault_dep::rocksdb  RocksDB's CMake package if it has one (its target
#                        names the compression libraries a static librocksdb.a
#                        needs), else librocksdb and rocksdb/c.h
#   kvault_dep::jansson, kvault_dep::isal, kvault_dep::zstd
#                        the library and its header
# and sets kvault_DEPENDENCIES_MISSING to the names of those not found ("" when
# all were). Finding is quiet; the includer decides how to fail.

set(kvault_DEPENDENCIES_MISSING "")

find_package(Threads QUIET)
if(NOT TARGET Threads::Threads)
  list(APPEND kvault_DEPENDENCIES_MISSING "Threads (pthreads)")
endif()
find_package(CURL QUIET)
if(NOT TARGET CURL::libcurl)
  list(APPEND kvault_DEPENDENCIES_MISSING "libcurl")
endif()
find_package(OpenSSL QUIET COMPONENTS Crypto)
if(NOT TARGET OpenSSL::Crypto)
  list(APPEND kvault_DEPENDENCIES_MISSING "OpenSSL libcrypto")
endif()
find_package(LibXml2 QUIET)
if(NOT TARGET LibXml2::LibXml2)
  list(APPEND kvault_DEPENDENCIES_MISSING "libxml2")
endif()

# _kvault_imported_library(TARGET NAME HEADER): TARGET for library NAME and the
# directory holding HEADER.
function(_kvault_imported_library target name header)
  if(TARGET ${target})
    return()
  endif()
  string(TOUPPER "${name}" upper)
  find_library(KVAULT_${upper}_LIBRARY NAMES ${name})
  find_path(KVAULT_${upper}_INCLUDE_DIR NAMES ${header})
  if(KVAULT_${upper}_LIBRARY AND KVAULT_${upper}_INCLUDE_DIR)
    add_library(${target} UNKNOWN IMPORTED)
    set_target_properties(${target} PROPERTIES
      IMPORTED_LOCATION "${KVAULT_${upper}_LIBRARY}"
      INTERFACE_INCLUDE_DIRECTORIES "${KVAULT_${upper}_INCLUDE_DIR}")
  else()
    set(kvault_DEPENDENCIES_MISSING ${kvault_DEPENDENCIES_MISSING} "${name} (lib${name} and ${header})"
      PARENT_SCOPE)
  endif()
endfunction()

if(NOT TARGET kvault_dep::rocksdb)
  find_package(RocksDB CONFIG QUIET)
  if(TARGET RocksDB::rocksdb-shared OR TARGET RocksDB::rocksdb)
    add_library(kvault_dep::rocksdb INTERFACE IMPORTED)
    if(TARGET RocksDB::rocksdb-shared)
      set_target_properties(kvault_dep::rocksdb PROPERTIES
        INTERFACE_LINK_LIBRARIES RocksDB::rocksdb-shared)
    else()
      set_target_properties(kvault_dep::rocksdb PROPERTIES
        INTERFACE_LINK_LIBRARIES RocksDB::rocksdb)
    endif()
  else()
    _kvault_imported_library(kvault_dep::rocksdb rocksdb rocksdb/c.h)
  endif()
endif()
_kvault_imported_library(kvault_dep::jansson jansson jansson.h)
_kvault_imported_library(kvault_dep::isal isal isa-l/crc.h)
_kvault_imported_library(kvault_dep::zstd zstd zstd.h)
