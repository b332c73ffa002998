// Small shared definitions of the results file (see results_file.hpp).
#include "crammer/store/results_file.hpp"

namespace crammer {

std::string journal_path(const std::string& results_path) { return results_path + ".journal"; }

}  // namespace crammer
