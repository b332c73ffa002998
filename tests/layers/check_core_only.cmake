# cmake -DSOURCE=... -DBINARY=... -DTORCH_DIR=... -DPREFIX_PATH=... -P check_core_only.cmake
# Configures SOURCE with -DCRAMMER_CORE_ONLY=ON into BINARY and checks the targets it defines.
# PREFIX_PATH separates its entries with '|'.
string(REPLACE "|" ";" PREFIX_PATH "${PREFIX_PATH}")
file(REMOVE_RECURSE "${BINARY}")
execute_process(
  COMMAND "${CMAKE_COMMAND}" -S "${SOURCE}" -B "${BINARY}" -G Ninja -DCRAMMER_CORE_ONLY=ON
          "-DTorch_DIR=${TORCH_DIR}" "-DCMAKE_PREFIX_PATH=${PREFIX_PATH}"
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "CRAMMER_CORE_ONLY=ON did not configure (exit ${rc}):\n${out}\n${err}")
endif()
file(READ "${BINARY}/build.ninja" ninja)
foreach(target crammer_util crammer_core crammer_config crammer_model crammer_cram gpu_cram_bench
               reference_forward_tool cram_bench)
  if(NOT ninja MATCHES "build ${target}:")
    message(FATAL_ERROR "CRAMMER_CORE_ONLY=ON defines no target ${target}")
  endif()
endforeach()
foreach(target crammer_text crammer_plan crammer_train crammer_slurm crammer_store crammer_sweep crammer
               reference_test_golden)
  if(ninja MATCHES "build ${target}:")
    message(FATAL_ERROR "CRAMMER_CORE_ONLY=ON still defines ${target}")
  endif()
endforeach()
file(REMOVE_RECURSE "${BINARY}")
message(STATUS "CRAMMER_CORE_ONLY=ON configures the core layers and the GPU run's programs alone")
