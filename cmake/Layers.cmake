# crammer_layer(NAME DEPS ...): a STATIC library of every .cpp in src/<NAME>/, headers under
# include/crammer/<NAME>/. A layer with no sources yet is skipped; a layer whose dependency is
# not defined yet is a configure error.
#
# Each layer publishes only its own headers: its include root (in the build tree) holds just
# crammer/<NAME>, a link to include/crammer/<NAME>. A layer (or test) therefore sees the headers
# of the layers it links and no others: an include of a layer it does not link fails to compile.
function(crammer_layer_headers target name)
  set(root "${PROJECT_BINARY_DIR}/layer-include/${name}")
  if(NOT EXISTS "${root}/crammer/${name}")
    file(MAKE_DIRECTORY "${root}/crammer")
    file(CREATE_LINK "${PROJECT_SOURCE_DIR}/include/crammer/${name}" "${root}/crammer/${name}" SYMBOLIC)
  endif()
  target_include_directories(${target} PUBLIC "${root}")
endfunction()

function(crammer_layer name)
  cmake_parse_arguments(L "" "" "DEPS;PRIVATE_DEPS" ${ARGN})
  file(GLOB sources CONFIGURE_DEPENDS "${CMAKE_CURRENT_SOURCE_DIR}/*.cpp")
  list(FILTER sources EXCLUDE REGEX "/main\\.cpp$")
  if(NOT sources)
    return()
  endif()
  foreach(dep IN LISTS L_DEPS)
    # A layer below must already exist: a silent skip would drop this layer, its tests and the app.
    if(dep MATCHES "^crammer_" AND NOT TARGET ${dep})
      message(FATAL_ERROR "crammer: layer ${name} needs ${dep}, which is not defined yet: "
                          "add ${dep}'s layer before ${name} in src/CMakeLists.txt")
    endif()
  endforeach()
  add_library(crammer_${name} STATIC ${sources})
  target_link_libraries(crammer_${name} PUBLIC ${L_DEPS} PRIVATE crammer_warnings ${L_PRIVATE_DEPS})
  crammer_layer_headers(crammer_${name} ${name})
endfunction()
