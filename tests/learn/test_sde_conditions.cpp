// Conditioned SDEs (a system key such as T as an input of drift and diffusion) and the
// stochastic OnsagerNet drift: learned on a case whose answer is known, and exported.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

#include "learn/exported.hpp"
#include "learn/sde.hpp"
#include "ou_data.hpp"

using namespace macrodyn;

namespace {

// The conditioned OU law of the test: theta(c) = 0.5 c, s(c) = 0.4 + 0.2 c.
double theta_of(double c) { return 0.5 * c; }
double s_of(double c) { return 0.4 + 0.2 * c; }

// n pairs at each of the conditions 1, 2, 3 (exact transitions, theta dt ~ U(0.005, 0.01)).
learn::LatentPairs conditioned_ou(std::int64_t n, std::uint64_t seed) {
  learn::LatentPairs p;
  p.dim = 1;
  p.cond_dim = 1;
  Rng rng(WorkItem{seed, Purpose::test, 0, 2});
  for (int c = 1; c <= 3; ++c)
    for (std::int64_t i = 0; i < n; ++i) {
      const double z = -3 + 6 * rng.uniform(), theta = theta_of(c);
      const double dt = (0.005 + 0.005 * rng.uniform()) / theta;
      p.z0.push_back(static_cast<float>(z));
      p.z1.push_back(static_cast<float>(test::ou_step(z, theta, s_of(c), dt, rng)));
      p.dt.push_back(dt);
      p.cond.push_back(static_cast<float>(c));
    }
  return p;
}

// Least-squares slope of the drift through the origin and rms sigma on [-3, 3] at condition c.
void slope_and_sigma(const learn::SdeModel& m, float c, double& slope, double& sigma) {
  std::vector<float> z, cond(61, c), mu(61), s(61);
  for (int i = 0; i <= 60; ++i) z.push_back(static_cast<float>(-3 + 0.1 * i));
  m.drift(z.data(), 61, mu.data(), cond.data());
  m.sigma(z.data(), 61, s.data(), cond.data());
  double zz = 0, zm = 0, ss = 0;
  for (int i = 0; i <= 60; ++i) {
    zz += double(z[i]) * z[i];
    zm += double(z[i]) * mu[i];
    ss += double(s[i]) * s[i];
  }
  slope = zm / zz;
  sigma = std::sqrt(ss / 61);
}

void write_f32(const std::string& path, const std::vector<float>& v) {
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(v.data()), std::streamsize(v.size() * 4));
}

}  // namespace

TEST_CASE("A conditioned SDE learns an Ornstein-Uhlenbeck law whose rate and noise depend on the condition",
          "[learn][sde][conditions]") {
  const std::int64_t n = 200000;
  const auto pairs = conditioned_ou(n, 5);
  for (const auto drift : {learn::Drift::mlp, learn::Drift::onsager}) {
    learn::SdeOptions o;
    o.drift = drift;
    o.diffusion = learn::Diffusion::diagonal;
    o.cond_offset = {1.0};
    o.cond_scale = {2.0};
    o.epochs = drift == learn::Drift::onsager ? 30 : 10;
    o.batch = 4096;
    o.lr = 3e-3;
    o.eps = 1e-6;
    o.patience = 1;
    o.device = "cpu";
    o.threads = 1;
    o.seed = 3;
    const auto m = learn::train_sde(pairs, {}, o);
    for (int c = 1; c <= 3; ++c) {
      double info = 0;
      for (std::int64_t i = (c - 1) * n; i < c * n; ++i) info += double(pairs.z0[i]) * pairs.z0[i] * pairs.dt[i];
      const double se_theta = s_of(c) / std::sqrt(info), se_sigma = s_of(c) / std::sqrt(2.0 * n);
      double slope = 0, sigma = 0;
      slope_and_sigma(m, static_cast<float>(c), slope, sigma);
      std::printf("%s drift, c = %d: slope %.4f (exact %.4f, SE %.4f), sigma %.4f (exact %.4f, SE %.5f)\n",
                  learn::drift_name(drift), c, slope, -theta_of(c), se_theta, sigma, s_of(c), se_sigma);
      // The slope's tolerance: 4 SE of the data or 8 % (a network's fit of a line over
      // [-3, 3] in 10 epochs); sigma's: 4 SE or 5 %.
      CHECK(std::abs(slope + theta_of(c)) <= std::max(0.08 * theta_of(c), 4 * se_theta));
      CHECK(std::abs(sigma - s_of(c)) <= std::max(0.05 * s_of(c), 4 * se_sigma));
    }
  }
}

TEST_CASE("The OnsagerNet drift is (M + W)(-grad V) + 0.1 (-grad V) + f, exported the same in C++ and Python",
          "[learn][sde][conditions][export]") {
  REQUIRE(std::system("/usr/bin/python3 -c 'import torch' > /dev/null 2>&1") == 0);
  const int d = 3, n = 500;
  std::mt19937 gen(9);
  std::uniform_real_distribution<float> u(-1, 1);
  std::vector<float> z(static_cast<std::size_t>(n * d)), cond(n);
  for (auto& v : z) v = u(gen);
  for (auto& v : cond) v = 1500 + 1500 * (u(gen) + 1) / 2;
  for (const int q : {0, 1}) {
    const std::string dir = std::string(MACRODYN_TEST_TMPDIR) + "/onsager_q" + std::to_string(q);
    std::filesystem::create_directories(dir);
    learn::SdeArchitecture arch{learn::Diffusion::full, learn::Drift::onsager, q, {}, {}};
    if (q) arch.cond_offset = {1400}, arch.cond_scale = {1600};
    const learn::SdeModel model(d, arch, 7, "cpu");
    model.export_torchscript(dir);
    const float* c = q ? cond.data() : nullptr;
    std::vector<float> mu(static_cast<std::size_t>(n * d)), sg(static_cast<std::size_t>(n * d * d));
    model.drift(z.data(), n, mu.data(), c);
    model.sigma(z.data(), n, sg.data(), c);

    // The C++ runtime of the exported files, one condition for all states: the same bits.
    learn::ExportedSde exported(dir, d, "cpu");
    for (int i = 0; i < n; i += 100) {
      if (q) exported.set_condition({cond[i]});
      std::vector<float> mu1(d), sg1(d * d);
      exported.eval(z.data() + i * d, 1, mu1.data(), sg1.data());
      std::vector<float> mu0(d), sg0(d * d);
      model.drift(z.data() + i * d, 1, mu0.data(), q ? cond.data() + i : nullptr);
      model.sigma(z.data() + i * d, 1, sg0.data(), q ? cond.data() + i : nullptr);
      CHECK(mu1 == mu0);
      CHECK(sg1 == sg0);
    }

    // Python: the exported module, and the drift rebuilt from its weights with V and its
    // gradient by autograd (so the hand-written chain rule of the C++ is checked).
    write_f32(dir + "/z.f32", z);
    write_f32(dir + "/c.f32", cond);
    write_f32(dir + "/mu.f32", mu);
    const std::string script = dir + "/check.py";
    std::ofstream(script)
        << "import sys, torch\n"
           "d, n, dim, q = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])\n"
           "rd = lambda f: torch.frombuffer(bytearray(open(d + '/' + f, 'rb').read()), dtype=torch.float32)\n"
           "z, c, mu = rd('z.f32').reshape(n, dim), rd('c.f32').reshape(n, 1), rd('mu.f32').reshape(n, dim)\n"
           "m = torch.jit.load(d + '/drift.pt')\n"
           "with torch.no_grad():\n"
           "    e1 = ((m(z, c) if q else m(z)) - mu).abs().max().item()\n"
           "lin = lambda name, x: x @ getattr(m, name + '_w').t() + getattr(m, name + '_b')\n"
           "F = lambda s: torch.relu(s) ** 2 - torch.relu(s - 0.5) ** 2\n"
           "zg = z.clone().requires_grad_(True)\n"
           "x = zg\n"
           "if q:\n"
           "    cn = (c - m.cond_offset) / m.cond_scale\n"
           "    x = torch.cat([zg, lin('emb1', torch.relu(lin('emb0', cn)))], 1)\n"
           "h1 = F(lin('w0', x))\n"
           "h2 = F(lin('w1', h1)) + h1\n"
           "V = ((lin('pot', h2) + lin('potlin', zg)) ** 2).sum() + 0.5 * (zg ** 2).sum()\n"
           "g = -torch.autograd.grad(V, zg)[0]\n"
           "with torch.no_grad():\n"
           "    A = lin('mat', h2).reshape(n, dim, dim)\n"
           "    L, U = torch.tril(A), torch.triu(A, 1)\n"
           "    M = L @ L.transpose(1, 2)\n"
           "    ref = ((M + U - U.transpose(1, 2)) @ g.unsqueeze(2)).squeeze(2) + 0.1 * g + lin('lin', h2)\n"
           "    e2 = (ref - mu).abs().max().item()\n"
           "    psd = torch.linalg.eigvalsh(M).min().item()\n"
           "print('onsager q=%d: python jit max |diff| %.3g, autograd rebuild max |diff| %.3g, min eig M %.3g' % (q, e1, e2, psd), flush=True)\n"
           "sys.exit(0 if e1 <= 1e-6 and e2 <= 1e-5 and psd >= -1e-6 else 1)\n";
    const std::string cmd = "/usr/bin/python3 " + script + " " + dir + " " + std::to_string(n) + " " +
                            std::to_string(d) + " " + std::to_string(q);
    CHECK(std::system(cmd.c_str()) == 0);
  }
}

TEST_CASE("Conditioned pairs are refused when their conditions do not match the options", "[learn][sde][conditions]") {
  auto p = conditioned_ou(100, 1);
  learn::SdeOptions o;
  o.epochs = 1;
  o.device = "cpu";
  o.threads = 1;
  // No normalisation for the pairs' one condition.
  CHECK_THROWS_WITH(learn::train_sde(p, {}, o), Catch::Contains("normalisation"));
  o.cond_offset = {1};
  o.cond_scale = {2};
  p.cond.pop_back();
  CHECK_THROWS_WITH(learn::train_sde(p, {}, o), Catch::Contains("conditions have an inconsistent length"));
}
