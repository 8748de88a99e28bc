# The installed package (label install): tests/install/check.sh installs this
# build into a temporary prefix and builds and runs programs against that
# prefix only (see the script for what each case checks). static_only
# configures and builds a second tree with -DKV_SHARED=OFF.
set(KV_INSTALL_TEST_ENV
  KV_VERSION=${PROJECT_VERSION}
  KV_LIBDIR=${CMAKE_INSTALL_LIBDIR}
  KV_SANITIZE=$<IF:$<BOOL:${KV_SANITIZE}>,ON,OFF>
  CC=${CMAKE_C_COMPILER}
  CXX=${CMAKE_CXX_COMPILER})
if(KV_SANITIZE)
  # Programs linking the sanitized library need the sanitizer runtimes.
  list(APPEND KV_INSTALL_TEST_ENV "KV_CONSUMER_FLAGS=-fsanitize=address,undefined")
endif()

foreach(case layout pkgconfig cmake static_only)
  add_test(NAME install_${case}
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/install/check.sh
            ${CMAKE_BINARY_DIR} ${CMAKE_CURRENT_SOURCE_DIR} ${case})
  set_tests_properties(install_${case} PROPERTIES LABELS install TIMEOUT 600
    ENVIRONMENT "${KV_INSTALL_TEST_ENV}")
endforeach()
set_tests_properties(install_static_only PROPERTIES PROCESSORS 2)

# The man page documents every command, option and exit status that
# `kvault --help` and `kvault COMMAND --help` list, and nothing else.
add_test(NAME man_page
  COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/tests/install/man_check.py
          $<TARGET_FILE:kvault> ${CMAKE_CURRENT_SOURCE_DIR}/doc/kvault.1 ${PROJECT_VERSION})
set_tests_properties(man_page PROPERTIES LABELS "cli;install" TIMEOUT 60)
