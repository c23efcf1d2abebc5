// macrodyn run: the whole pipeline online under MPI (or in one process).
#include <csignal>
#include <cstdio>
#include <cstring>
#include <iostream>

#include "collective.hpp"
#include "commands.hpp"
#include "core/error.hpp"
#include "core/stop.hpp"
#include "mpi/run/run.hpp"
#include "options.hpp"

using namespace macrodyn::jobs;

namespace macrodyn::app {

namespace {
const char* const kSummary =
    "The distributed pipeline in one job: simulator teams build large snapshots by hierarchical\n"
    "upsampling (each rank holding its block), partially evolve their patches and stream the\n"
    "pairs to learner ranks, which fit the closure autoencoder (phase A, learner 0), broadcast\n"
    "the encoder, then train the neural SDE on latent pairs while they arrive (phase B).\n"
    "Run it as `mpirun -n N macrodyn run --config FILE`: ranks 0..learn.ranks-1 learn, the\n"
    "others simulate in teams of team.size. Without mpirun one process does both. Without\n"
    "--config a small built-in 2D Ising example runs in a few minutes. Output: learn.out (the\n"
    "model directory, with metrics.csv and schedule.h5) and stream.save when set.\n\n"
    "Checkpoints: at sync points (every stream.sync_rounds rounds) every learn.checkpoint_every\n"
    "seconds, and when any rank gets SIGUSR1 (exit status 75), SIGTERM or SIGINT.\n"
    "--resume continues from learn.out's checkpoint (or starts afresh if there is none).\n\n"
    "At the end the model is judged against truth.runs runs of the large system per truth.m0\n"
    "(phase C) and the verdict printed; learn.out/report.html shows it with the band plots.\n"
    "Examples: macrodyn run\n"
    "          mpiexec -n 4 macrodyn run --config jobs/configs/quickstart.ini --learn.out model";
}

int cmd_run(int argc, char** argv) {
  Config c;
  // --resume is a flag of the job, not a configuration key.
  bool resume = false;
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--resume") == 0) resume = true;
    else argv[kept++] = argv[i];
  }
  argc = kept;
  // --help needs no MPI and prints once.
  for (int i = 1; i < argc; ++i)
    if (std::strcmp(argv[i], "--help") == 0) return parse_config("run", kSummary, argc, argv, c) ? 0 : 0;
  mpi::MpiSession session(argc, argv);
  if (!checked_on_every_rank(session, [&] {
        parse_config("run", kSummary, argc, argv, c);
        // A resumed job continues its own stream.save (cut back to its checkpoint).
        if (resume) c.overwrite = true;
        validate(c, Job::run);
      }))
    return 2;
  return run_on_every_rank("run", session, [&] {
    const auto r = mpi::run(c, resume);
    if (r.stopped_by != 0) {
      if (session.rank() == 0)
        std::fprintf(stderr, "macrodyn run: stopped by signal %d after a checkpoint in %s; continue with --resume\n",
                     r.stopped_by, c.learn_out.c_str());
      // 75 (EX_TEMPFAIL): checkpointed, not finished; batch scripts requeue on it.
      return r.stopped_by == SIGUSR1 ? 75 : 128 + r.stopped_by;
    }
    if (session.rank() == 0) {
      std::printf("macrodyn run: %d rank(s) (%d learner(s), %d team(s) of %d) in %.2f s\n", r.ranks, r.learners,
                  r.teams, r.team_size, r.seconds);
      std::printf("  phase A (autoencoder)  %.2f s\n", r.phase_a_seconds);
      std::printf("  phase B (SDE online)   %.2f s, %lld snapshots, %lld latent pairs, %lld steps\n", r.phase_b_seconds,
                  static_cast<long long>(r.snapshots), static_cast<long long>(r.pairs), static_cast<long long>(r.sde_steps));
      std::printf("  phase C (truth runs)   %.2f s\n", r.truth_seconds);
      std::printf("  verdict (evaluation)   %.2f s\n", r.verdict_seconds);
      std::printf("  ingest                 %.4g latent pairs/s over phase B (snapshot builds included), "
                  "%.4g while streaming (first to last pair)\n", r.pairs_per_s, r.streaming_pairs_per_s);
      std::printf("  model in %s\n", c.learn_out.c_str());
      if (!c.stream_save.empty()) std::printf("  stream kept in %s\n", c.stream_save.c_str());
      std::printf("\n%s", verdict_text(r.verdict).c_str());
      if (r.verdict.judged) std::printf("  details in %s/verdict (metrics.csv, band plots, verdict.txt)\n", c.learn_out.c_str());
      if (!r.report.empty()) std::printf("  report: %s (one self-contained file: open it in a browser)\n", r.report.c_str());
    }
    return 0;
  });
}

}  // namespace macrodyn::app
