# model_load_bench: times load_model on a generated ~530 MB Llama-shaped checkpoint (docs/bench/model_load.md).
if(TARGET crammer_model)
  add_executable(model_load_bench "${CMAKE_CURRENT_SOURCE_DIR}/model_load.cpp")
  target_link_libraries(model_load_bench PRIVATE crammer_model crammer_warnings)
endif()
