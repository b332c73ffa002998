# Store tests beyond the test_*.cpp unit suites: the append throughput benchmark (label bench).
crammer_add_gtest(store_bench_append SOURCES "${CMAKE_CURRENT_SOURCE_DIR}/bench_append.cpp"
  LIBS crammer_store LABELS bench TIMEOUT 600)
# The resume test writes an older build's journal: it needs the journal codec (private to src/store).
target_include_directories(store_test_resume PRIVATE "${PROJECT_SOURCE_DIR}/src/store")
