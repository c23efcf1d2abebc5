#pragma once
// Checks an exported TorchScript module where its users load it: from C++
// (torch::jit::load) and from Debian's Python (torch.jit.load, on raw float32 files).
// Include after torch and before Catch is fine; it uses both.
#include <torch/script.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

namespace macrodyn::test {

struct TorchScriptCase {
  std::string path;                     // the exported module
  std::vector<float> x;                 // input, row-major
  std::vector<std::int64_t> x_shape;
  std::vector<float> want;              // expected forward(x), row-major
  std::vector<std::int64_t> want_shape;
  std::vector<std::pair<std::string, std::int64_t>> int_attrs;  // attributes the module must carry
  double tol = 1e-6;                    // max |forward(x) - want|
  std::string scratch;                  // prefix of the Python run's files
};

inline std::string join_ints(const std::vector<std::int64_t>& v) {
  std::string s;
  for (std::int64_t x : v) s += (s.empty() ? "" : ",") + std::to_string(x);
  return s;
}

inline void check_torchscript(const TorchScriptCase& k) {
  auto mod = torch::jit::load(k.path);
  for (const auto& [name, value] : k.int_attrs) {
    INFO("attribute " << name);
    CHECK(mod.attr(name).toInt() == value);
  }
  const auto x = torch::from_blob(const_cast<float*>(k.x.data()), k.x_shape, torch::kFloat).clone();
  torch::Tensor y;
  {
    torch::NoGradGuard ng;
    y = mod.forward({x}).toTensor().contiguous();
  }
  REQUIRE(y.sizes().vec() == k.want_shape);
  double worst = 0;
  for (std::size_t i = 0; i < k.want.size(); ++i)
    worst = std::max(worst, double(std::abs(y.data_ptr<float>()[i] - k.want[i])));
  std::printf("C++ torch::jit::load: max |diff| %.3g\n", worst);
  CHECK(worst <= k.tol);

  const std::string fx = k.scratch + "_in.f32", fy = k.scratch + "_out.f32", script = k.scratch + ".py";
  std::ofstream(fx, std::ios::binary).write(reinterpret_cast<const char*>(k.x.data()), std::streamsize(k.x.size() * 4));
  std::ofstream(fy, std::ios::binary)
      .write(reinterpret_cast<const char*>(k.want.data()), std::streamsize(k.want.size() * 4));
  std::string attrs;
  for (const auto& [name, value] : k.int_attrs) attrs += (attrs.empty() ? "" : ",") + name + "=" + std::to_string(value);
  std::ofstream(script) << "import sys, torch\n"
                           "path, fx, fy, xs, ys, tol, attrs = sys.argv[1:]\n"
                           "shape = lambda s: [int(v) for v in s.split(',')]\n"
                           "m = torch.jit.load(path)\n"
                           "rd = lambda f: torch.frombuffer(bytearray(open(f, 'rb').read()), dtype=torch.float32)\n"
                           "x = rd(fx).reshape(shape(xs))\n"
                           "y = rd(fy).reshape(shape(ys))\n"
                           "with torch.no_grad():\n"
                           "    out = m(x)\n"
                           "d = (out - y).abs().max().item() if out.shape == y.shape else float('inf')\n"
                           "print('python torch.jit.load: max |diff| %.3g' % d, flush=True)\n"
                           "ok = all(getattr(m, a.split('=')[0]) == int(a.split('=')[1]) for a in attrs.split(',') if a)\n"
                           "sys.exit(0 if d <= float(tol) and ok else 1)\n";
  // scripts/build.sh installs python3-torch: a missing one is a failure, not a skip.
  REQUIRE(std::system("/usr/bin/python3 -c 'import torch' > /dev/null 2>&1") == 0);
  const std::string cmd = "/usr/bin/python3 " + script + " " + k.path + " " + fx + " " + fy + " " + join_ints(k.x_shape) +
                          " " + join_ints(k.want_shape) + " " + std::to_string(k.tol) + " '" + attrs + "'";
  CHECK(std::system(cmd.c_str()) == 0);
}

}  // namespace macrodyn::test
