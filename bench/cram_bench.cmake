# cram_bench: cramming throughput vs dense GEMM and head/CE peak memory (docs/bench/cram.md).
if(TARGET crammer_cram)
  add_executable(cram_bench "${CMAKE_CURRENT_SOURCE_DIR}/cram_bench.cpp")
  target_link_libraries(cram_bench PRIVATE crammer_cram crammer_warnings)
endif()
