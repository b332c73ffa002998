# Finds every external dependency once; optional ones are compiled out with a definition.
find_package(Torch REQUIRED)
# A pip-installed PyTorch's TorchConfig finds libtorch.so through the system paths first: with
# another LibTorch installed there (Debian's libtorch-dev), headers of one would meet libraries of
# the other.
get_filename_component(_torch_lib_dir "${TORCH_LIBRARY}" DIRECTORY)
get_filename_component(_torch_lib_dir "${_torch_lib_dir}" REALPATH)
get_filename_component(_torch_prefix "${TORCH_INSTALL_PREFIX}" REALPATH)
string(FIND "${_torch_lib_dir}" "${_torch_prefix}" _torch_at)
if(TORCH_INSTALL_PREFIX AND NOT _torch_at EQUAL 0)
  message(FATAL_ERROR "LibTorch mix-up: TorchConfig from ${TORCH_INSTALL_PREFIX} found ${TORCH_LIBRARY}. "
                      "Put the torch directory itself first: -DCMAKE_PREFIX_PATH=\"${TORCH_INSTALL_PREFIX};${Torch_DIR}\" "
                      "(scripts/venv.sh --cmake-args does).")
endif()
# scaled_dot_product_attention with enable_gqa (src/model/attention.cpp) arrived in LibTorch 2.5.
if(Torch_VERSION VERSION_LESS 2.5)
  message(FATAL_ERROR "crammer needs LibTorch >= 2.5 (found ${Torch_VERSION} in ${_torch_lib_dir}): "
                      "bash scripts/setup.sh builds against the pinned PyTorch wheel")
endif()
message(STATUS "crammer: LibTorch ${Torch_VERSION} from ${_torch_lib_dir}")
# PyTorch wheels export copies of statically linked libstdc++ symbols (std::filesystem among
# them; pytorch/pytorch#133437); a program that needs libtorch before libstdc++ binds to those
# copies, and remove_all crashes through a null pointer. libstdc++ first in DT_NEEDED wins.
add_link_options("LINKER:--push-state,--no-as-needed" "-lstdc++" "LINKER:--pop-state")
# Torch's CMake config appends its ABI flag to CMAKE_CXX_FLAGS; every target must agree on it.
set(CMAKE_CXX_FLAGS "${CMAKE_CXX_FLAGS} ${TORCH_CXX_FLAGS}")

find_package(yaml-cpp REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(spdlog REQUIRED)
find_package(fmt REQUIRED)
# The PyTorch wheel ships its own (newer) fmt headers in its include directory, which comes
# before /usr/include; spdlog, built against the system fmt, would then see the wrong one. A
# directory holding only a link to the system fmt, searched first (-I), keeps one fmt for all.
if(EXISTS "${TORCH_INSTALL_PREFIX}/include/fmt")
  get_target_property(_fmt_inc fmt::fmt INTERFACE_INCLUDE_DIRECTORIES)
  list(GET _fmt_inc 0 _fmt_inc)
  set(_fmt_first "${CMAKE_BINARY_DIR}/fmt-first")
  file(MAKE_DIRECTORY "${_fmt_first}")
  file(CREATE_LINK "${_fmt_inc}/fmt" "${_fmt_first}/fmt" SYMBOLIC)
  include_directories(BEFORE "${_fmt_first}")
  message(STATUS "crammer: LibTorch bundles fmt; using ${_fmt_inc}/fmt first")
endif()
if(NOT CRAMMER_CORE_ONLY)  # the text layer's
  find_package(PkgConfig REQUIRED)
  pkg_check_modules(PCRE2 REQUIRED IMPORTED_TARGET libpcre2-8)
  pkg_check_modules(SENTENCEPIECE REQUIRED IMPORTED_TARGET sentencepiece)
  # NFC normalisation of tokenizer.json normalizers (GPT-NeoX / Pythia).
  pkg_check_modules(ICU REQUIRED IMPORTED_TARGET icu-uc)
endif()
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
  find_library(NCCL_LIBRARY NAMES nccl libnccl.so.2 HINTS ${CUDAToolkit_LIBRARY_DIR} ${CUDAToolkit_LIBRARY_ROOT}/lib64 ENV NCCL_HOME PATH_SUFFIXES lib lib64)
  if(NOT NCCL_INCLUDE_DIR OR NOT NCCL_LIBRARY)
    message(FATAL_ERROR "CRAMMER_WITH_NCCL=ON but nccl.h / libnccl were not found: set -DNCCL_INCLUDE_DIR=... -DNCCL_LIBRARY=... or NCCL_HOME")
  endif()
  add_library(crammer_nccl INTERFACE)
  target_include_directories(crammer_nccl INTERFACE ${NCCL_INCLUDE_DIR})
  target_link_libraries(crammer_nccl INTERFACE ${NCCL_LIBRARY} CUDA::cudart)
  message(STATUS "crammer: NCCL ${NCCL_LIBRARY}")
endif()
