// macrodyn run as a user runs it, in one process and under mpiexec: the streamed pairs
// are generate's bit for bit whatever the ranks and teams, a stop (SIGUSR1) or a crash
// (SIGKILL) followed by --resume loses and duplicates nothing, a replay of the logged
// schedule gives the online model, and 2 learners follow the loss curve of 1 learner
// with twice the batch.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>
#include <vector>

#include "io/dataset.hpp"
#include "run_binary.hpp"

using namespace macrodyn;
using namespace macrodyn::e2e;

namespace {

std::string unique(const std::string& name) { return tmp(name + "_" + std::to_string(getpid())); }

// quickstart (L 32, p 16, K 4), no closure and no verdict unless asked: seconds per run.
// stream.save is unique(name).h5 unless `keep_stream` is false.
// Options given in `extra` replace these defaults (an option may appear only once).
std::string job(const std::string& name, const std::string& extra = "", bool keep_stream = true) {
  std::string cmd = "run --config " MACRODYN_SOURCE_DIR "/tests/e2e/tiny.ini --output.overwrite true";
  const std::vector<std::pair<std::string, std::string>> defaults{
      {"--run.progress", "false"}, {"--closure.kind", "none"}, {"--learn.steps", "40"},
      {"--learn.min_fill", "64"},  {"--learn.batch", "256"},   {"--learn.out", unique(name)},
      {"--large.random_configs", "false"}, {"--truth.runs", "0"}};
  for (const auto& [key, value] : defaults)
    if (extra.find(key + " ") == std::string::npos) cmd += " " + key + " " + value;
  if (keep_stream) cmd += " --stream.save " + unique(name) + ".h5";
  return cmd + " " + extra;
}

template <class T>
std::vector<T> column(const io::DatasetReader& r, const std::string& table, io::DType type) {
  const auto shape = r.shape(table);
  std::uint64_t per_row = 1;
  for (std::size_t k = 1; k < shape.size(); ++k) per_row *= shape[k];
  const std::string group = table.substr(0, table.rfind('/'));
  const auto rows = r.rows_committed(group);
  std::vector<T> v(rows * per_row);
  if (rows) r.read_rows(table, 0, rows, type, v.data());
  return v;
}

// Every /pairs table of `a` equals `b`'s first rows_committed(a) rows, bit for bit.
void same_pairs(const std::string& a_path, const std::string& b_path, bool states) {
  io::DatasetReader a(a_path), b(b_path);
  const auto n = a.rows_committed("/pairs");
  REQUIRE(n > 0);
  REQUIRE(b.rows_committed("/pairs") >= n);
  auto cut = [n](auto v, std::uint64_t per) { v.resize(n * per); return v; };
  CHECK(column<std::int64_t>(a, "/pairs/snapshot_id", io::DType::i64) ==
        cut(column<std::int64_t>(b, "/pairs/snapshot_id", io::DType::i64), 1));
  CHECK(column<std::int32_t>(a, "/pairs/patch_index", io::DType::i32) ==
        cut(column<std::int32_t>(b, "/pairs/patch_index", io::DType::i32), 1));
  CHECK(column<double>(a, "/pairs/dt", io::DType::f64) == cut(column<double>(b, "/pairs/dt", io::DType::f64), 1));
  CHECK(column<double>(a, "/pairs/weight", io::DType::f64) ==
        cut(column<double>(b, "/pairs/weight", io::DType::f64), 1));
  for (const char* t : {"/pairs/z_star", "/pairs/g_before", "/pairs/g_after"})
    CHECK(column<float>(a, t, io::DType::f32) == cut(column<float>(b, t, io::DType::f32), 2));
  if (states)
    for (const char* t : {"/pairs/patch_before", "/pairs/patch_after"})
      CHECK(column<std::int8_t>(a, t, io::DType::i8) == cut(column<std::int8_t>(b, t, io::DType::i8), 256));
}

void same_latent(const std::string& a_path, const std::string& b_path) {
  io::DatasetReader a(a_path), b(b_path);
  REQUIRE(a.rows_committed("/latent") == b.rows_committed("/latent"));
  for (const char* t : {"/latent/z0", "/latent/z1", "/latent/z1_naive"})
    CHECK(column<float>(a, t, io::DType::f32) == column<float>(b, t, io::DType::f32));
  CHECK(column<double>(a, "/latent/dt", io::DType::f64) == column<double>(b, "/latent/dt", io::DType::f64));
}

std::string generate_reference(const std::string& name, const std::string& extra) {
  const std::string path = unique(name) + "_generate.h5";
  const Result g = run(tiny() + " --large.random_configs false --output.path " + path + " --output.overwrite true " + extra);
  INFO(g.err);
  REQUIRE(g.code == 0);
  return path;
}

std::vector<double> losses(const std::string& metrics_csv) {
  std::ifstream in(metrics_csv);
  std::string line;
  std::getline(in, line);
  std::vector<double> v;
  while (std::getline(in, line)) v.push_back(std::stod(line.substr(line.find(',') + 1)));
  return v;
}

std::string model_file(const std::string& dir, const char* f) { return slurp(dir + "/" + f); }

}  // namespace

TEST_CASE("run streams generate's pairs bit for bit with 1, 2 and 3 ranks, two teams and a team of 2",
          "[e2e][run][mpi]") {
  const std::string one = "--partial.pairs one", all = "--partial.pairs all";
  const std::string ref_one = generate_reference("run_ref_one", one);
  const std::string ref_all = generate_reference("run_ref_all", all);
  // Events per window at the last level (here the only one): the team relaxes with them too.
  const std::string last = all + " --upsample.last_events 7";
  const std::string ref_last = generate_reference("run_ref_last", last);
  CHECK(column<float>(io::DatasetReader(ref_last), "/pairs/z_star", io::DType::f32) !=
        column<float>(io::DatasetReader(ref_all), "/pairs/z_star", io::DType::f32));  // the key has an effect
  struct Case {
    int ranks;
    std::string extra;
    const std::string* ref;
  };
  const std::vector<Case> cases{{0, one, &ref_one},
                                {2, one, &ref_one},
                                {3, one + " --team.size 1", &ref_one},  // two teams
                                {3, all + " --team.size 2", &ref_all},  // one team of 2: halo, relax, reductions
                                {0, all, &ref_all},
                                {3, last + " --team.size 2", &ref_last}};
  int k = 0;
  for (const Case& c : cases) {
    const std::string name = "run_repro" + std::to_string(k++);
    const Result r = run_mpi(c.ranks, job(name, c.extra));
    INFO("ranks " << c.ranks << " " << c.extra << "\n" << r.out << r.err);
    REQUIRE(r.code == 0);
    CHECK(std::filesystem::exists(unique(name) + "/drift.pt"));
    CHECK(std::filesystem::exists(unique(name) + "/model.json"));
    same_pairs(unique(name) + ".h5", *c.ref, false);
  }
}

TEST_CASE("run with a learned closure: pairs are generate's, latents the same on 1 and 3 ranks", "[e2e][run][mpi]") {
  const std::string closure =
      "--closure.kind autoencoder --learn.ae_snapshots 64 --learn.ae_epochs 1 --large.snapshots 200";
  const std::string ref = generate_reference("run_ref_closure", "--large.snapshots 200");
  const Result a = run_mpi(0, job("run_closure1", closure));
  INFO(a.out << a.err);
  REQUIRE(a.code == 0);
  const Result b = run_mpi(3, job("run_closure3", closure + " --team.size 2"));
  INFO(b.out << b.err);
  REQUIRE(b.code == 0);
  // Two teams of one: both teams' snapshot blocks go to the file in one collective write per round.
  const Result t = run_mpi(3, job("run_closure2teams", closure + " --team.size 1"));
  INFO(t.out << t.err);
  REQUIRE(t.code == 0);
  same_pairs(unique("run_closure1") + ".h5", ref, true);
  same_pairs(unique("run_closure3") + ".h5", ref, true);
  same_pairs(unique("run_closure2teams") + ".h5", ref, true);
  same_latent(unique("run_closure1") + ".h5", unique("run_closure3") + ".h5");
  CHECK(std::filesystem::exists(unique("run_closure3") + "/encoder.pt"));
  // /snapshots (parallel HDF5, reached through stream.save's external link) are generate's.
  io::DatasetReader g(ref);
  const auto want = column<std::int8_t>(g, "/snapshots/states", io::DType::i8);
  for (const char* name : {"run_closure1", "run_closure3", "run_closure2teams"}) {
    io::DatasetReader r(unique(name) + ".h5");
    INFO(name);
    CHECK(r.rows_committed("/snapshots") == 200);
    CHECK(column<std::int8_t>(r, "/snapshots/states", io::DType::i8) == want);
    CHECK(column<std::int8_t>(r, "/snapshots/random", io::DType::i8) == std::vector<std::int8_t>(200, 0));
  }
}

TEST_CASE("run adds generate's random-magnetisation snapshots on teams of one and refuses them on larger teams",
          "[e2e][run][mpi]") {
  const std::string opts = "--large.snapshots 100 --large.random_configs true --closure.kind autoencoder "
                           "--learn.ae_snapshots 32 --learn.ae_epochs 1";
  const std::string ref = unique("run_ref_random") + "_generate.h5";
  const Result g = run(tiny() + " --large.snapshots 100 --large.random_configs true --output.path " + ref +
                       " --output.overwrite true");
  INFO(g.err);
  REQUIRE(g.code == 0);
  const Result one = run_mpi(0, job("run_random1", opts));
  INFO(one.out << one.err);
  REQUIRE(one.code == 0);
  const Result two = run_mpi(3, job("run_random2teams", opts + " --team.size 1"));
  INFO(two.out << two.err);
  REQUIRE(two.code == 0);
  io::DatasetReader gr(ref);
  REQUIRE(gr.rows_committed("/pairs") == 200);
  for (const char* name : {"run_random1", "run_random2teams"}) {
    INFO(name);
    same_pairs(unique(name) + ".h5", ref, true);
    io::DatasetReader r(unique(name) + ".h5");
    CHECK(r.rows_committed("/pairs") == 200);
    CHECK(column<std::int8_t>(r, "/snapshots/states", io::DType::i8) ==
          column<std::int8_t>(gr, "/snapshots/states", io::DType::i8));
    CHECK(column<std::int8_t>(r, "/snapshots/random", io::DType::i8) ==
          column<std::int8_t>(gr, "/snapshots/random", io::DType::i8));
  }
  const Result refused = run_mpi(3, job("run_random_team2", opts + " --team.size 2"));
  CHECK(refused.code == 2);
  CHECK(refused.err.find("large.random_configs") != std::string::npos);
}

TEST_CASE("run: SIGUSR1 checkpoints and exits 75, SIGKILL loses the rest, --resume completes the same stream",
          "[e2e][run][mpi][resume]") {
  // A checkpoint at every sync point (every 8 rounds), whatever the machine's speed, so the
  // kill points right after a checkpoint are always reached.
  const std::string opts = "--large.snapshots 600 --stream.sync_rounds 8 --learn.checkpoint_every 1e-9";
  const Result ref = run_mpi(3, job("run_ref_resume", opts));
  INFO(ref.err);
  REQUIRE(ref.code == 0);
  // A stop asked on one simulator rank, then a crash of another, then a clean finish.
  const Result stop = run_mpi(3, job("run_resume", opts), "MACRODYN_TEST_KILL=round:100:USR1");
  INFO(stop.out << stop.err);
  CHECK(stop.code == 75);
  const Result crash = run_mpi(3, job("run_resume", opts + " --resume"), "MACRODYN_TEST_KILL=round:200");
  CHECK(crash.code != 0);
  const Result done = run_mpi(3, job("run_resume", opts + " --resume"));
  INFO(done.out << done.err);
  REQUIRE(done.code == 0);
  same_pairs(unique("run_resume") + ".h5", unique("run_ref_resume") + ".h5", false);
  io::DatasetReader s(unique("run_resume") + ".h5");
  const auto ids = column<std::int64_t>(s, "/pairs/snapshot_id", io::DType::i64);
  REQUIRE(ids.size() == 600);  // pairs = one: pair id = snapshot id, contiguous, once each
  for (std::size_t i = 0; i < ids.size(); ++i) REQUIRE(ids[i] == static_cast<std::int64_t>(i));
  const std::string ck = slurp(unique("run_resume") + "/checkpoint.json");
  CHECK(ck.find("\"resumes\": \"2\"") != std::string::npos);

  // SIGKILL at a fixed list of points: before the first checkpoint (the resume starts
  // afresh), between two sync points, right after a checkpoint; each time the resumed
  // run's stream is the uninterrupted one.
  for (const char* point : {"round:3", "round:77", "checkpoint:151"}) {
    const std::string name = std::string("run_kill_") + (point[0] == 'r' ? "r" : "c") + std::string(point).substr(point[0] == 'r' ? 6 : 11);
    const Result killed = run_mpi(3, job(name, opts), std::string("MACRODYN_TEST_KILL=") + point);
    INFO(point << "\n" << killed.err);
    CHECK(killed.code != 0);
    const Result resumed = run_mpi(3, job(name, opts + " --resume"));
    INFO(resumed.err);
    REQUIRE(resumed.code == 0);
    same_pairs(unique(name) + ".h5", unique("run_ref_resume") + ".h5", false);
    CHECK(io::DatasetReader(unique(name) + ".h5").rows_committed("/pairs") == 600);
  }

  // One process: the resumed model is the uninterrupted one, bit for bit, and so is the
  // per-epoch history (epochs of 10 steps: 4 rows, each with the held-out loss).
  const std::string solo_opts = opts + " --learn.steps_per_epoch 10";
  const Result solo_ref = run_mpi(0, job("run_solo_ref", solo_opts));
  REQUIRE(solo_ref.code == 0);
  const Result solo_stop = run_mpi(0, job("run_solo", solo_opts), "MACRODYN_TEST_KILL=round:300:USR1");
  CHECK(solo_stop.code == 75);
  const Result solo_done = run_mpi(0, job("run_solo", solo_opts + " --resume"));
  REQUIRE(solo_done.code == 0);
  CHECK(model_file(unique("run_solo"), "drift.pt") == model_file(unique("run_solo_ref"), "drift.pt"));
  CHECK(model_file(unique("run_solo"), "diffusion.pt") == model_file(unique("run_solo_ref"), "diffusion.pt"));
  const std::string hist = model_file(unique("run_solo_ref"), "history.csv");
  CHECK(model_file(unique("run_solo"), "history.csv") == hist);
  std::istringstream rows(hist);
  std::string line;
  std::getline(rows, line);
  CHECK(line == "epoch,train_loss,val_loss,lr,val_pairs");
  int epochs = 0;
  while (std::getline(rows, line)) {
    ++epochs;
    double epoch = 0, train = 0, val = 0, lr = 0;
    long long held = 0;
    INFO(line);
    REQUIRE(std::sscanf(line.c_str(), "%lf,%lf,%lf,%lf,%lld", &epoch, &train, &val, &lr, &held) == 5);
    CHECK(epoch == epochs);
    CHECK(std::isfinite(train));
    CHECK(std::isfinite(val));
    CHECK(held > 0);  // pair ids 19 mod 20 are held out
  }
  CHECK(epochs == 4);
}

TEST_CASE("train --schedule replays an online run: one learner bit for bit, two within tolerance",
          "[e2e][run][mpi][replay]") {
  const std::string opts = "--large.snapshots 600 --learn.steps 120";
  const Result online = run_mpi(2, job("run_online", opts));
  INFO(online.err);
  REQUIRE(online.code == 0);
  const std::string dir = unique("run_online");
  const Result replay = run("train --dataset " + dir + ".h5 --schedule " + dir + "/schedule.h5 --out " + dir +
                            "_replay --overwrite --progress false");
  INFO(replay.out << replay.err);
  REQUIRE(replay.code == 0);
  CHECK(model_file(dir, "drift.pt") == model_file(dir + "_replay", "drift.pt"));
  CHECK(model_file(dir, "diffusion.pt") == model_file(dir + "_replay", "diffusion.pt"));

  // Two learners with batch 128 each against the replay of their schedule by one learner
  // taking both batches at once (batch 256): the same pairs and, up to float summation
  // order, the same gradients. At the run's learning rate of 1e-3 this training is
  // unstable early on (with other seeds the loss jumps between +16 and -3 in the first
  // steps) and amplifies a rounding difference of 1e-7 to O(1) within 40 steps, so a
  // pointwise comparison there would test the CPU's rounding, not the gradients. At
  // lr 1e-4 the loss still falls from about -1.2 to -6, and over seeds 1-6 the curves
  // agree pointwise to at most 6.9e-5 (1 + |loss|) over all 120 steps, while curves
  // trained on other batches (the 1-learner run's own) differ by a median of 0.024-1.8
  // and a maximum of 0.09-8.8. Tolerance 1e-3 (1 + |loss|) at every step.
  const std::string lr = " --learn.lr 1e-4";
  const Result two = run_mpi(4, job("run_two", opts + lr + " --learn.ranks 2 --learn.batch 128"));
  INFO(two.out << two.err);
  REQUIRE(two.code == 0);
  const std::string two_dir = unique("run_two");
  // stream.save of 2 learners: learner 1's rows reach learner 0's file at sync points.
  same_pairs(two_dir + ".h5", dir + ".h5", false);
  same_latent(two_dir + ".h5", dir + ".h5");
  const Result rep2 = run("train --dataset " + dir + ".h5 --schedule " + two_dir + "/schedule.h5 --out " + two_dir +
                          "_replay --overwrite --progress false --lr 1e-4");
  INFO(rep2.out << rep2.err);
  REQUIRE(rep2.code == 0);
  const auto a = losses(two_dir + "/metrics.csv"), b = losses(two_dir + "_replay/metrics.csv");
  REQUIRE(a.size() == 120);
  REQUIRE(b.size() == 120);
  double worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(a[i] - b[i]) / (1 + std::abs(b[i])));
  std::printf("2 learners vs 1 learner with twice the batch: max |dloss| / (1 + |loss|) over 120 steps = %.3g "
              "(loss %.3f -> %.3f)\n", worst, b.front(), b.back());
  CHECK(worst <= 1e-3);
  CHECK(b.back() < b.front() - 2);  // the comparison covers a curve that moves
}

TEST_CASE("run refuses bad input with one sentence, before any work", "[e2e][run][mpi]") {
  const Result ranks = run_mpi(2, job("run_bad1", "--learn.ranks 2"));
  CHECK(ranks.code == 2);
  CHECK(ranks.err.find("learn.ranks") != std::string::npos);
  const Result team = run_mpi(3, job("run_bad2", "--team.size 3"));
  CHECK(team.code == 2);
  CHECK(team.err.find("team.size") != std::string::npos);
  const Result key = run_mpi(0, job("run_bad3", "--stream.credits 0"));
  CHECK(key.code == 2);
  CHECK(key.err.find("stream.credits") != std::string::npos);
  const Result help = run_mpi(0, "run --help");
  CHECK(help.code == 0);
  CHECK(help.out.find("--resume") != std::string::npos);
}

TEST_CASE("run streams predator-prey's fields with their closure as generate does, and resumes after SIGKILL",
          "[e2e][run][mpi][resume][predator_prey]") {
  // The tiny 1-D predator-prey job (800 snapshots, K = 5), its learned closure (one code
  // per field), teams of one: multi-byte voxels through every stage of run.
  const auto pp_job = [](const std::string& name, const std::string& extra) {
    return "run --config " MACRODYN_SOURCE_DIR "/tests/e2e/tiny-pp.ini --output.overwrite true --run.progress false "
           "--closure.kind autoencoder --learn.steps 40 --learn.min_fill 64 --learn.batch 128 --truth.runs 0 "
           "--stream.sync_rounds 8 --learn.checkpoint_every 1e-9 --learn.out " + unique(name) + " --stream.save " +
           unique(name) + ".h5 " + extra;
  };
  const std::string gen = unique("pp_run_generate") + ".h5";
  const Result g = run("generate --config " MACRODYN_SOURCE_DIR "/tests/e2e/tiny-pp.ini --closure.kind autoencoder "
                       "--run.progress false --output.overwrite true --output.path " + gen);
  INFO(g.err);
  REQUIRE(g.code == 0);
  const Result one = run_mpi(0, pp_job("pp_run_1", ""));
  INFO(one.err);
  REQUIRE(one.code == 0);
  const Result three = run_mpi(3, pp_job("pp_run_3", "--team.size 1"));
  INFO(three.err);
  REQUIRE(three.code == 0);
  for (const char* name : {"pp_run_1", "pp_run_3"}) {
    io::DatasetReader a(unique(name) + ".h5"), b(gen);
    REQUIRE(a.rows_committed("/pairs") == 800);  // 400 upsampled snapshots, 400 random ones
    for (const char* t : {"/pairs/z_star", "/pairs/g_before", "/pairs/g_after", "/pairs/patch_before",
                          "/pairs/patch_after", "/snapshots/states"})
      CHECK(column<float>(a, t, io::DType::f32) == column<float>(b, t, io::DType::f32));
  }
  same_latent(unique("pp_run_3") + ".h5", unique("pp_run_1") + ".h5");
  CHECK(slurp(unique("pp_run_1") + "/model.json").find("\"closure_dim\": 2") != std::string::npos);

  // SIGKILL between two sync points; the resumed run's stream is the uninterrupted one.
  const Result killed = run_mpi(3, pp_job("pp_run_kill", "--team.size 1"), "MACRODYN_TEST_KILL=round:77");
  CHECK(killed.code != 0);
  const Result resumed = run_mpi(3, pp_job("pp_run_kill", "--team.size 1 --resume"));
  INFO(resumed.err);
  REQUIRE(resumed.code == 0);
  io::DatasetReader k(unique("pp_run_kill") + ".h5"), ref(unique("pp_run_3") + ".h5");
  REQUIRE(k.rows_committed("/pairs") == 800);
  for (const char* t : {"/pairs/z_star", "/pairs/patch_before", "/latent/z0", "/latent/z1"})
    CHECK(column<float>(k, t, io::DType::f32) == column<float>(ref, t, io::DType::f32));
  CHECK(column<std::int64_t>(k, "/pairs/snapshot_id", io::DType::i64) ==
        column<std::int64_t>(ref, "/pairs/snapshot_id", io::DType::i64));
}
