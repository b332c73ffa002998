# scan_bench: Mamba's sequential vs chunked selective scan, time and peak memory (docs/BENCHMARKS.md).
if(TARGET crammer_model)
  add_executable(scan_bench "${CMAKE_CURRENT_SOURCE_DIR}/scan_bench.cpp")
  target_link_libraries(scan_bench PRIVATE crammer_model crammer_warnings)
endif()
