# Rules of the source itself (docs/architecture.md): the layer rule, the
# style rules, and that every header compiles on its own (includes what it
# uses), which the build checks by compiling a file per header that includes
# only that header.
add_test(NAME layers COMMAND ${CMAKE_SOURCE_DIR}/tests/source/layers.sh)
add_test(NAME style COMMAND ${CMAKE_SOURCE_DIR}/tests/source/style.sh)
set_tests_properties(layers style PROPERTIES LABELS source)

file(GLOB_RECURSE KV_ALL_HEADERS CONFIGURE_DEPENDS RELATIVE ${CMAKE_SOURCE_DIR}
  include/*.h src/*.h)
set(KV_HEADER_UNITS)
foreach(h ${KV_ALL_HEADERS})
  string(MAKE_C_IDENTIFIER ${h} id)
  set(unit ${CMAKE_BINARY_DIR}/headers_alone/${id}.c)
  string(REGEX REPLACE "^(include|src)/" "" inc ${h})
  file(CONFIGURE OUTPUT ${unit} CONTENT "#include \"${inc}\"\n")
  list(APPEND KV_HEADER_UNITS ${unit})
endforeach()
add_library(kv_headers_alone OBJECT ${KV_HEADER_UNITS})
target_include_directories(kv_headers_alone PRIVATE include src)
target_compile_definitions(kv_headers_alone PRIVATE _GNU_SOURCE)
target_link_libraries(kv_headers_alone PRIVATE ${KV_DEPS})
