# Writes and installs kvault.pc. Runs at install time (CMakeLists.txt includes
# it from an install(CODE) rule that sets KV_PC_VERSION, KV_PC_LIBDIR,
# KV_PC_INCLUDEDIR and KV_PC_WORKDIR), because only then is
# CMAKE_INSTALL_PREFIX the prefix actually installed to: `cmake --install
# BUILD --prefix DIR` changes it after configuration. Relative directories are
# taken from ${prefix}. DESTDIR is applied by file(INSTALL) and is not in the
# file. The file is written in a directory of its own per destination, so
# that installs of one build to several prefixes at once do not mix them up.
set(KV_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
set(pcdir "${KV_PC_LIBDIR}/pkgconfig")
if(NOT IS_ABSOLUTE "${pcdir}")
  set(pcdir "${CMAKE_INSTALL_PREFIX}/${pcdir}")
endif()
foreach(dir LIBDIR INCLUDEDIR)
  if(NOT IS_ABSOLUTE "${KV_PC_${dir}}")
    set(KV_PC_${dir} "\${prefix}/${KV_PC_${dir}}")
  endif()
endforeach()
string(SHA1 dest "$ENV{DESTDIR}${pcdir}")
set(pcfile "${KV_PC_WORKDIR}/${dest}/kvault.pc")
configure_file("${CMAKE_CURRENT_LIST_DIR}/kvault.pc.in" "${pcfile}" @ONLY)
file(INSTALL "${pcfile}" DESTINATION "${pcdir}")
