#include "jobs/model_info.hpp"

#include <boost/property_tree/json_parser.hpp>
#include <boost/property_tree/ptree.hpp>
#include <cmath>
#include <cstdio>
#include <limits>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "core/format.hpp"
#include "systems/system.hpp"

using namespace macrodyn::systems;

namespace macrodyn::jobs {

namespace {

std::string quote(const std::string& s) {
  std::string q = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') q += '\\';
    if (c == '\n') { q += "\\n"; continue; }
    q += c;
  }
  return q + "\"";
}

// JSON has no NaN or infinity: those become null (read back as NaN).
std::string num(double v) {
  if (!std::isfinite(v)) return "null";
  char b[40];
  std::snprintf(b, sizeof b, "%.17g", v);
  return b;
}

template <class T, class F>
std::string list(const std::vector<T>& v, F f) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + f(v[i]);
  return s + "]";
}

// {"T": 2.5, "h": 0.1}, each value read back exactly; a text key (a file) as its text.
std::string params_object(const SystemParams& p) {
  std::string s = "{";
  for (const auto& v : p.values())
    s += (s.size() > 1 ? ", " : "") + quote(v.key) + ": " +
         (v.text ? quote(v.word) : std::isfinite(v.value) ? shortest(v.value) : "null");
  return s + "}";
}

}  // namespace

void write_model_info(const std::string& dir, const ModelInfo& m) {
  std::ostringstream o;
  o << "{\n"
    << "  \"format\": " << quote(m.format) << ",\n"
    << "  \"format_version\": " << m.format_version << ",\n"
    << "  \"macrodyn_version\": " << quote(m.macrodyn_version) << ",\n"
    << "  \"system\": " << quote(m.system) << ",\n"
    << "  \"system_params\": " << params_object(m.params) << ",\n"
    << "  \"L\": " << m.L << ",\n"
    << "  \"patch\": " << m.patch << ",\n"
    << "  \"K\": " << m.K << ",\n"
    << "  \"boundary\": " << quote(m.boundary) << ",\n"
    << "  \"variables\": " << list(m.variables, quote) << ",\n"
    << "  \"z_star_dim\": " << m.z_star_dim << ",\n"
    << "  \"closure_dim\": " << m.closure_dim << ",\n"
    << "  \"encoder\": " << quote(m.encoder) << ",\n"
    << "  \"decoder\": " << quote(m.decoder) << ",\n"
    << "  \"normalisation\": {\"offset\": " << list(m.offset, num) << ", \"scale\": " << list(m.scale, num)
    << ", \"rule\": \"z_model = (z - offset) / scale\"},\n"
    << "  \"time_unit\": " << num(m.time_unit) << ",\n"
    << "  \"time_unit_kind\": " << quote(m.time_unit_kind) << ",\n"
    << "  \"pair_dt\": " << num(m.pair_dt) << ",\n"
    << "  \"conditions\": " << list(m.conditions, quote) << ",\n"
    << "  \"condition_normalisation\": {\"offset\": " << list(m.condition_offset, num)
    << ", \"scale\": " << list(m.condition_scale, num) << "},\n"
    << "  \"condition_values\": " << list(m.condition_values, num) << ",\n"
    << "  \"condition_pair_dt\": " << list(m.condition_pair_dt, num) << ",\n"
    << "  \"condition_time_units\": " << list(m.condition_time_units, num) << ",\n"
    << "  \"time_fit\": {\"a\": " << num(m.time_fit_a) << ", \"b\": " << num(m.time_fit_b)
    << ", \"rule\": \"time_unit = exp(a + b / condition) between or beyond the condition_values\"},\n"
    << "  \"drift\": " << quote(m.drift) << ",\n"
    << "  \"method\": " << quote(m.method) << ",\n"
    << "  \"loss_factor\": " << num(m.loss_factor) << ",\n"
    << "  \"loss_factor_source\": " << quote(m.loss_factor_source) << ",\n"
    << "  \"eps\": " << num(m.eps) << ",\n"
    << "  \"diffusion\": " << quote(m.diffusion) << ",\n"
    << "  \"epochs\": " << m.epochs << ",\n"
    << "  \"train_pairs\": " << m.train_pairs << ",\n"
    << "  \"val_pairs\": " << m.val_pairs << ",\n"
    << "  \"seed\": " << m.seed << ",\n"
    << "  \"final_train_loss\": " << num(m.final_train_loss) << ",\n"
    << "  \"final_val_loss\": " << num(m.final_val_loss) << ",\n"
    << "  \"device\": " << quote(m.device) << ",\n"
    << "  \"dataset\": " << quote(m.dataset) << ",\n"
    << "  \"dataset_created\": " << quote(m.dataset_created) << ",\n"
    << "  \"dataset_version\": " << quote(m.dataset_version) << ",\n"
    << "  \"dataset_seed\": " << m.dataset_seed << "\n"
    << "}\n";
  write_file_atomically(dir + "/model.json", o.str());
}

ModelInfo read_model_info(const std::string& dir) {
  namespace pt = boost::property_tree;
  const std::string path = dir + "/model.json";
  if (!std::filesystem::exists(path))
    throw FileError(path + " does not exist: is " + dir + " a model directory written by macrodyn train?");
  pt::ptree t;
  try {
    pt::read_json(path, t);
  } catch (const pt::json_parser_error& e) {
    throw FileError(path + " is not valid JSON: " + e.what());
  }
  ModelInfo m;
  try {
    m.format = t.get<std::string>("format");
    if (m.format != "macrodyn-model") throw FileError(path + " is not a macrodyn model description");
    m.format_version = t.get<std::int64_t>("format_version");
    if (m.format_version != 1) throw FileError(path + " has format_version " + std::to_string(m.format_version) + ", this macrodyn reads 1");
    m.macrodyn_version = t.get<std::string>("macrodyn_version");
    m.system = t.get<std::string>("system");
    if (const auto p = t.get_child_optional("system_params")) {
      for (auto& v : *p) {
        const auto number = v.second.get_value_optional<double>();
        if (number) m.params.set(v.first, *number);
        else m.params.set_word(v.first, v.second.get_value<std::string>());  // a text key
      }
    } else {  // model.json before system_params: the spin systems' T and h
      m.params.set("T", t.get<double>("T"));
      m.params.set("h", t.get<double>("h"));
    }
    // Resolved by the system (when this build has it): the values stay, and each key gets
    // its spec's title flag and word (laplacian = grid, not 0) for titles and summaries.
    if (is_system_name(m.system)) m.params = resolve_system_params(m.system, m.params);
    m.L = t.get<std::int64_t>("L");
    m.patch = t.get<std::int64_t>("patch");
    m.K = t.get<std::int64_t>("K");
    m.boundary = t.get<std::string>("boundary");
    for (auto& v : t.get_child("variables")) m.variables.push_back(v.second.get_value<std::string>());
    m.z_star_dim = t.get<std::int64_t>("z_star_dim");
    m.closure_dim = t.get<std::int64_t>("closure_dim");
    m.encoder = t.get<std::string>("encoder");
    m.decoder = t.get<std::string>("decoder");
    for (auto& v : t.get_child("normalisation.offset")) m.offset.push_back(v.second.get_value<double>());
    for (auto& v : t.get_child("normalisation.scale")) m.scale.push_back(v.second.get_value<double>());
    m.time_unit = t.get<double>("time_unit");
    m.time_unit_kind = t.get<std::string>("time_unit_kind");
    m.pair_dt = t.get<double>("pair_dt", 0.0);
    // Conditions (absent from a model.json written before them: an autonomous SDE).
    const auto numbers = [&t](const std::string& key, std::vector<double>& out) {
      if (const auto c = t.get_child_optional(key))
        for (auto& v : *c) out.push_back(v.second.get_value<double>());
    };
    if (const auto c = t.get_child_optional("conditions"))
      for (auto& v : *c) m.conditions.push_back(v.second.get_value<std::string>());
    numbers("condition_normalisation.offset", m.condition_offset);
    numbers("condition_normalisation.scale", m.condition_scale);
    numbers("condition_values", m.condition_values);
    numbers("condition_pair_dt", m.condition_pair_dt);
    numbers("condition_time_units", m.condition_time_units);
    m.time_fit_a = t.get<double>("time_fit.a", 0.0);
    m.time_fit_b = t.get<double>("time_fit.b", 0.0);
    m.drift = t.get<std::string>("drift", "mlp");
    m.method = t.get<std::string>("method");
    m.loss_factor = t.get<double>("loss_factor");
    m.loss_factor_source = t.get<std::string>("loss_factor_source", m.method == "kscaled" ? "K" : "naive");
    m.eps = t.get<double>("eps");
    m.diffusion = t.get<std::string>("diffusion");
    m.epochs = t.get<std::int64_t>("epochs");
    m.train_pairs = t.get<std::int64_t>("train_pairs");
    m.val_pairs = t.get<std::int64_t>("val_pairs");
    m.seed = t.get<std::uint64_t>("seed");
    const double nan = std::numeric_limits<double>::quiet_NaN();
    m.final_train_loss = t.get<double>("final_train_loss", nan);
    m.final_val_loss = t.get<double>("final_val_loss", nan);
    m.device = t.get<std::string>("device");
    m.dataset = t.get<std::string>("dataset");
    m.dataset_created = t.get<std::string>("dataset_created");
    m.dataset_version = t.get<std::string>("dataset_version");
    m.dataset_seed = t.get<std::uint64_t>("dataset_seed");
  } catch (const pt::ptree_error& e) {
    throw FileError(path + " is incomplete: " + e.what());
  }
  if (m.offset.size() != m.variables.size() || m.scale.size() != m.variables.size() ||
      m.z_star_dim + m.closure_dim != static_cast<std::int64_t>(m.variables.size()))
    throw FileError(path + ": the dimensions of variables, normalisation and closure disagree");
  const std::size_t q = m.conditions.size(), v = m.condition_values.size();
  if (m.condition_offset.size() != q || m.condition_scale.size() != q || q > 1 ||
      m.condition_pair_dt.size() != v || m.condition_time_units.size() != v || (q == 1) != (v > 0))
    throw FileError(path + ": the conditions, their normalisation and their time units disagree");
  if (m.drift != "mlp" && m.drift != "onsager") throw FileError(path + ": drift must be mlp or onsager, not " + m.drift);
  return m;
}

ModelInfo at_condition(const ModelInfo& m, double c, const std::string& what) {
  if (m.conditions.empty()) throw InputError(what + ": the model has no condition (it was trained at one " + m.params.describe() + ")");
  if (!(std::isfinite(c) && c != 0)) throw InputError(what + ": " + m.conditions[0] + " = " + shortest(c) + " is not a usable value");
  ModelInfo at = m;
  at.params.set(m.conditions[0], c);
  at.params = resolve_system_params(m.system, at.params);
  for (std::size_t i = 0; i < m.condition_values.size(); ++i)
    if (std::fabs(m.condition_values[i] - c) <= 1e-9 * std::max(1.0, std::fabs(c))) {
      at.time_unit = m.condition_time_units[i];
      at.pair_dt = m.condition_pair_dt[i];
      return at;
    }
  // Between or beyond the training values: the fitted law for the unit, and the pair
  // duration in proportion (it scales as the unit at every training value).
  at.time_unit = std::exp(m.time_fit_a + m.time_fit_b / c);
  at.pair_dt = m.condition_pair_dt.empty() ? m.pair_dt
                                           : at.time_unit * m.condition_pair_dt[0] / m.condition_time_units[0];
  return at;
}

}  // namespace macrodyn::jobs
