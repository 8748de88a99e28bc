# kvault as a vcpkg overlay port that builds the kvault checkout it lives in:
#   vcpkg install kvault --overlay-ports=<kvault checkout>/packaging/vcpkg
# (docs/install.md, "vcpkg"). A port in a registry would instead fetch a
# release with vcpkg_from_github or vcpkg_from_git and its SHA512.
get_filename_component(SOURCE_PATH "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)
if(NOT EXISTS "${SOURCE_PATH}/include/kvault.h")
    message(FATAL_ERROR "${SOURCE_PATH} is not a kvault source tree; this port builds the checkout that contains it")
endif()
# vcpkg installs each port's license as share/<port>/copyright and checks that
# it is there; say so now rather than after the build.
if(NOT EXISTS "${SOURCE_PATH}/LICENSE")
    message(FATAL_ERROR "${SOURCE_PATH} has no LICENSE file, which vcpkg installs as share/${PORT}/copyright")
endif()

# Dynamic triplets get libkvault.so (kvault::kvault) and libkvault.a
# (kvault::kvault_static); static triplets libkvault.a only, and
# kvault::kvault is then the static library.
string(COMPARE EQUAL "${VCPKG_LIBRARY_LINKAGE}" "dynamic" KV_SHARED)

vcpkg_cmake_configure(
    SOURCE_PATH "${SOURCE_PATH}"
    OPTIONS
        -DBUILD_TESTING=OFF
        -DKV_SHARED=${KV_SHARED}
)
vcpkg_cmake_install()
vcpkg_cmake_config_fixup(CONFIG_PATH lib/cmake/kvault)
vcpkg_fixup_pkgconfig()
vcpkg_copy_tools(TOOL_NAMES kvault AUTO_CLEAN)

file(REMOVE_RECURSE "${CURRENT_PACKAGES_DIR}/debug/include" "${CURRENT_PACKAGES_DIR}/debug/share")

file(INSTALL "${CMAKE_CURRENT_LIST_DIR}/usage" DESTINATION "${CURRENT_PACKAGES_DIR}/share/${PORT}")
vcpkg_install_copyright(FILE_LIST "${SOURCE_PATH}/LICENSE")
