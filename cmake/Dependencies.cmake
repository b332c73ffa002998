# Finds every external dependency once; optional ones are compiled out with a definition.
find_package(Torch REQUIRED)
# Torch's CMake config appends its ABI flag to CMAKE_CXX_FLAGS; every target must agree on it.
set(CMAKE_CXX_FLAGS "${CMAKE_CXX_FLAGS} ${TORCH_CXX_FLAGS}")

find_package(yaml-cpp REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(spdlog REQUIRED)
find_package(fmt REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(PCRE2 REQUIRED IMPORTED_TARGET libpcre2-8)
pkg_check_modules(SENTENCEPIECE REQUIRED IMPORTED_TARGET sentencepiece)
# Debian's libsentencepiece carries protobuf-lite code and exports its symbols; loaded before
# libprotobuf (which LibTorch needs) they interpose on protobuf's own static initialisers and
# crash the process before main. Linking libprotobuf first makes its definitions win.
# (LibTorch's CMake config turns --as-needed on, which would drop it: keep it explicitly.)
pkg_check_modules(PROTOBUF REQUIRED protobuf)
find_library(CRAMMER_PROTOBUF_LIBRARY NAMES protobuf HINTS ${PROTOBUF_LIBRARY_DIRS} REQUIRED)
add_library(crammer_protobuf_first INTERFACE)
target_link_libraries(crammer_protobuf_first INTERFACE
  "-Wl,--push-state,--no-as-needed" "${CRAMMER_PROTOBUF_LIBRARY}" "-Wl,--pop-state")
# NFC normalisation of tokenizer.json normalizers (GPT-NeoX / Pythia).
pkg_check_modules(ICU REQUIRED IMPORTED_TARGET icu-uc)
find_package(Threads REQUIRED)

if(CRAMMER_BUILD_APP)
  find_package(HDF5 REQUIRED COMPONENTS C)
  find_package(MPI REQUIRED COMPONENTS CXX)
  find_package(Boost 1.71 REQUIRED COMPONENTS program_options)
endif()

if(CRAMMER_WITH_CUDA OR CRAMMER_WITH_NCCL)
  find_package(CUDAToolkit)
  if(NOT CUDAToolkit_FOUND)
    message(FATAL_ERROR "CRAMMER_WITH_CUDA/NCCL=ON needs the CUDA toolkit: set -DCUDAToolkit_ROOT=/usr/local/cuda")
  endif()
endif()
if(CRAMMER_WITH_NCCL)
  find_path(NCCL_INCLUDE_DIR nccl.h HINTS ${CUDAToolkit_INCLUDE_DIRS} ${CUDAToolkit_LIBRARY_ROOT}/include ENV NCCL_HOME PATH_SUFFIXES include)
  find_library(NCCL_LIBRARY nccl HINTS ${CUDAToolkit_LIBRARY_DIR} ${CUDAToolkit_LIBRARY_ROOT}/lib64 ENV NCCL_HOME PATH_SUFFIXES lib lib64)
  if(NOT NCCL_INCLUDE_DIR OR NOT NCCL_LIBRARY)
    message(FATAL_ERROR "CRAMMER_WITH_NCCL=ON but nccl.h / libnccl were not found: set -DNCCL_INCLUDE_DIR=... -DNCCL_LIBRARY=... or NCCL_HOME")
  endif()
  add_library(crammer_nccl INTERFACE)
  target_include_directories(crammer_nccl INTERFACE ${NCCL_INCLUDE_DIR})
  target_link_libraries(crammer_nccl INTERFACE ${NCCL_LIBRARY} CUDA::cudart)
  message(STATUS "crammer: NCCL ${NCCL_LIBRARY}")
endif()
