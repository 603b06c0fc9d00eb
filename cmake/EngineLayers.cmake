# The engine as one static library per layer (ENGINE.md, "Layering"):
#
#   core  <-  util  <-  io  <-  dns, tls  <-  http  <-  ws, rpc
#
# Each layer links only the layers below it, and two checks make an upward
# dependency a build error rather than a review comment:
# - at configure time, every #include "engine/<layer>/..." in a layer's
#   sources must name the layer itself or one below it;
# - at build time, each layer is linked whole (--whole-archive) against
#   only the layers below it: a call into a layer above is an undefined
#   symbol.

# Layer name, then the layers it may use directly.
set(EVTOOL_LAYER_DEPS
  "core"
  "util core"
  "io util"
  "dns io"
  "tls io"
  "http dns tls")

function(_evtool_layer_closure layer out)
  set(result ${layer})
  foreach(entry IN LISTS EVTOOL_LAYER_DEPS)
    string(REPLACE " " ";" parts "${entry}")
    list(POP_FRONT parts name)
    if(name STREQUAL layer)
      foreach(dep IN LISTS parts)
        _evtool_layer_closure(${dep} sub)
        list(APPEND result ${sub})
      endforeach()
    endif()
  endforeach()
  list(REMOVE_DUPLICATES result)
  set(${out} ${result} PARENT_SCOPE)
endfunction()

set(EVTOOL_ENGINE_LIBRARIES "")
foreach(entry IN LISTS EVTOOL_LAYER_DEPS)
  string(REPLACE " " ";" parts "${entry}")
  list(POP_FRONT parts layer)

  # The include check.
  _evtool_layer_closure(${layer} allowed)
  file(GLOB_RECURSE layer_files CONFIGURE_DEPENDS
       ${PROJECT_SOURCE_DIR}/src/engine/${layer}/*.cpp ${PROJECT_SOURCE_DIR}/src/engine/${layer}/*.h)
  foreach(f IN LISTS layer_files)
    file(STRINGS ${f} includes REGEX "^#include \"engine/[a-z_]+/")
    foreach(line IN LISTS includes)
      string(REGEX REPLACE "^#include \"engine/([a-z_]+)/.*" "\\1" used "${line}")
      if(NOT used IN_LIST allowed)
        file(RELATIVE_PATH rel ${PROJECT_SOURCE_DIR} ${f})
        message(FATAL_ERROR "${rel}: the ${layer} layer includes engine/${used}/, a layer it may not use "
                            "(${layer} may use: ${allowed}; see ENGINE.md, Layering)")
      endif()
    endforeach()
  endforeach()

  file(GLOB_RECURSE layer_sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/engine/${layer}/*.cpp)
  add_library(ev_${layer} STATIC ${layer_sources})
  target_include_directories(ev_${layer} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  foreach(dep IN LISTS parts)
    target_link_libraries(ev_${layer} PUBLIC ev_${dep})
  endforeach()
  list(APPEND EVTOOL_ENGINE_LIBRARIES ev_${layer})

  # The link check: all of this layer, and only the layers below it.
  add_executable(layer_check_${layer} ${PROJECT_SOURCE_DIR}/cmake/layer_check.cpp)
  target_link_libraries(layer_check_${layer} PRIVATE
    -Wl,--whole-archive ev_${layer} -Wl,--no-whole-archive)
  foreach(dep IN LISTS parts)
    target_link_libraries(layer_check_${layer} PRIVATE ev_${dep})
  endforeach()
endforeach()

target_compile_definitions(ev_core PUBLIC EVTOOL_VERSION="${PROJECT_VERSION}")
target_link_libraries(ev_core PUBLIC Threads::Threads)
target_link_libraries(ev_tls PUBLIC OpenSSL::SSL OpenSSL::Crypto)

# Everything, for the command-line tool and the tests.
add_library(evengine INTERFACE)
target_link_libraries(evengine INTERFACE ${EVTOOL_ENGINE_LIBRARIES})
