// The predator-prey closure autoencoder: the latent is (grid means, patch mean of E) in
// 1-D and 2-D, codes do not depend on the batch they are encoded in, training learns the
// closure of the (m, k) cosine family, seeded determinism, save/load, the TorchScript
// export (C++ and Python) and bad input.
// torch/script.h pulls in glog, whose CHECK macro would replace Catch's: include it first.
#include <torch/script.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "learn/field_autoencoder.hpp"
#include "torchscript_check.hpp"

using namespace macrodyn;
using learn::FieldAutoencoder;
using learn::FieldAutoencoderOptions;
using learn::FieldFrames;

namespace {

constexpr double kPi = 3.14159265358979323846;

// Uniform [0, 1) from a splitmix64 stream (fixed bits on every platform).
struct Uniform {
  std::uint64_t s;
  double operator()() {
    std::uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return double((z ^ (z >> 31)) >> 11) * 0x1.0p-53;
  }
};

struct Frames {
  int dim = 1, n = 0;
  std::int64_t count = 0;
  std::vector<float> x;  // [count, 2, n^dim]
  std::int64_t cells() const { return dim == 1 ? n : std::int64_t(n) * n; }
  FieldFrames view(int p) const { return FieldFrames{dim, n, p, count, x.data()}; }
};

// Independent values in [0.2, 0.8): a generic input for the consistency tests.
Frames random_frames(int dim, int n, std::int64_t count, std::uint64_t seed) {
  Frames f{dim, n, count, {}};
  f.x.resize(static_cast<std::size_t>(count * 2 * f.cells()));
  Uniform u{seed};
  for (auto& v : f.x) v = static_cast<float>(0.2 + 0.6 * u());
  return f;
}

// The reference initial condition (docs/design.md §8.6.1): u = m + k cos(10 pi x),
// v = 1 - m - k cos(10 pi x) on cell centres x = (i + 1/2)/n, m ~ U(.45, .55),
// k ~ U(.05, .15). ks receives the k of every frame.
Frames cosine_frames(int n, std::int64_t count, std::uint64_t seed, std::vector<double>* ks = nullptr) {
  Frames f{1, n, count, {}};
  f.x.resize(static_cast<std::size_t>(count * 2 * n));
  Uniform u{seed};
  for (std::int64_t s = 0; s < count; ++s) {
    const double m = 0.45 + 0.1 * u(), k = 0.05 + 0.1 * u();
    if (ks) ks->push_back(k);
    for (int i = 0; i < n; ++i) {
      const double c = k * std::cos(10 * kPi * (i + 0.5) / n);
      f.x[static_cast<std::size_t>((s * 2) * n + i)] = static_cast<float>(m + c);
      f.x[static_cast<std::size_t>((s * 2 + 1) * n + i)] = static_cast<float>(1 - m - c);
    }
  }
  return f;
}

// Patches [count, 2, K, p^dim] of the frames, written out from their definition: patch
// I = a*(n/p) + b covers rows a*p .. a*p+p-1 and columns b*p .. b*p+p-1 (2-D).
std::vector<float> tile(const Frames& f, int p) {
  const int d = f.n / p;
  std::vector<float> out;
  out.reserve(f.x.size());
  for (std::int64_t s = 0; s < f.count; ++s)
    for (int fld = 0; fld < 2; ++fld) {
      const float* x = f.x.data() + (s * 2 + fld) * f.cells();
      if (f.dim == 1) {
        out.insert(out.end(), x, x + f.n);
        continue;
      }
      for (int a = 0; a < d; ++a)
        for (int b = 0; b < d; ++b)
          for (int r = 0; r < p; ++r)
            for (int c = 0; c < p; ++c) out.push_back(x[(a * p + r) * f.n + b * p + c]);
    }
  return out;
}

std::string tmp_path(const std::string& name) { return std::string(MACRODYN_TEST_TMPDIR) + "/" + name; }

void print_epoch(const learn::EpochReport& r) {
  std::printf("    epoch %d loss %.4g %.2f s %.0f frames/s\n", r.epoch, r.loss, r.seconds, r.samples_per_s);
}

FieldAutoencoder small_model(const Frames& f, int p, std::uint64_t seed = 3, int epochs = 1) {
  FieldAutoencoderOptions o;
  o.epochs = epochs;
  o.batch = 16;
  o.lr = 1e-3;
  o.seed = seed;
  return FieldAutoencoder::train(f.view(p), o);
}

std::vector<float> latents(const FieldAutoencoder& ae, const FieldFrames& f) {
  std::vector<float> z(static_cast<std::size_t>(f.count * 4));
  ae.latents(f, z.data());
  return z;
}

}  // namespace

TEST_CASE("field autoencoder latents are the grid means and the patch mean of the encoder", "[learn][field_autoencoder]") {
  struct Case {
    int dim, n, p;
  };
  for (const Case& c : {Case{1, 200, 40}, Case{2, 16, 4}}) {
    const Frames f = random_frames(c.dim, c.n, 64, 11);
    const auto ae = small_model(f, c.p);
    REQUIRE(ae.dim() == c.dim);
    REQUIRE(ae.n() == c.n);
    REQUIRE(ae.patch() == c.p);
    const std::int64_t N = f.cells(), K = N / (c.dim == 1 ? c.p : c.p * c.p), P = N / K;

    // latents writes exactly [count, 4].
    std::vector<float> z(static_cast<std::size_t>(f.count * 4 + 1), -7.0f);
    ae.latents(f.view(c.p), z.data());
    CHECK(z.back() == -7.0f);

    const auto patches = tile(f, c.p);
    std::vector<float> e(static_cast<std::size_t>(f.count * 2 * K));
    ae.encode_patches(patches.data(), f.count * 2 * K, e.data());
    double worst_mean = 0, worst_zhat = 0, spread = 0;
    for (std::int64_t s = 0; s < f.count; ++s)
      for (int fld = 0; fld < 2; ++fld) {
        double mean = 0, zhat = 0;
        for (std::int64_t i = 0; i < N; ++i) mean += f.x[static_cast<std::size_t>((s * 2 + fld) * N + i)];
        for (std::int64_t I = 0; I < K; ++I) zhat += e[static_cast<std::size_t>((s * 2 + fld) * K + I)];
        mean /= double(N);
        zhat /= double(K);
        worst_mean = std::max(worst_mean, std::abs(mean - z[static_cast<std::size_t>(s * 4 + fld)]));
        worst_zhat = std::max(worst_zhat, std::abs(zhat - z[static_cast<std::size_t>(s * 4 + 2 + fld)]));
        spread = std::max(spread, std::abs(zhat - z[2]));
      }
    std::printf("dim %d n %d p %d (K %lld, %lld values per patch): max |diff| means %.3g, zhat %.3g; zhat spread %.3g\n",
                c.dim, c.n, c.p, (long long)K, (long long)P, worst_mean, worst_zhat, spread);
    CHECK(worst_mean <= 1e-7);
    CHECK(worst_zhat <= 1e-6);
    CHECK(spread > 1e-3);  // the closure is not a constant

    // Any n multiple of p: the frames tiled twice along every axis have the same latents.
    Frames big{c.dim, 2 * c.n, f.count, {}};
    big.x.resize(static_cast<std::size_t>(f.count * 2 * big.cells()));
    for (std::int64_t s = 0; s < 2 * f.count; ++s)
      for (std::int64_t i = 0; i < big.cells(); ++i) {
        const std::int64_t r = c.dim == 1 ? 0 : i / big.n, col = c.dim == 1 ? i : i % big.n;
        const std::int64_t src = c.dim == 1 ? col % c.n : (r % c.n) * c.n + col % c.n;
        big.x[static_cast<std::size_t>(s * big.cells() + i)] = f.x[static_cast<std::size_t>(s * N + src)];
      }
    const auto zb = latents(ae, big.view(c.p));
    double worst_big = 0;
    for (std::size_t i = 0; i < z.size() - 1; ++i) worst_big = std::max(worst_big, double(std::abs(zb[i] - z[i])));
    CHECK(worst_big <= 1e-6);
  }
}

TEST_CASE("field autoencoder codes do not depend on how many patches are encoded together", "[learn][field_autoencoder]") {
  const Frames f = random_frames(1, 200, 64, 12);
  const auto ae = small_model(f, 40);
  const std::int64_t m = 10001, P = 40;
  const Frames r = random_frames(1, int(P), (m + 1) / 2, 13);  // m patches of 40 values (and one spare)
  std::vector<float> all(static_cast<std::size_t>(m));
  ae.encode_patches(r.x.data(), m, all.data());
  // Alone, at every position of an encoder chunk (4096 for p = 40) and in every chunk.
  for (const std::int64_t j : {0, 1, 123, 4095, 4096, 4097, 8191, 8192, 9999, 10000}) {
    float one = 0;
    ae.encode_patches(r.x.data() + j * P, 1, &one);
    INFO("patch " << j << ": alone " << one << " among others " << all[static_cast<std::size_t>(j)]);
    CHECK(std::memcmp(&one, &all[static_cast<std::size_t>(j)], sizeof(float)) == 0);
  }
  // Prefixes and a window that starts mid-chunk.
  for (const std::int64_t len : {2, 4097, 9000}) {
    std::vector<float> part(static_cast<std::size_t>(len));
    ae.encode_patches(r.x.data(), len, part.data());
    CHECK(std::memcmp(part.data(), all.data(), part.size() * sizeof(float)) == 0);
    ae.encode_patches(r.x.data() + (m - len) * P, len, part.data());
    CHECK(std::memcmp(part.data(), all.data() + (m - len), part.size() * sizeof(float)) == 0);
  }
  // The same frames give the same latents in one call or frame by frame.
  const auto z = latents(ae, f.view(40));
  for (const std::int64_t s : {0, 17, 63}) {
    FieldFrames one = f.view(40);
    one.states += s * 2 * 200;
    one.count = 1;
    CHECK(latents(ae, one) == std::vector<float>(z.begin() + s * 4, z.begin() + s * 4 + 4));
  }
}

// u = m + k cos(10 pi x), v = 1 - u (n = 200, p = 40: one period per patch). The means
// give m; k is in the closure only. The best reconstruction from the means alone has MSE
// Var(k) <cos^2> ~ 4.2e-4 (the "means-only bound"); the per-value variance of the data
// is ~1.2e-3. 4096 training frames, 1024 held out, 40 epochs of batch 32, lr 1e-3 and
// weight_decay 0 (the reference's are 1e-4, 256, 1e-4: see below).
// Measured held-out MSE, seeds 1..12 on 1 thread: 2.0e-6 5.9e-6 1.9e-7 1.4e-6 1.4e-6
// 6.3e-6 5.2e-6 2.9e-6 2.6e-6 3.9e-6 6.7e-7 3.5e-7; seeds 1..6 on 2 threads: 1.1e-5 2.9e-6
// 5.5e-7 6.7e-7 3.5e-6 8.1e-7. Against the worst (1.15e-5): untrained/trained > 2e4,
// variance/trained > 100, means-only bound/trained > 35. The checks ask for 1e3, 30, 10.
// The loss first sits on the means-only plateau (~4.2e-4) and leaves it after 10 to 80
// epochs depending on the seed (seed 4 on 1 thread: still there after 25 epochs).
// With the reference's weight_decay 1e-4 (L2 inside Adam) it did not leave it in any run
// (batch 64: seed 1 for 600 epochs, seeds 2..5 for 100; batch 32: seed 1 for 40): held-out
// MSE 4.2e-4 .. 4.4e-4, the bound. With 1e-6 it leaves as with 0. Presumably Adam scales
// the decay of the tiny weights that would carry k up to a full-size step.
TEST_CASE("field autoencoder training learns the closure of the cosine family", "[learn][field_autoencoder]") {
  for (const std::uint64_t seed : {1, 2}) {
    const Frames train = cosine_frames(200, 4096, 100 + seed);
    std::vector<double> ks;
    const Frames held = cosine_frames(200, 1024, 200 + seed, &ks);
    // Per-value variance across held-out frames, and the means-only bound.
    double var = 0, kmean = 0, kvar = 0, cos2 = 0;
    for (double k : ks) kmean += k / double(ks.size());
    for (double k : ks) kvar += (k - kmean) * (k - kmean) / double(ks.size());
    for (int i = 0; i < 200; ++i) cos2 += std::pow(std::cos(10 * kPi * (i + 0.5) / 200), 2) / 200.0;
    for (std::int64_t i = 0; i < 400; ++i) {
      double s = 0, ss = 0;
      for (std::int64_t f = 0; f < held.count; ++f) {
        const double v = held.x[static_cast<std::size_t>(f * 400 + i)];
        s += v;
        ss += v * v;
      }
      s /= double(held.count);
      var += (ss / double(held.count) - s * s) / 400.0;
    }
    const double means_only = kvar * cos2;

    FieldAutoencoderOptions o;
    o.epochs = 0;
    o.batch = 32;
    o.lr = 1e-3;
    o.weight_decay = 0;
    o.seed = seed;
    const double untrained = FieldAutoencoder::train(train.view(40), o).reconstruction_mse(held.view(40));
    o.epochs = 40;
    std::printf("seed %llu: cosine family, 4096 training frames, batch %d, lr %g, weight_decay %g\n",
                (unsigned long long)seed, o.batch, o.lr, o.weight_decay);
    int reports = 0;
    double last_loss = 0;
    const auto ae = FieldAutoencoder::train(train.view(40), o, [&](const learn::EpochReport& r) {
      ++reports;
      last_loss = r.loss;
      if (r.epoch % 10 == 0) print_epoch(r);
    });
    const double trained = ae.reconstruction_mse(held.view(40));
    const double train_mse = ae.reconstruction_mse(train.view(40));
    std::printf("  held-out MSE: untrained %.4g, trained %.4g (training set %.4g, last epoch loss %.4g); "
                "variance %.4g (ratio %.1f), means-only bound %.4g (ratio %.1f)\n",
                untrained, trained, train_mse, last_loss, var, var / trained, means_only, means_only / trained);
    CHECK(reports == 40);
    CHECK(trained < 1e-3 * untrained);
    CHECK(trained < var / 30);
    CHECK(trained < means_only / 10);
  }
}

TEST_CASE("field autoencoder seeded training, save and load are bit-identical", "[learn][field_autoencoder]") {
  for (const int dim : {1, 2}) {
    const int n = dim == 1 ? 200 : 16, p = dim == 1 ? 40 : 4;
    const Frames f = random_frames(dim, n, 100, 21);
    const Frames g = random_frames(dim, n, 30, 22);
    const auto a = small_model(f, p, 5, 2);
    const auto b = small_model(f, p, 5, 2);
    const auto other = small_model(f, p, 6, 2);
    CHECK(latents(a, g.view(p)) == latents(b, g.view(p)));
    CHECK(a.reconstruction_mse(g.view(p)) == b.reconstruction_mse(g.view(p)));
    CHECK(latents(a, g.view(p)) != latents(other, g.view(p)));

    const std::string path = tmp_path("field_ae_" + std::to_string(dim) + ".pt");
    a.save(path);
    const auto c = FieldAutoencoder::load(path);
    CHECK(c.dim() == dim);
    CHECK(c.n() == n);
    CHECK(c.patch() == p);
    CHECK(c.options().hidden == a.options().hidden);
    CHECK(c.options().lr == a.options().lr);
    CHECK(c.options().seed == 5);
    CHECK(latents(c, g.view(p)) == latents(a, g.view(p)));
    CHECK(c.reconstruction_mse(g.view(p)) == a.reconstruction_mse(g.view(p)));
  }
}

TEST_CASE("field autoencoder TorchScript encoder matches encode_patches in C++ and Python", "[learn][field_autoencoder]") {
  for (const int dim : {1, 2}) {
    const int n = dim == 1 ? 200 : 16, p = dim == 1 ? 40 : 4, P = dim == 1 ? p : p * p;
    const auto ae = small_model(random_frames(dim, n, 64, 31), p);
    const std::int64_t m = 500;
    const Frames r = random_frames(1, P, m, 32);  // 2m field patches [m, 2, P]
    std::vector<float> planar_codes(static_cast<std::size_t>(2 * m));
    ae.encode_patches(r.x.data(), 2 * m, planar_codes.data());
    // The export's input: the m patches' voxels with the fields last, [m, P, 2]; its
    // output [m, 2] is E of each field.
    std::vector<float> voxels(static_cast<std::size_t>(2 * m * P)), want(static_cast<std::size_t>(2 * m));
    for (std::int64_t i = 0; i < m; ++i)
      for (int f = 0; f < 2; ++f) {
        for (int k = 0; k < P; ++k) voxels[static_cast<std::size_t>((i * P + k) * 2 + f)] = r.x[static_cast<std::size_t>((i * 2 + f) * P + k)];
        want[static_cast<std::size_t>(i * 2 + f)] = planar_codes[static_cast<std::size_t>(i * 2 + f)];
      }
    const std::string path = tmp_path("field_ae_encoder_" + std::to_string(dim) + ".pt");
    ae.export_encoder(path);
    INFO("dim " << dim);
    std::vector<std::int64_t> shape{m};
    for (int a = 0; a < dim; ++a) shape.push_back(p);
    shape.push_back(2);
    test::check_torchscript({path, voxels, shape, want, {m, 2},
                             {{"dim", dim}, {"patch", p}, {"hidden", 32}, {"channels", 2}, {"closure_dim", 2}}, 1e-6,
                             tmp_path("field_ae_check")});
  }
}

TEST_CASE("field autoencoder keeps a short batch and rejects bad input with invalid_argument", "[learn][field_autoencoder]") {
  const Frames f = random_frames(1, 200, 10, 41);
  FieldAutoencoderOptions o;
  o.epochs = 0;
  o.batch = 4;
  auto bad = [&](int dim, int n, int p, std::int64_t count, const FieldAutoencoderOptions& opt) {
    CHECK_THROWS_AS(FieldAutoencoder::train(FieldFrames{dim, n, p, count, f.x.data()}, opt), std::invalid_argument);
  };
  bad(1, 200, 30, 10, o);  // n % p != 0
  bad(1, 200, 0, 10, o);   // p < 1
  bad(3, 200, 40, 10, o);  // dim
  bad(1, 0, 40, 10, o);    // n < 1
  bad(1, 200, 40, 0, o);   // no frames
  CHECK_THROWS_AS(FieldAutoencoder::train(FieldFrames{1, 200, 40, 10, nullptr}, o), std::invalid_argument);
  auto with = [&](auto set) {
    auto c = o;
    set(c);
    return c;
  };
  bad(1, 200, 40, 10, with([](auto& c) { c.batch = 0; }));
  bad(1, 200, 40, 10, with([](auto& c) { c.hidden = 0; }));
  bad(1, 200, 40, 10, with([](auto& c) { c.epochs = -1; }));
  bad(1, 200, 40, 10, with([](auto& c) { c.lr = 0; }));
  bad(1, 200, 40, 10, with([](auto& c) { c.weight_decay = -1; }));
  bad(1, 200, 40, 10, with([](auto& c) { c.beta2 = 1; }));
  bad(1, 200, 40, 10, with([](auto& c) { c.threads = -1; }));
  bad(1, 200, 40, 10, with([](auto& c) { c.device = "tpu"; }));
  try {
    FieldAutoencoder::train(FieldFrames{1, 200, 30, 10, f.x.data()}, o);
  } catch (const std::invalid_argument& e) {
    CHECK(std::string(e.what()).find("patch") != std::string::npos);
  }

  // count < batch is allowed: every epoch is one short batch, and it is trained on.
  o.batch = 256;
  const auto untrained = FieldAutoencoder::train(f.view(40), o);
  o.epochs = 1;
  int reports = 0;
  const auto one = FieldAutoencoder::train(f.view(40), o, [&](const learn::EpochReport& r) {
    ++reports;
    CHECK(std::isfinite(r.loss));
    CHECK(r.loss > 0);
  });
  CHECK(reports == 1);
  CHECK(latents(one, f.view(40)) != latents(untrained, f.view(40)));

  // Frames that do not fit the model.
  std::vector<float> z(40);
  const Frames g = random_frames(2, 200, 1, 42);
  CHECK_THROWS_AS(one.latents(g.view(40), z.data()), std::invalid_argument);                            // dim
  CHECK_THROWS_AS(one.latents(FieldFrames{1, 200, 20, 1, f.x.data()}, z.data()), std::invalid_argument);  // patch
  CHECK_THROWS_AS(one.latents(FieldFrames{1, 100, 40, 1, f.x.data()}, z.data()), std::invalid_argument);  // n % p
  CHECK_THROWS_AS(one.reconstruction_mse(FieldFrames{1, 80, 40, 1, f.x.data()}), std::invalid_argument);  // n
  CHECK_NOTHROW(one.latents(FieldFrames{1, 80, 0, 5, f.x.data()}, z.data()));  // any n multiple of p
}
