// The exported drift and diffusion (TorchScript) against the C++ model: through the C++
// runtime (learn/exported.hpp) and through Debian's Python torch (torch.jit.load).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

#include "learn/exported.hpp"
#include "learn/sde.hpp"

using namespace macrodyn;

namespace {

void write_f32(const std::string& path, const std::vector<float>& v) {
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(v.data()), std::streamsize(v.size() * 4));
}

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double w = 0;
  for (std::size_t i = 0; i < a.size(); ++i) w = std::max(w, std::abs(double(a[i]) - b[i]));
  return w;
}

}  // namespace

TEST_CASE("Exported drift and diffusion agree with the C++ model in C++ and in Python", "[learn][export]") {
  const int d = 4, n = 1000;
  std::vector<float> z(static_cast<std::size_t>(n * d));
  std::mt19937 gen(3);
  std::uniform_real_distribution<float> u(-2, 2);
  for (auto& v : z) v = u(gen);
  REQUIRE(std::system("/usr/bin/python3 -c 'import torch' > /dev/null 2>&1") == 0);  // python3-torch (build.sh)

  for (const auto kind : {learn::Diffusion::full, learn::Diffusion::diagonal, learn::Diffusion::constant}) {
    const std::string dir = std::string(MACRODYN_TEST_TMPDIR) + "/export_" + learn::diffusion_name(kind);
    std::filesystem::create_directories(dir);
    // A trained-looking model: a few epochs on OU-like pairs so the weights are not the init.
    learn::LatentPairs p;
    p.dim = d;
    for (int i = 0; i < 2048; ++i) {
      for (int k = 0; k < d; ++k) {
        const float v = u(gen);
        p.z0.push_back(v);
        p.z1.push_back(v * 0.99f + 0.05f * u(gen));
      }
      p.dt.push_back(0.01);
    }
    learn::SdeOptions o;
    o.diffusion = kind;
    o.epochs = 2;
    o.device = "cpu";
    o.threads = 1;
    const auto model = learn::train_sde(p, {}, o);
    model.export_torchscript(dir);

    std::vector<float> mu(static_cast<std::size_t>(n * d)), sg(static_cast<std::size_t>(n * d * d));
    model.drift(z.data(), n, mu.data());
    model.sigma(z.data(), n, sg.data());
    const learn::ExportedSde exported(dir, d, "cpu");
    std::vector<float> mu2(mu.size()), sg2(sg.size());
    exported.eval(z.data(), n, mu2.data(), sg2.data());
    std::printf("%s: C++ TorchScript max |diff| drift %.3g, sigma %.3g\n", learn::diffusion_name(kind),
                max_abs_diff(mu, mu2), max_abs_diff(sg, sg2));
    CHECK(max_abs_diff(mu, mu2) <= 1e-6);
    CHECK(max_abs_diff(sg, sg2) <= 1e-6);

    write_f32(dir + "/z.f32", z);
    write_f32(dir + "/mu.f32", mu);
    write_f32(dir + "/sigma.f32", sg);
    const std::string script = dir + "/check.py";
    std::ofstream(script) << "import sys, torch\n"
                             "d, n, dim = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])\n"
                             "rd = lambda f: torch.frombuffer(bytearray(open(d + '/' + f, 'rb').read()), dtype=torch.float32)\n"
                             "z = rd('z.f32').reshape(n, dim)\n"
                             "drift, diffusion = torch.jit.load(d + '/drift.pt'), torch.jit.load(d + '/diffusion.pt')\n"
                             "with torch.no_grad():\n"
                             "    e1 = (drift(z) - rd('mu.f32').reshape(n, dim)).abs().max().item()\n"
                             "    e2 = (diffusion(z) - rd('sigma.f32').reshape(n, dim, dim)).abs().max().item()\n"
                             "print('python torch.jit.load: max |diff| drift %.3g sigma %.3g' % (e1, e2), flush=True)\n"
                             "sys.exit(0 if e1 <= 1e-6 and e2 <= 1e-6 else 1)\n";
    const std::string cmd = "/usr/bin/python3 " + script + " " + dir + " " + std::to_string(n) + " " + std::to_string(d);
    CHECK(std::system(cmd.c_str()) == 0);
  }
}
