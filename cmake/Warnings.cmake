# Warning flags shared by every crammer target (linked as an INTERFACE target).
add_library(crammer_warnings INTERFACE)
target_compile_options(crammer_warnings INTERFACE -Wall -Wextra -Wno-unused-parameter)
