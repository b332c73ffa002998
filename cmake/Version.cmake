# Version and git commit, baked into a generated header so `crammer --version` can report them.
find_package(Git QUIET)
set(CRAMMER_GIT_COMMIT "unknown")
if(GIT_FOUND AND EXISTS "${CMAKE_SOURCE_DIR}/.git")
  execute_process(COMMAND "${GIT_EXECUTABLE}" rev-parse --short=12 HEAD
                  WORKING_DIRECTORY "${CMAKE_SOURCE_DIR}"
                  OUTPUT_VARIABLE _commit OUTPUT_STRIP_TRAILING_WHITESPACE
                  ERROR_QUIET RESULT_VARIABLE _rc)
  if(_rc EQUAL 0 AND _commit)
    set(CRAMMER_GIT_COMMIT "${_commit}")
  endif()
endif()
configure_file("${CMAKE_SOURCE_DIR}/cmake/version.hpp.in"
               "${CMAKE_BINARY_DIR}/generated/crammer/version.hpp" @ONLY)
