// What `crammer run` will do with an existing results file, said by `crammer plan` before any
// work: what the file holds, and whether the run resumes it (and how many tasks are left) or
// refuses it.
#pragma once

#include <string>
#include <vector>

namespace crammer {

// A short paragraph about `path` for a config with `fingerprint` planning `task_keys`. Never
// throws for a bad file: that the run would refuse it is the answer.
std::string resume_outlook(const std::string& path, const std::string& fingerprint,
                           const std::vector<std::string>& task_keys);

}  // namespace crammer
