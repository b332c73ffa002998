# MPI integration tests of the dist layer: real `mpiexec -n 1|2|3` runs of tests/dist/
# sweep_driver (synthetic test backend) checked by tests/dist/mpi_sweep_test.py, and of
# device_check_driver checked by tests/dist/device_check_test.py. Label: mpi.
add_executable(dist_sweep_driver "${CMAKE_CURRENT_SOURCE_DIR}/sweep_driver.cpp")
target_link_libraries(dist_sweep_driver PRIVATE crammer_dist crammer_warnings)
target_include_directories(dist_sweep_driver PRIVATE "${CMAKE_CURRENT_SOURCE_DIR}")
# The startup device check (dist/device_check.hpp) under mpiexec, with a plain C++ probe.
add_executable(dist_device_check_driver "${CMAKE_CURRENT_SOURCE_DIR}/device_check_driver.cpp")
target_link_libraries(dist_device_check_driver PRIVATE crammer_dist crammer_warnings)

find_package(Python3 COMPONENTS Interpreter)
if(NOT Python3_Interpreter_FOUND)
  message(STATUS "crammer: no python3, skipping the dist MPI tests")
  return()
endif()
foreach(case equal failures sigterm_mpirun sigusr1_mpirun sigterm_ranks sigusr1_one_worker)
  add_test(NAME dist_mpi_${case}
           COMMAND "${Python3_EXECUTABLE}" "${CMAKE_CURRENT_SOURCE_DIR}/mpi_sweep_test.py" ${case}
                   --driver $<TARGET_FILE:dist_sweep_driver> --mpiexec "${MPIEXEC_EXECUTABLE}"
                   --workdir "${CMAKE_CURRENT_BINARY_DIR}/mpi_${case}")
  set_tests_properties(dist_mpi_${case} PROPERTIES
    LABELS mpi TIMEOUT 120
    ENVIRONMENT "OMPI_ALLOW_RUN_AS_ROOT=1;OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1")
endforeach()
foreach(case ok throws wrong)
  add_test(NAME dist_mpi_device_check_${case}
           COMMAND "${Python3_EXECUTABLE}" "${CMAKE_CURRENT_SOURCE_DIR}/device_check_test.py" ${case}
                   --driver $<TARGET_FILE:dist_device_check_driver> --mpiexec "${MPIEXEC_EXECUTABLE}"
                   --workdir "${CMAKE_CURRENT_BINARY_DIR}/mpi_device_check_${case}")
  set_tests_properties(dist_mpi_device_check_${case} PROPERTIES
    LABELS mpi TIMEOUT 180
    ENVIRONMENT "OMPI_ALLOW_RUN_AS_ROOT=1;OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1")
endforeach()
