// The one retry policy of crammer, used by the sweep loop (a batch of tasks on a worker) and by
// the cramming engine (a batch of texts on the device): run the whole batch; when it throws,
// run each half again, down to single items, so one bad item (or a batch too big for the device)
// does not take the others down. An item that fails alone is reported through `fail`.
// Exceptions not derived from std::exception (crammer::Interrupted) pass straight through, and so
// does StopRunError: no retry can mend it.
#pragma once

#include <cstddef>
#include <exception>
#include <functional>
#include <string>

#include "crammer/util/error.hpp"

namespace crammer {

struct HalvingRetry {
  // Runs items [begin, end) and delivers their outputs itself; throws when the batch failed.
  std::function<void(size_t begin, size_t end)> run;
  // Item `index` failed alone with `error` (after every retry).
  std::function<void(size_t index, const std::string& error)> fail;
  // Told before each retry, with what failed; may be empty.
  std::function<void(const std::string& message)> log;
  // Extra tries for a batch that was a single item from the start (the halves of a larger batch
  // get none: they already were tried as part of it).
  int retries_alone = 0;

  void operator()(size_t begin, size_t end) const { attempt(begin, end, retries_alone); }

 private:
  void attempt(size_t begin, size_t end, int retries) const {
    if (begin >= end) return;
    std::string error;
    try {
      run(begin, end);
      return;
    } catch (const StopRunError&) {
      throw;
    } catch (const std::exception& e) {
      error = e.what();
    }
    if (end - begin == 1) {
      if (retries > 0) {
        if (log) log("item " + std::to_string(begin) + " failed (" + error + "); retrying");
        attempt(begin, end, retries - 1);
      } else {
        fail(begin, error);
      }
      return;
    }
    if (log)
      log("batch of " + std::to_string(end - begin) + " failed (" + error +
          "); retrying as two halves");
    const size_t mid = begin + (end - begin) / 2;
    attempt(begin, mid, 0);
    attempt(mid, end, 0);
  }
};

}  // namespace crammer
