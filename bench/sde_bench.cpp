// Training throughput of the neural SDE on synthetic pairs (an OU process in d dimensions):
// samples/s and seconds per epoch, on the CPU or a GPU. Needs nothing but LibTorch.
//   sde_bench [--pairs N] [--dim D] [--epochs E] [--batch B] [--diffusion full|diagonal|constant]
//             [--device auto|cpu|cuda] [--threads T]
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>

#include "learn/sde.hpp"

namespace {

[[noreturn]] void bad(const std::string& what) {
  std::fprintf(stderr, "sde_bench: error: %s\n", what.c_str());
  std::exit(2);
}

long parse_long(const char* opt, const char* v) {
  char* end = nullptr;
  const long x = std::strtol(v, &end, 10);
  if (!v[0] || *end || x < 1) bad(std::string(opt) + " needs a positive integer, not '" + v + "'");
  return x;
}

}  // namespace

int main(int argc, char** argv) {
  long pairs = 200000, dim = 4, epochs = 3, batch = 1024, threads = 0;
  std::string diffusion = "full", device = "auto";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::puts("usage: sde_bench [--pairs N] [--dim D] [--epochs E] [--batch B] [--diffusion full|diagonal|constant]\n"
                "                 [--device auto|cpu|cuda] [--threads T]\n"
                "Trains the neural SDE (K-scaled loss) on synthetic OU pairs and prints samples/s and s/epoch.");
      return 0;
    }
    if (i + 1 >= argc) bad(a + " needs a value");
    const char* v = argv[++i];
    if (a == "--pairs") pairs = parse_long("--pairs", v);
    else if (a == "--dim") dim = parse_long("--dim", v);
    else if (a == "--epochs") epochs = parse_long("--epochs", v);
    else if (a == "--batch") batch = parse_long("--batch", v);
    else if (a == "--threads") threads = parse_long("--threads", v);
    else if (a == "--diffusion") diffusion = v;
    else if (a == "--device") device = v;
    else bad("unknown option " + a);
  }
  try {
    macrodyn::learn::SdeOptions o;
    o.diffusion = macrodyn::learn::parse_diffusion(diffusion);
    o.device = macrodyn::learn::resolve_device(device);
    o.epochs = static_cast<int>(epochs);
    o.batch = static_cast<int>(batch);
    o.threads = static_cast<int>(threads);
    o.loss_factor = 4;
    // dz = -z dt + 0.5 dW per dimension, exact transitions, dt = 0.01.
    macrodyn::learn::LatentPairs p;
    p.dim = static_cast<int>(dim);
    std::mt19937_64 gen(1);
    std::normal_distribution<double> normal;
    std::uniform_real_distribution<double> uni(-3, 3);
    const double dt = 0.01, a = std::exp(-dt), sd = 0.5 * std::sqrt((1 - a * a) / 2);
    for (long i = 0; i < pairs; ++i) {
      for (long k = 0; k < dim; ++k) {
        const double z = uni(gen);
        p.z0.push_back(static_cast<float>(z));
        p.z1.push_back(static_cast<float>(z * a + sd * normal(gen)));
      }
      p.dt.push_back(dt);
    }
    std::printf("%-8s %-10s %8s %5s %6s %14s %10s\n", "device", "diffusion", "pairs", "dim", "batch", "samples/s",
                "s/epoch");
    macrodyn::learn::train_sde(p, {}, o, [&](const macrodyn::learn::SdeEpochReport& r) {
      std::printf("%-8s %-10s %8ld %5ld %6ld %14.0f %10.3f   (epoch %d, loss %.4f)\n", o.device.c_str(),
                  diffusion.c_str(), pairs, dim, batch, r.samples_per_s, r.seconds, r.epoch, r.train_loss);
      std::fflush(stdout);
    });
  } catch (const std::exception& e) {
    bad(e.what());
  }
  return 0;
}
