// The field closure on the common pipeline (docs/design.md §8.6.4): `train` fits the same
// network as the field autoencoder trained directly on the dataset's snapshots (the same
// weights for the same data and seed), its encoder.pt encodes stored voxels exactly as the
// autoencoder encodes planar patches, and the latent pairs are the autoencoder's latents.
#include <catch2/catch.hpp>

#include <cstring>
#include <filesystem>
#include <vector>

#include "io/dataset.hpp"
#include "jobs/jobs.hpp"
#include "jobs/latent.hpp"
#include "jobs/train.hpp"
#include "learn/exported.hpp"
#include "learn/field_autoencoder.hpp"

using namespace macrodyn;

namespace {

std::string tmp_path(const std::string& name) { return std::string(MACRODYN_TEST_TMPDIR) + "/" + name; }

// A tiny 1-D predator-prey dataset with snapshot states: 50 -> 100 cells, K = 5. Each test
// case names its own file: ctest runs the cases as parallel processes.
std::string tiny_dataset(const std::string& name = "field_closure_pairs.h5") {
  const std::string path = tmp_path(name);
  jobs::Config c;
  c.system = "predator_prey";
  c.small_side = 50;
  c.small_runs = 4;
  c.small_sweeps = 49;
  c.large_side = 100;
  c.snapshots = 200;
  c.random_configs = false;
  c.relax_window = 0;
  c.patch = 20;
  c.partial_boundary = Boundary::frozen;
  c.closure = "autoencoder";
  c.output = path;
  c.overwrite = true;
  c.progress = false;
  c.threads = 1;
  c.seed = 7;
  c.ini_text = "[system]\nname = predator_prey\n";
  jobs::generate(c);
  return path;
}

// /snapshots/states [n, 100, 2] -> planar [n, 2, 100].
std::vector<float> planar_snapshots(const std::string& path, std::int64_t& n) {
  io::DatasetReader r(path);
  n = static_cast<std::int64_t>(r.rows_committed("/snapshots"));
  std::vector<float> stored(static_cast<std::size_t>(n * 200)), planar(stored.size());
  r.read_rows("/snapshots/states", 0, static_cast<std::uint64_t>(n), io::DType::f32, stored.data());
  for (std::int64_t s = 0; s < n; ++s)
    for (int k = 0; k < 100; ++k)
      for (int f = 0; f < 2; ++f)
        planar[static_cast<std::size_t>((s * 2 + f) * 100 + k)] = stored[static_cast<std::size_t>((s * 100 + k) * 2 + f)];
  return planar;
}

}  // namespace

TEST_CASE("train fits the field closure of the autoencoder trained directly, and encodes as it does",
          "[field_closure][predator_prey]") {
  const std::string data = tiny_dataset();
  jobs::TrainOptions t;
  t.dataset = data;
  t.out = tmp_path("field_closure_model");
  t.overwrite = true;
  t.epochs = 2;
  t.ae_epochs = 3;
  t.seed = 5;
  t.threads = 1;
  t.device = "cpu";
  t.progress = false;
  const auto info = jobs::train(t);
  CHECK(info.closure_dim == 2);
  CHECK(info.variables == std::vector<std::string>{"u", "v", "closure_1", "closure_2"});

  // The same network, data, options and seed, trained directly.
  std::int64_t n = 0;
  const std::vector<float> planar = planar_snapshots(data, n);
  learn::FieldAutoencoderOptions ao;
  ao.epochs = 3;
  ao.seed = 5;
  ao.threads = 1;
  const auto direct = learn::FieldAutoencoder::train(learn::FieldFrames{1, 100, 20, n, planar.data()}, ao);
  const auto trained = learn::FieldAutoencoder::load(t.out + "/autoencoder.bin");
  CHECK(trained.options().lr == ao.lr);
  CHECK(trained.options().batch == ao.batch);
  CHECK(trained.options().weight_decay == ao.weight_decay);
  // Same weights: the codes of every patch of every snapshot agree to the bit, and so do
  // the reconstruction errors (the decoder).
  std::vector<float> a(static_cast<std::size_t>(2 * n * 5)), b(a.size());
  direct.encode_patches(planar.data(), 2 * n * 5, a.data());
  trained.encode_patches(planar.data(), 2 * n * 5, b.data());
  CHECK(a == b);
  CHECK(direct.reconstruction_mse(learn::FieldFrames{1, 100, 20, n, planar.data()}) ==
        trained.reconstruction_mse(learn::FieldFrames{1, 100, 20, n, planar.data()}));

  // encoder.pt on stored voxels [m, 20, 2] gives the autoencoder's codes of the planar
  // patches, bit for bit, however many are encoded together.
  const learn::ExportedEncoder enc(t.out + "/encoder.pt", 20, 2);
  CHECK(enc.dim() == 1);
  CHECK(enc.voxel_bytes() == 8);
  io::DatasetReader r(data);
  std::vector<float> stored(static_cast<std::size_t>(n * 200));
  r.read_rows("/snapshots/states", 0, static_cast<std::uint64_t>(n), io::DType::f32, stored.data());
  std::vector<float> codes(static_cast<std::size_t>(n * 5 * 2)), one(2);
  enc.encode_voxels(reinterpret_cast<const std::uint8_t*>(stored.data()), n * 5, codes.data());
  for (std::int64_t s = 0; s < n; ++s)
    for (int I = 0; I < 5; ++I)
      for (int f = 0; f < 2; ++f)
        REQUIRE(codes[static_cast<std::size_t>((s * 5 + I) * 2 + f)] == b[static_cast<std::size_t>((s * 2 + f) * 5 + I)]);
  enc.encode_voxels(reinterpret_cast<const std::uint8_t*>(stored.data() + 7 * 40), 1, one.data());
  CHECK(one[0] == codes[14]);
  CHECK(one[1] == codes[15]);

  // The latent z0 of a pair is the autoencoder's latent of its snapshot: (mean u, mean v,
  // zhat_u, zhat_v), the means as float32 of the double means.
  const jobs::LatentSet set = jobs::encode_pairs(r, &enc, 0);
  std::vector<std::int64_t> sid(static_cast<std::size_t>(set.size()));
  r.read_rows("/pairs/snapshot_id", 0, static_cast<std::uint64_t>(set.size()), io::DType::i64, sid.data());
  std::vector<float> z(static_cast<std::size_t>(4 * n));
  trained.latents(learn::FieldFrames{1, 100, 20, n, planar.data()}, z.data());
  for (std::int64_t i = 0; i < set.size(); i += 17) {
    const auto s = static_cast<std::size_t>(sid[static_cast<std::size_t>(i)]);
    for (int k = 0; k < 4; ++k) CHECK(set.z0[static_cast<std::size_t>(i * 4 + k)] == Approx(z[s * 4 + k]).margin(1e-6));
  }
}

TEST_CASE("train refuses a field closure dimension other than the field count", "[field_closure][predator_prey]") {
  jobs::TrainOptions t;
  t.dataset = tiny_dataset("field_closure_refused.h5");
  t.out = tmp_path("field_closure_bad");
  t.overwrite = true;
  t.closure_dim = 3;
  t.progress = false;
  t.device = "cpu";
  CHECK_THROWS_WITH(jobs::train(t), Catch::Contains("one code per field, 2"));
}
