// macrodyn train and encode as a user runs them: a model directory from a small dataset,
// /latent consistent with the stored pairs, resume, and clear errors for bad input.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <unistd.h>

#include "io/dataset.hpp"
#include "run_binary.hpp"

using namespace macrodyn;
using namespace macrodyn::e2e;

namespace {

// A small Ising dataset (L 32, p 16, K 4), one file per test process: ctest runs the
// test cases of this file side by side.
const std::string& dataset() {
  static const std::string path = [] {
    const std::string p = tmp("train_data_" + std::to_string(getpid()) + ".h5");
    const Result r = run(tiny() + " --output.path " + p + " --output.overwrite true");
    REQUIRE(r.code == 0);
    return p;
  }();
  return path;
}

std::string quick_train(const std::string& out) {
  return "train --dataset " + dataset() + " --out " + out +
         " --epochs 3 --ae-epochs 1 --max-snapshots 128 --ae-batch 64 --threads 1 --device cpu --overwrite";
}

}  // namespace

TEST_CASE("train writes a model directory that encode and Python can use", "[e2e][train]") {
  const std::string model = tmp("train_model");
  std::filesystem::remove_all(model);
  const Result r = run(quick_train(model));
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  CHECK(r.err.find("autoencoder epoch 1/1") != std::string::npos);
  CHECK(r.err.find("epoch   3/3") != std::string::npos);
  for (const char* f : {"encoder.pt", "drift.pt", "diffusion.pt", "model.json", "autoencoder.bin", "sde.ckpt"})
    CHECK(std::filesystem::exists(model + "/" + f));
  const std::string json = slurp(model + "/model.json");
  CHECK(json.find("\"variables\": [\"m\", \"rho\", \"closure_1\", \"closure_2\"]") != std::string::npos);
  CHECK(json.find("\"K\": 4") != std::string::npos);
  CHECK(json.find("\"loss_factor\": 4") != std::string::npos);
  CHECK(json.find("\"time_unit_kind\": \"mean_dt\"") != std::string::npos);

  // Python reads the model directory as documented: json + torch.jit.load.
  const std::string py = "/usr/bin/python3 -c \"import json, torch; m = json.load(open('" + model +
                         "/model.json')); d = len(m['variables']); "
                         "z = torch.zeros(3, d); s = torch.jit.load('" + model +
                         "/diffusion.pt')(z); e = torch.jit.load('" + model +
                         "/encoder.pt')(torch.ones(2, m['patch'], m['patch'])); "
                         "assert s.shape == (3, d, d) and e.shape == (2, m['closure_dim'])\"";
  CHECK(std::system(py.c_str()) == 0);

  // /latent: the z* part of the targets is the stored patch change (K-scaled) or the
  // evolved patch (naive); the closure part has the encoder's dimension.
  const std::string latent = tmp("train_latent.h5");
  const Result e = run("encode --model " + model + " --dataset " + dataset() + " --output " + latent);
  INFO(e.out << e.err);
  REQUIRE(e.code == 0);
  io::DatasetReader src(dataset()), lat(latent);
  const auto n = src.rows_committed("/pairs");
  REQUIRE(lat.rows_committed("/latent") == n);
  REQUIRE(lat.shape("/latent/z0") == std::vector<std::uint64_t>{n, 4});
  std::vector<float> z0(n * 4), z1(n * 4), zn(n * 4), zs(n * 2), gb(n * 2), ga(n * 2);
  lat.read_rows("/latent/z0", 0, n, io::DType::f32, z0.data());
  lat.read_rows("/latent/z1", 0, n, io::DType::f32, z1.data());
  lat.read_rows("/latent/z1_naive", 0, n, io::DType::f32, zn.data());
  src.read_rows("/pairs/z_star", 0, n, io::DType::f32, zs.data());
  src.read_rows("/pairs/g_before", 0, n, io::DType::f32, gb.data());
  src.read_rows("/pairs/g_after", 0, n, io::DType::f32, ga.data());
  int bad = 0;
  for (std::uint64_t i = 0; i < n; ++i)
    for (int k = 0; k < 2; ++k) {
      bad += z0[i * 4 + k] != zs[i * 2 + k];
      bad += z1[i * 4 + k] != zs[i * 2 + k] + (ga[i * 2 + k] - gb[i * 2 + k]);
      bad += zn[i * 4 + k] != ga[i * 2 + k];
    }
  CHECK(bad == 0);
}

TEST_CASE("train --resume after an interruption gives the uninterrupted model", "[e2e][train]") {
  const std::string a = tmp("train_resume_a"), b = tmp("train_resume_b");
  std::filesystem::remove_all(a);
  std::filesystem::remove_all(b);
  const std::string common = " --epochs 6 --closure-dim 0 --threads 1 --device cpu --overwrite --patience 1";
  REQUIRE(run("train --dataset " + dataset() + " --out " + a + common).code == 0);
  // "Interrupted" after 3 epochs: the checkpoint of a 3-epoch run, continued to 6.
  REQUIRE(run("train --dataset " + dataset() + " --out " + b + " --epochs 3 --closure-dim 0 --threads 1 --device cpu "
              "--overwrite --patience 1").code == 0);
  const Result r = run("train --dataset " + dataset() + " --out " + b + common + " --resume");
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  CHECK(r.err.find("epoch   4/6") != std::string::npos);
  CHECK(r.err.find("epoch   1/6") == std::string::npos);
  CHECK(slurp(a + "/drift.pt").size() > 0);
  // Identical weights: the TorchScript files hold the same tensors (compare in Python).
  const std::string py = "/usr/bin/python3 -c \"import torch, sys; "
                         "pa = list(torch.jit.load('" + a + "/drift.pt').parameters()) + list(torch.jit.load('" + a +
                         "/diffusion.pt').parameters()); "
                         "pb = list(torch.jit.load('" + b + "/drift.pt').parameters()) + list(torch.jit.load('" + b +
                         "/diffusion.pt').parameters()); "
                         "sys.exit(0 if all(torch.equal(x, y) for x, y in zip(pa, pb)) else 1)\"";
  CHECK(std::system(py.c_str()) == 0);
}

TEST_CASE("train and encode refuse bad input with one sentence naming the option", "[e2e][train]") {
  const std::string model = tmp("train_bad");
  auto refused = [](const std::string& args, const std::string& words) {
    const Result r = run(args);
    INFO(args << "\n" << r.err);
    CHECK(r.code == 2);
    CHECK(r.err.find(words) != std::string::npos);
  };
  refused("train --out " + model, "--dataset is required");
  refused("train --dataset /nonexistent.h5 --out " + model, "--dataset /nonexistent.h5 does not exist");
  refused("train --dataset " + dataset() + " --out " + model + " --method clever", "--method must be kscaled, naive or small");
  refused("train --dataset " + dataset() + " --out " + model + " --drift clever", "--drift must be mlp or onsager");
  refused("train --dataset " + dataset() + " --out " + model + " --epochs 0", "--epochs must be >= 1");
  refused("train --dataset " + dataset() + " --out " + model + " --diffusion arbitrary", "full, diagonal or constant");
  refused("train --dataset " + dataset() + " --out " + model + " --device tpu", "--device must be auto, cpu or cuda");
  refused("train --dataset " + dataset() + " --out " + model + " --lr -1", "--lr must be positive");
  refused("encode --dataset " + dataset() + " --output x.h5", "--model is required");
  const Result h = run("train --help");
  CHECK(h.code == 0);
  CHECK(h.out.find("--method") != std::string::npos);
  CHECK(h.out.find("--resume") != std::string::npos);
}
