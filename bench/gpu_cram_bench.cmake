# gpu_cram_bench: crammer's sample-steps/s and MFU on one checkpoint at several batch sizes, the
# crammer half of bench/gpu/run.sh's side by side (docs/GPU.md).
if(TARGET crammer_cram)
  add_executable(gpu_cram_bench "${CMAKE_CURRENT_SOURCE_DIR}/gpu_cram_bench.cpp")
  target_link_libraries(gpu_cram_bench PRIVATE crammer_cram crammer_warnings)
  if(TARGET torch_cuda)
    target_compile_definitions(gpu_cram_bench PRIVATE CRAMMER_TORCH_HAS_CUDA=1)
  endif()
endif()
