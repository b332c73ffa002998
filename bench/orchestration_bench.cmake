# orchestration_bench: tasks/s the rank-0 coordinator sustains with 2, 4, 8 ranks on a synthetic
# task type (docs/bench/orchestration.md). It launches itself under mpiexec.
if(TARGET crammer_sweep)
  add_executable(orchestration_bench "${CMAKE_CURRENT_SOURCE_DIR}/orchestration_bench.cpp")
  target_link_libraries(orchestration_bench PRIVATE crammer_sweep crammer_warnings)
  target_compile_definitions(orchestration_bench PRIVATE
    CRAMMER_MPIEXEC="${MPIEXEC_EXECUTABLE}")
  if(CRAMMER_BUILD_TESTS)
    add_test(NAME bench_orchestration
             COMMAND orchestration_bench --ranks 2,4 --tasks 20000)
    set_tests_properties(bench_orchestration PROPERTIES LABELS bench TIMEOUT 300
      ENVIRONMENT "OMPI_ALLOW_RUN_AS_ROOT=1;OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1")
  endif()
endif()
