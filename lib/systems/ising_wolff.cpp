#include "systems/ising_wolff.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

#include "core/geometry.hpp"

namespace macrodyn::systems {

WolffSampler::WolffSampler(int dim, int L, double beta)
    : dim_(dim), L_(L), n_(ipow(L, dim)), p_add_(-std::expm1(-2.0 * beta)) {
  if (dim < 1 || dim > 3 || L < 2) throw std::invalid_argument("WolffSampler: dim 1..3 and L >= 2");
  if (!(beta > 0)) throw std::invalid_argument("WolffSampler: beta must be positive");
  s_.assign(static_cast<std::size_t>(n_), 1);
  M_ = n_;
  stack_.reserve(static_cast<std::size_t>(n_));
  stride_[dim - 1] = 1;
  for (int d = dim - 2; d >= 0; --d) stride_[d] = stride_[d + 1] * L;
}

void WolffSampler::load(const std::int8_t* x) {
  M_ = 0;
  for (std::int64_t i = 0; i < n_; ++i) {
    if (x[i] != 1 && x[i] != -1)
      throw std::invalid_argument("WolffSampler::load: site " + std::to_string(i) + " is not +-1");
    s_[static_cast<std::size_t>(i)] = x[i];
    M_ += x[i];
  }
}

std::int64_t WolffSampler::update(Rng& rng) {
  // Sites are flipped as they join, so "aligned with the seed's old spin" also means "not
  // yet in the cluster": no membership array.
  const auto seed = static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(n_)));
  const std::int8_t old = s_[static_cast<std::size_t>(seed)];
  s_[static_cast<std::size_t>(seed)] = static_cast<std::int8_t>(-old);
  stack_.clear();
  stack_.push_back(seed);
  std::int64_t size = 1;
  while (!stack_.empty()) {
    const std::int64_t i = stack_.back();
    stack_.pop_back();
    for (int d = 0; d < dim_; ++d) {
      const std::int64_t st = stride_[d];
      const int c = static_cast<int>((i / st) % L_);
      const std::int64_t down = c == 0 ? i + (L_ - 1) * st : i - st;
      const std::int64_t up = c == L_ - 1 ? i - (L_ - 1) * st : i + st;
      for (const std::int64_t j : {down, up}) {
        std::int8_t& sj = s_[static_cast<std::size_t>(j)];
        if (sj == old && rng.uniform() < p_add_) {
          sj = static_cast<std::int8_t>(-old);
          stack_.push_back(j);
          ++size;
        }
      }
    }
  }
  M_ -= 2 * old * size;
  return size;
}

double WolffSampler::energy() const {
  std::int64_t bonds = 0;  // sum over bonds of s_i s_j, each bond once (toward +d)
  for (std::int64_t i = 0; i < n_; ++i)
    for (int d = 0; d < dim_; ++d) {
      const std::int64_t st = stride_[d];
      const int c = static_cast<int>((i / st) % L_);
      const std::int64_t up = c == L_ - 1 ? i - (L_ - 1) * st : i + st;
      bonds += s_[static_cast<std::size_t>(i)] * s_[static_cast<std::size_t>(up)];
    }
  return -static_cast<double>(bonds);
}

}  // namespace macrodyn::systems
