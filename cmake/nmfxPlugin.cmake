# nmfx_add_plugin(<name> KIND <dataset|loss|solver|metric|analysis> SOURCES <files...>
#                 [LIBRARIES <libs...>] [OUTPUT_DIRECTORY <dir>]
#                 [INSTALL | NO_INSTALL] [INSTALL_DESTINATION <dir>])
#
# Builds one nmfx plugin as a shared library (MODULE) named <name>.so, with the compile flags and
# ABI the nmfx framework was built with (they come from the nmfx::plugin_api target: C++17, no
# layout-changing definitions, linked to libnmfx), hidden visibility, and no "lib" prefix. The
# built-in plugins are built with this same function, in the nmfx tree.
#
#   OUTPUT_DIRECTORY     where <name>.so is written (default: ${NMFX_PLUGIN_OUTPUT_DIR} if set, which
#                        is the nmfx build tree's plugins/ folder, else the current binary folder)
#   INSTALL / NO_INSTALL whether `cmake --install` installs the plugin. Without either, it is
#                        installed unless the variable NMFX_INSTALL_PLUGINS is false (nmfx's own test
#                        plugins set it so).
#   INSTALL_DESTINATION  where it is installed, relative to the install prefix (default
#                        lib/nmfx/plugins: the folder an installed nmfx searches, so a plugin installed
#                        into nmfx's own prefix is found without NMFX_PLUGIN_PATH)
#
# The target gets the property NMFX_ABI_VERSION (the plugin ABI it is built for) and is appended to
# the global property NMFX_PLUGINS.
function(nmfx_add_plugin name)
  cmake_parse_arguments(P "INSTALL;NO_INSTALL" "KIND;OUTPUT_DIRECTORY;INSTALL_DESTINATION" "SOURCES;LIBRARIES" ${ARGN})
  if(P_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "nmfx_add_plugin(${name}): unknown arguments: ${P_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT P_KIND MATCHES "^(dataset|loss|solver|metric|analysis)$")
    message(FATAL_ERROR "nmfx_add_plugin(${name}): KIND must be dataset, loss, solver, metric or analysis, not '${P_KIND}'")
  endif()
  if(NOT P_SOURCES)
    message(FATAL_ERROR "nmfx_add_plugin(${name}): SOURCES is empty")
  endif()
  if(P_INSTALL AND P_NO_INSTALL)
    message(FATAL_ERROR "nmfx_add_plugin(${name}): give INSTALL or NO_INSTALL, not both")
  endif()
  if(TARGET nmfx_plugin_api)
    set(api nmfx_plugin_api)        # inside the nmfx source tree
    set(in_tree TRUE)
  else()
    set(api nmfx::plugin_api)       # from an installed or exported package
    set(in_tree FALSE)
  endif()
  add_library(${name} MODULE ${P_SOURCES})
  target_link_libraries(${name} PRIVATE ${api} ${P_LIBRARIES})
  if(NOT P_OUTPUT_DIRECTORY)
    if(DEFINED NMFX_PLUGIN_OUTPUT_DIR)
      set(P_OUTPUT_DIRECTORY ${NMFX_PLUGIN_OUTPUT_DIR})
    else()
      set(P_OUTPUT_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
    endif()
  endif()
  set(abi "${NMFX_ABI_VERSION}")
  if(NOT abi AND DEFINED nmfx_ABI_VERSION)
    set(abi "${nmfx_ABI_VERSION}")
  endif()
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    OUTPUT_NAME "${name}"
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    LIBRARY_OUTPUT_DIRECTORY ${P_OUTPUT_DIRECTORY}
    NMFX_KIND ${P_KIND}
    NMFX_ABI_VERSION "${abi}")
  set_property(GLOBAL APPEND PROPERTY NMFX_PLUGINS ${name})

  # Installation: lib/nmfx/plugins by default, beside an installed nmfx's own plugins.
  if(NOT DEFINED NMFX_INSTALL_PLUGINS)
    set(NMFX_INSTALL_PLUGINS ON)
  endif()
  if(P_INSTALL OR (NMFX_INSTALL_PLUGINS AND NOT P_NO_INSTALL))
    if(NOT P_INSTALL_DESTINATION)
      set(P_INSTALL_DESTINATION lib/nmfx/plugins)
    endif()
    if(in_tree)
      # libnmfx is installed two folders up (<prefix>/lib).
      set_target_properties(${name} PROPERTIES INSTALL_RPATH "$ORIGIN/../..")
    else()
      # Keep the path to the libnmfx this plugin was built against.
      set_target_properties(${name} PROPERTIES INSTALL_RPATH_USE_LINK_PATH ON)
    endif()
    install(TARGETS ${name} LIBRARY DESTINATION ${P_INSTALL_DESTINATION})
  endif()
endfunction()
