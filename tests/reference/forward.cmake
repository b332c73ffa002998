# crammer's forward outputs for given ids (reference_forward.cpp) and the tool that writes them
# (forward_tool.cpp): the test suite's golden checks use the library, the live transformers
# checks and bench/gpu/run.sh (a GPU machine, no GoogleTest) use the tool. Included from
# tests/reference and from bench/, whichever comes first defines them.
if(TARGET crammer_cram AND NOT TARGET crammer_reference_forward)
  add_library(crammer_reference_forward STATIC "${CMAKE_CURRENT_LIST_DIR}/reference_forward.cpp")
  target_link_libraries(crammer_reference_forward PUBLIC crammer_cram PRIVATE crammer_warnings)
  target_include_directories(crammer_reference_forward PUBLIC "${CMAKE_CURRENT_LIST_DIR}")
  add_executable(reference_forward_tool "${CMAKE_CURRENT_LIST_DIR}/forward_tool.cpp")
  target_link_libraries(reference_forward_tool PRIVATE crammer_reference_forward crammer_warnings)
endif()
