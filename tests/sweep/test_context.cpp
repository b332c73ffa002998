// Pure helpers of the sweep layer: threads per rank, progress text, progress mode parsing, roles.
#include <gtest/gtest.h>

#include "crammer/sweep/context.hpp"
#include "crammer/sweep/progress.hpp"
#include "crammer/util/error.hpp"

using namespace crammer;

TEST(DistThreadsPerRank, SplitsNodeCoresOverLocalRanks) {
  EXPECT_EQ(threads_per_rank(3, 8, 64), 3);   // configured wins
  EXPECT_EQ(threads_per_rank(0, 8, 64), 8);   // 64 cores / 8 ranks
  EXPECT_EQ(threads_per_rank(0, 3, 64), 21);  // floor
  EXPECT_EQ(threads_per_rank(0, 4, 2), 1);    // oversubscribed: at least one
  EXPECT_EQ(threads_per_rank(0, 0, 2), 2);    // nonsense local size treated as 1
  EXPECT_GE(threads_per_rank(0, 1), 1);       // hardware_concurrency
}

TEST(DistProgress, StatusLineArithmetic) {
  ProgressOptions opts;
  opts.mode = ProgressOptions::Mode::off;
  opts.model_names = {"pythia", "llama"};
  Progress p(opts, {{0, 300}, {1, 100}});
  for (int i = 0; i < 150; ++i) p.record(0, TaskStatus::done, i % 3 == 0);  // 50 converged
  // A failed row never counts as converged.
  for (int i = 0; i < 50; ++i) p.record(1, i < 2 ? TaskStatus::failed : TaskStatus::done, i < 4);
  // 200 of 400 in 40 s: 5 tasks/s, 200 left -> 40 s.
  EXPECT_EQ(p.status_line(40.0),
            "200/400 tasks (50.0%), 5.0 tasks/s, ETA 40s, 52 converged, 2 failed | pythia 150/300 llama 50/100");
  EXPECT_EQ(p.converged(), 52);
  EXPECT_EQ(p.done(), 200);
  EXPECT_EQ(p.failed(), 2);
}

TEST(DistProgress, SingleModelAndNoRateYet) {
  ProgressOptions opts;
  opts.mode = ProgressOptions::Mode::off;
  Progress p(opts, {{0, 10}});
  EXPECT_EQ(p.status_line(0.0), "0/10 tasks (0.0%), 0.0 tasks/s, ETA ?");
}

TEST(DistProgress, FormatDuration) {
  EXPECT_EQ(format_duration(5), "5s");
  EXPECT_EQ(format_duration(65), "1m05s");
  EXPECT_EQ(format_duration(3723), "1h02m03s");
  EXPECT_EQ(format_duration(-1), "?");
}

TEST(DistProgress, ModeParsing) {
  EXPECT_EQ(parse_progress_mode("log"), ProgressOptions::Mode::log);
  EXPECT_EQ(parse_progress_mode("auto"), ProgressOptions::Mode::automatic);
  try {
    parse_progress_mode("fancy");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("'fancy'"), std::string::npos);
  }
}

TEST(DistContext, NeedsMpiInit) {
  // Without MPI_Init the context refuses to build instead of crashing in MPI.
  EXPECT_THROW(make_dist_context(), DistError);
}

TEST(DistContext, RolesOfCoordinatorAndWorkers) {
  DistContext c;  // no MPI needed: the roles are rank arithmetic
  c.rank = 0;
  c.size = 1;
  EXPECT_TRUE(c.coordinator() && c.worker());  // one process does both
  c.size = 3;
  EXPECT_TRUE(c.coordinator());
  EXPECT_FALSE(c.worker());
  c.rank = 2;
  EXPECT_FALSE(c.coordinator());
  EXPECT_TRUE(c.worker());
}
