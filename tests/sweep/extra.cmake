# MPI integration tests of the sweep layer: real `mpiexec -n 1|2|3` runs of tests/sweep/
# sweep_driver (synthetic test backend) checked by tests/sweep/mpi_sweep_test.py, and of
# device_check_driver checked by tests/sweep/device_check_test.py, and of mpi_session_driver
# checked by tests/sweep/mpi_session_test.py. Label: mpi.
add_executable(sweep_sweep_driver "${CMAKE_CURRENT_SOURCE_DIR}/sweep_driver.cpp")
target_link_libraries(sweep_sweep_driver PRIVATE crammer_sweep crammer_warnings)
target_include_directories(sweep_sweep_driver PRIVATE "${CMAKE_CURRENT_SOURCE_DIR}")
# The startup device check (sweep/device_check.hpp) under mpiexec, with a plain C++ probe.
add_executable(sweep_device_check_driver "${CMAKE_CURRENT_SOURCE_DIR}/device_check_driver.cpp")
target_link_libraries(sweep_device_check_driver PRIVATE crammer_sweep crammer_warnings)
# MPI's lifetime, the coordinator step and the host gather (sweep/mpi_session.hpp).
add_executable(sweep_mpi_session_driver "${CMAKE_CURRENT_SOURCE_DIR}/mpi_session_driver.cpp")
target_link_libraries(sweep_mpi_session_driver PRIVATE crammer_sweep crammer_warnings)

find_package(Python3 COMPONENTS Interpreter)
if(NOT Python3_Interpreter_FOUND)
  message(STATUS "crammer: no python3, skipping the sweep MPI tests")
  return()
endif()
# crammer_mpi_python_test(NAME SCRIPT DRIVER TIMEOUT CASES...): one ctest per case, running
# SCRIPT with the case name, the driver and mpiexec, in a work directory of its own.
function(crammer_mpi_python_test name script driver timeout)
  foreach(case IN LISTS ARGN)
    add_test(NAME ${name}_${case}
             COMMAND "${Python3_EXECUTABLE}" "${CMAKE_CURRENT_SOURCE_DIR}/${script}" ${case}
                     --driver $<TARGET_FILE:${driver}> --mpiexec "${MPIEXEC_EXECUTABLE}"
                     --workdir "${CMAKE_CURRENT_BINARY_DIR}/${name}_${case}")
    set_tests_properties(${name}_${case} PROPERTIES
      LABELS mpi TIMEOUT ${timeout}
      ENVIRONMENT "OMPI_ALLOW_RUN_AS_ROOT=1;OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1")
  endforeach()
endfunction()
crammer_mpi_python_test(sweep_mpi mpi_sweep_test.py sweep_sweep_driver 120
                        equal failures fatal sigterm_mpirun sigusr1_mpirun sigterm_ranks sigusr1_one_worker
                        lost_worker no_worker_left)
crammer_mpi_python_test(sweep_mpi_device_check device_check_test.py sweep_device_check_driver 180
                        ok throws wrong)
crammer_mpi_python_test(sweep_mpi_session mpi_session_test.py sweep_mpi_session_driver 180 ok config crash stall)
