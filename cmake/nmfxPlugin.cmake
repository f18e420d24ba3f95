# nmfx_add_plugin(<name> KIND <dataset|loss|solver|metric> SOURCES <files...> [LIBRARIES <libs...>]
#                 [OUTPUT_DIRECTORY <dir>])
#
# Builds one nmfx plugin as a shared library (MODULE) named <name>.so, with the compile flags and
# ABI the nmfx framework was built with (they come from the nmfx::plugin_api target). The built-in
# plugins are built with this same function.
function(nmfx_add_plugin name)
  cmake_parse_arguments(P "" "KIND;OUTPUT_DIRECTORY" "SOURCES;LIBRARIES" ${ARGN})
  if(NOT P_KIND MATCHES "^(dataset|loss|solver|metric)$")
    message(FATAL_ERROR "nmfx_add_plugin(${name}): KIND must be dataset, loss, solver or metric, not '${P_KIND}'")
  endif()
  if(NOT P_SOURCES)
    message(FATAL_ERROR "nmfx_add_plugin(${name}): SOURCES is empty")
  endif()
  if(TARGET nmfx_plugin_api)
    set(api nmfx_plugin_api)        # inside the nmfx source tree
  else()
    set(api nmfx::plugin_api)       # from an installed or exported package
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
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    OUTPUT_NAME "${name}"
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    LIBRARY_OUTPUT_DIRECTORY ${P_OUTPUT_DIRECTORY})
  set_property(GLOBAL APPEND PROPERTY NMFX_PLUGINS ${name})
endfunction()
