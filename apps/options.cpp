#include "options.hpp"

#include <algorithm>
#include <boost/program_options.hpp>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <functional>
#include <iostream>
#include <sstream>

#include "core/error.hpp"
#include "systems/system.hpp"

using namespace macrodyn::jobs;
using namespace macrodyn::sampling;
using namespace macrodyn::systems;

namespace macrodyn::app {

namespace po = boost::program_options;

namespace {

// One configuration key: how to declare it (bound to a Config) and how to print it.
struct Key {
  std::string name;
  std::string help;
  std::function<void(po::options_description&, Config&, std::vector<std::function<void(Config&)>>&)> declare;
  std::function<std::string(const Config&)> show;
};

template <class T>
std::string fmt(const T& v) {
  std::ostringstream s;
  s << std::boolalpha << v;
  return s.str();
}

// Shortest text that reads back as the same double (2.3, not 2.2999999999999998).
template <>
std::string fmt(const double& v) {
  for (int digits = 6; digits <= 17; ++digits) {
    std::ostringstream s;
    s.precision(digits);
    s << v;
    if (std::strtod(s.str().c_str(), nullptr) == v) return s.str();  // strtod: no throw on subnormals
  }
  return std::to_string(v);
}

template <class T>
Key plain(const char* name, T Config::*field, const char* help) {
  return Key{name, help,
             [name, field, help](po::options_description& d, Config& c, auto&) {
               d.add_options()(name, po::value<T>(&(c.*field))->default_value(c.*field, fmt(c.*field)), help);
             },
             [field](const Config& c) { return fmt(c.*field); }};
}

// A key whose value is one of a few words, converted into a typed Config field.
template <class E>
Key choice(const char* name, E Config::*field, std::vector<std::pair<std::string, E>> words, const char* help) {
  auto word_of = [words, field](const Config& c) {
    for (auto& w : words)
      if (w.second == c.*field) return w.first;
    return std::string("?");
  };
  return Key{name, help,
             [=](po::options_description& d, Config& c, std::vector<std::function<void(Config&)>>& post) {
               auto raw = std::make_shared<std::string>(word_of(c));
               d.add_options()(name, po::value<std::string>(raw.get())->default_value(*raw), help);
               post.push_back([=](Config& cfg) {
                 std::string allowed;
                 for (auto& w : words) {
                   if (w.first == *raw) { cfg.*field = w.second; return; }
                   allowed += (allowed.empty() ? "" : ", ") + w.first;
                 }
                 throw InputError(std::string(name) + " = '" + *raw + "' is not one of: " + allowed);
               });
             },
             word_of};
}

const std::vector<std::pair<std::string, Boundary>> kBoundaries{
    {"periodic", Boundary::periodic}, {"frozen", Boundary::frozen}, {"global", Boundary::global}};
const std::vector<std::pair<std::string, Dynamics>> kDynamics{{"ct", Dynamics::continuous_time},
                                                              {"heatbath", Dynamics::heat_bath}};
const std::vector<std::pair<std::string, InitialKind>> kInit{
    {"random", InitialKind::random_m0}, {"m0", InitialKind::given_m0}, {"all_up", InitialKind::all_up}};

// One number of a key's value: finite, with nothing but blanks after it.
double list_number(const char* key, const std::string& text) {
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || text.find_first_not_of(" \t", static_cast<std::size_t>(end - text.c_str())) != std::string::npos)
    throw InputError(std::string(key) + ": '" + text + "' is not a number");
  if (!std::isfinite(v)) throw InputError(std::string(key) + ": '" + text + "' is not a finite number");
  return v;
}

// A comma-separated list key: `parse` reads one item (blank items are skipped), `show`
// writes one back for the resolved INI and --help.
template <class T>
Key list_key(const char* name, std::vector<T> Config::*field, const char* help,
             std::function<std::string(const T&)> show_item, std::function<T(const std::string&)> parse_item) {
  auto show = [field, show_item](const Config& c) {
    std::string s;
    for (const T& item : c.*field) s += (s.empty() ? "" : ",") + show_item(item);
    return s;
  };
  return Key{name, help,
             [=](po::options_description& d, Config& c, std::vector<std::function<void(Config&)>>& post) {
               auto raw = std::make_shared<std::string>(show(c));
               d.add_options()(name, po::value<std::string>(raw.get())->default_value(*raw), help);
               post.push_back([=](Config& cfg) {
                 (cfg.*field).clear();
                 std::stringstream ss(*raw);
                 std::string item;
                 while (std::getline(ss, item, ','))
                   if (item.find_first_not_of(" \t") != std::string::npos) (cfg.*field).push_back(parse_item(item));
               });
             },
             show};
}

// A comma-separated list of initial conditions, each one number or several joined by ':'
// in the order of the system's initial-condition values (truth.m0 = -0.5,0,0.5 for
// spins; truth.m0 = 0.45:0.05,0.5:0.1 for predator-prey's m:k).
Key condition_list(const char* name, std::vector<InitialCondition> Config::*field, const char* help) {
  return list_key<InitialCondition>(
      name, field, help,
      [](const InitialCondition& ic) {
        std::string one;
        for (double v : ic)
          if (!std::isnan(v)) one += (one.empty() ? "" : ":") + fmt(v);
        return one;
      },
      [name](const std::string& item) {
        InitialCondition ic = unset_condition();
        std::stringstream parts(item);
        std::string part;
        int k = 0;
        while (std::getline(parts, part, ':')) {
          if (k == kMaxInitialValues)
            throw InputError(std::string(name) + ": '" + item + "' has more than " + std::to_string(kMaxInitialValues) +
                             " values");
          ic[static_cast<std::size_t>(k++)] = list_number(name, part);
        }
        return ic;
      });
}

// The [system] keys the registered systems declare (systems/params.hpp), one Key per
// distinct key, listed after system.name. A given value goes to Config::system_params,
// which the system resolves (refusing a key it does not declare); the help says which
// systems read the key, with what meaning and default.
// A spec's default as a config writes it: the word of a word key, else the number.
std::string default_text(const ParamSpec& spec) {
  if (spec.text) return spec.text_default;
  return spec.words.empty() ? fmt(spec.fallback) : spec.words[static_cast<std::size_t>(spec.fallback)];
}

std::vector<Key> system_param_keys() {
  struct Declared {
    std::string key;
    std::vector<std::pair<std::string, ParamSpec>> by;  // system, its spec
  };
  std::vector<Declared> declared;
  for (const auto& system : system_names())
    for (const ParamSpec& spec : system_param_specs(system)) {
      auto it = std::find_if(declared.begin(), declared.end(), [&](const Declared& d) { return d.key == spec.key; });
      if (it == declared.end()) it = declared.insert(declared.end(), Declared{spec.key, {}});
      it->by.emplace_back(system, spec);
    }
  std::vector<Key> out;
  for (const Declared& d : declared) {
    // "ising2d, ising3d: temperature ..., default 2.5; curie_weiss: ..."
    std::string help;
    std::vector<bool> done(d.by.size(), false);
    for (std::size_t i = 0; i < d.by.size(); ++i) {
      if (done[i]) continue;
      std::string systems;
      for (std::size_t j = i; j < d.by.size(); ++j)
        if (!done[j] && d.by[j].second.help == d.by[i].second.help && d.by[j].second.fallback == d.by[i].second.fallback) {
          systems += (systems.empty() ? "" : ", ") + d.by[j].first;
          done[j] = true;
        }
      help += (help.empty() ? "" : "; ") + systems + ": " + d.by[i].second.help + ", default " +
              default_text(d.by[i].second);
    }
    const std::string name = "system." + d.key, key = d.key;
    const std::string fallback = default_text(d.by.front().second);
    out.push_back(Key{name, help,
                      [name, key, help](po::options_description& desc, Config&,
                                        std::vector<std::function<void(Config&)>>& post) {
                        auto raw = std::make_shared<std::string>();
                        auto given = std::make_shared<bool>(false);
                        desc.add_options()(name.c_str(), po::value<std::string>()->notifier([=](const std::string& v) {
                          *raw = v;
                          *given = true;
                        }), help.c_str());
                        post.push_back([=](Config& cfg) {
                          if (!*given) return;
                          char* end = nullptr;
                          const double v = std::strtod(raw->c_str(), &end);
                          // Not a number: a word, which the system's spec accepts or refuses.
                          if (raw->empty() || end == raw->c_str() ||
                              raw->find_first_not_of(" \t", static_cast<std::size_t>(end - raw->c_str())) != std::string::npos)
                            cfg.system_params.set_word(key, *raw);
                          else
                            cfg.system_params.set(key, v);
                        });
                      },
                      [fallback](const Config&) { return fallback; }});
  }
  return out;
}

std::vector<Key> keys() {
  // The registered systems, from the registry (a new system appears without an edit here).
  static const std::string system_name_help = [] {
    std::string s = "microscopic system: ";
    const auto names = system_names();
    for (std::size_t i = 0; i < names.size(); ++i) s += (i ? (i + 1 == names.size() ? " or " : ", ") : "") + names[i];
    return s;
  }();
  std::vector<Key> all = {
      plain("system.name", &Config::system, system_name_help.c_str()),
      plain("small.side", &Config::small_side, "side L_s of the small systems; 0 = partial.patch (the paper's L_s = p)"),
      plain("small.runs", &Config::small_runs, "number of small trajectories"),
      plain("small.sweeps", &Config::small_sweeps, "sweeps per small trajectory (frames = sweeps + 1 unless thinned)"),
      plain("small.dense_sweeps", &Config::small_dense_sweeps,
            "with small.frame_stride > 1: a frame after each of the first sweeps, then thinned (the notes: 1000)"),
      plain("small.frame_stride", &Config::small_frame_stride,
            "sweeps between frames after small.dense_sweeps (1: every sweep; the notes: 10)"),
      choice("small.dynamics", &Config::small_dynamics, kDynamics,
             "ct (continuous-time rejection-free Glauber) or heatbath (raster sweeps, duration 1)"),
      choice("small.init", &Config::small_init, kInit, "initial states: random (m0 ~ U(-1,1)), m0 (small.m0) or all_up"),
      plain("small.m0", &Config::small_m0, "initial magnetisation when small.init = m0"),
      plain("large.side", &Config::large_side, "side L of the large system"),
      plain("large.snapshots", &Config::snapshots, "upsampled snapshots at each level"),
      plain("large.random_configs", &Config::random_configs,
            "also add as many uniformly-random-magnetisation configurations (only when small.side < large.side)"),
      plain("upsample.factor", &Config::factor, "block replication factor per axis: 2 or 3 (2 to 16 for a system that upsamples by tiling)"),
      plain("upsample.window", &Config::relax_window, "LocalRelax window side w (clamped to the level side); 0 = no relax (generate only)"),
      plain("upsample.stride", &Config::relax_stride, "LocalRelax window stride; 0 = w / 2"),
      plain("upsample.offset", &Config::relax_offset,
            "LocalRelax window origins offset + a x stride per axis (e.g. windows across tile seams); 0 <= offset < "
            "stride; teams of several ranks relax with 0"),
      plain("upsample.events", &Config::relax_events, "events per window; 0 = one window sweep (w^D)"),
      plain("upsample.last_events", &Config::relax_last_events,
            "events per window at the last level; 0 = upsample.events (the notes: 32 at L = 128)"),
      choice("upsample.boundary", &Config::relax_boundary, kBoundaries, "LocalRelax window boundary: periodic or frozen"),
      plain("partial.patch", &Config::patch, "patch side p (divides large.side); K = (L/p)^D"),
      choice("partial.boundary", &Config::partial_boundary, kBoundaries,
             "partial-evolution boundary: periodic, frozen (Ising) or global (Curie-Weiss)"),
      choice("partial.pairs", &Config::pairs, {{"one", PairsMode::one}, {"all", PairsMode::all}},
             "one (one uniformly chosen patch per snapshot, the paper) or all (every patch)"),
      plain("partial.events", &Config::partial_events, "events per partial evolution; 0 = one patch sweep (p^D)"),
      plain("closure.kind", &Config::closure,
            "autoencoder (store snapshot and patch states for a learned closure) or none"),
      plain("truth.runs", &Config::truth_runs,
            "ground-truth runs (per truth.m0 value when truth.init = m0); macrodyn run judges its model against them"),
      plain("truth.sweeps", &Config::truth_sweeps, "sweeps per ground-truth run"),
      choice("truth.dynamics", &Config::truth_dynamics, kDynamics, "ct or heatbath"),
      choice("truth.init", &Config::truth_init, kInit, "random, m0 (truth.m0 list) or all_up"),
      condition_list("truth.m0", &Config::truth_m0,
                     "comma-separated initial conditions for truth.init = m0 (truth.runs runs each): initial "
                     "magnetisations for spins; m:k pairs for predator_prey (u = m + k cos(10 pi x))"),
      plain("verdict.ensemble", &Config::verdict_ensemble,
            "macrodyn run: predicted paths per truth run when the model is judged against the truth.* runs at the end "
            "(truth.runs = 0: not judged)"),
      plain("team.size", &Config::team_size,
            "macrodyn run: simulator ranks per team (one large snapshot each); 0 = the smallest team whose ranks hold <= team.max_sites sites"),
      plain("team.max_sites", &Config::team_max_sites, "macrodyn run: sites of the large lattice one rank may hold"),
      plain("stream.batch", &Config::stream_batch, "macrodyn run: rows per message from a simulator rank to its learner"),
      plain("stream.credits", &Config::stream_credits,
            "macrodyn run: messages a simulator rank may have unacknowledged (bounds every buffer)"),
      plain("stream.timeout", &Config::stream_timeout,
            "macrodyn run: seconds without a word from a peer before the job stops with an error naming it"),
      plain("stream.sync_rounds", &Config::stream_sync_rounds,
            "macrodyn run: rounds (one snapshot per team each) between sync points, where checkpoints and stops happen"),
      plain("stream.save", &Config::stream_save, "macrodyn run: HDF5 file that keeps the streamed dataset; empty = not kept"),
      plain("learn.ranks", &Config::learn_ranks, "macrodyn run: learner ranks (0..ranks-1, data-parallel); the rest simulate"),
      plain("learn.out", &Config::learn_out, "macrodyn run: model directory (encoder.pt, drift.pt, diffusion.pt, model.json, metrics)"),
      plain("learn.ae_snapshots", &Config::learn_ae_snapshots,
            "macrodyn run: snapshots streamed for the closure autoencoder (phase A), at most large.snapshots; 0 = all"),
      plain("learn.ae_epochs", &Config::learn_ae_epochs, "macrodyn run: autoencoder epochs"),
      plain("learn.closure_dim", &Config::learn_closure_dim, "macrodyn run: learned closure dimension (0 = z = z*)"),
      plain("learn.method", &Config::learn_method, "macrodyn run: kscaled (loss factor K) or naive"),
      plain("learn.diffusion", &Config::learn_diffusion, "macrodyn run: full, diagonal or constant"),
      plain("learn.lr", &Config::learn_lr, "macrodyn run: SDE learning rate (AdamW, amsgrad)"),
      plain("learn.batch", &Config::learn_batch, "macrodyn run: SDE batch drawn from the replay buffer per step and learner"),
      plain("learn.steps", &Config::learn_steps, "macrodyn run: SDE optimiser steps in all"),
      plain("learn.steps_per_epoch", &Config::learn_steps_per_epoch,
            "macrodyn run: steps whose mean loss the plateau scheduler sees as one epoch"),
      plain("learn.steps_per_batch", &Config::learn_steps_per_batch,
            "macrodyn run: SDE steps after each received message (the remaining steps follow the end of the stream)"),
      plain("learn.buffer", &Config::learn_buffer, "macrodyn run: replay buffer capacity (latent pairs)"),
      plain("learn.buffer_kind", &Config::learn_buffer_kind, "macrodyn run: fifo (newest pairs) or reservoir (uniform over all seen)"),
      plain("learn.min_fill", &Config::learn_min_fill,
            "macrodyn run: pairs received before the first SDE step; the normalisation and time unit come from them"),
      plain("learn.device", &Config::learn_device, "macrodyn run: auto, cpu or cuda"),
      plain("learn.threads", &Config::learn_threads, "macrodyn run: torch threads per learner rank (0 = all cores)"),
      plain("learn.checkpoint_every", &Config::learn_checkpoint_every, "macrodyn run: seconds between learner checkpoints"),
      plain("output.path", &Config::output, "output HDF5 file"),
      plain("output.overwrite", &Config::overwrite, "replace output.path if it exists"),
      plain("run.seed", &Config::seed, "seed of every random number (Philox key), also --seed"),
      plain("run.threads", &Config::threads,
            "worker threads, also --threads (0 = all cores, at most 4 x the cores; data do not depend on it)"),
      plain("run.progress", &Config::progress, "report progress (rate, ETA) on stderr, also --progress"),
  };
  const auto params = system_param_keys();
  all.insert(all.begin() + 1, params.begin(), params.end());
  return all;
}

bool is_system_param_key(const Key& k) { return k.name.rfind("system.", 0) == 0 && k.name != "system.name"; }

// Whether `subcommand` reads key `name` (for its --help): by section, with a few keys of
// other sections that the command needs.
bool used_by(const std::string& subcommand, const std::string& name) {
  const std::string section = name.substr(0, name.find('.'));
  auto in = [&](std::initializer_list<const char*> sections) {
    for (const char* s : sections)
      if (section == s) return true;
    return false;
  };
  if (subcommand == "generate") return in({"system", "small", "large", "upsample", "partial", "closure", "output", "run"});
  if (subcommand == "simulate")
    return in({"system", "closure", "truth", "output", "run"}) || name == "large.side" || name == "partial.patch";
  if (subcommand == "run") return name != "output.path";
  if (subcommand == "study patch-size" || subcommand == "study loss-factor")  // the studies name their own files
    return in({"system", "small", "large", "upsample", "partial", "closure", "truth", "run"});
  return true;
}

// The text of a --config file, checked first: a directory, a FIFO or /dev/zero is not a
// configuration (they ran the defaults, hung or ate memory).
std::string read_config_file(const std::string& path) {
  namespace fs = std::filesystem;
  constexpr std::uintmax_t kMaxBytes = 1 << 20;
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (ec || !fs::exists(st)) throw InputError("--config '" + path + "' does not exist");
  if (fs::is_directory(st)) throw InputError("--config '" + path + "' is a directory, not an INI file");
  if (!fs::is_regular_file(st)) throw InputError("--config '" + path + "' is not a regular file (a device or pipe?)");
  if (fs::file_size(path, ec) > kMaxBytes) throw InputError("--config '" + path + "' is larger than 1 MiB: not an INI file");
  std::ifstream in(path, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  if (!in && !in.eof()) throw InputError("--config '" + path + "' cannot be read");
  if (text.find('\0') != std::string::npos) throw InputError("--config '" + path + "' is a binary file, not an INI file");
  return text;
}

}  // namespace

bool parse_config(const std::string& subcommand, const std::string& summary, int argc, char** argv,
                  Config& out) {
  // One spelling per concept across commands: --threads, --progress and --seed are
  // run.threads, run.progress and run.seed here, as they are options of train,
  // evaluate and predict; --overwrite (a switch, as in train and replay) is
  // output.overwrite = true.
  std::vector<std::string> words;
  for (int i = 0; i < argc; ++i) {
    std::string w = argv[i];
    for (const char* concept : {"threads", "progress", "seed"})
      if (w == std::string("--") + concept) w = std::string("--run.") + concept;
    if (w == "--overwrite") {
      words.push_back("--output.overwrite");
      const std::string next = i + 1 < argc ? argv[i + 1] : "";
      if (next != "true" && next != "false" && next != "1" && next != "0") words.push_back("true");
      continue;
    }
    words.push_back(w);
  }
  std::vector<char*> aliased;
  for (auto& w : words) aliased.push_back(w.data());
  argc = static_cast<int>(aliased.size());
  argv = aliased.data();
  Config c;
  std::vector<std::function<void(Config&)>> post;
  po::options_description generic("Options");
  std::string config_file;
  generic.add_options()("help", "print this help")("config", po::value<std::string>(&config_file),
                                                   "INI file with [section] key = value lines");
  // Shown in --help only: the words are rewritten above, before parsing.
  po::options_description aliases("Aliases (the spelling of train, evaluate and predict)");
  aliases.add_options()("threads", "= --run.threads N")("progress", "= --run.progress BOOL")(
      "seed", "= --run.seed N")("overwrite", "= --output.overwrite true");
  po::options_description file_keys("Configuration keys (INI [section] key, or --section.key on the command line)");
  for (const Key& k : keys()) k.declare(file_keys, c, post);
  po::options_description all;
  all.add(generic).add(file_keys);

  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(all).run(), vm);
    if (vm.count("help")) {
      // Only the keys this command reads (every key is accepted, so that one INI file
      // serves every command); config-reference lists them all.
      po::options_description shown("Configuration keys " + subcommand +
                                    " reads (INI [section] key, or --section.key on the command line; "
                                    "macrodyn config-reference lists every key)");
      Config scratch;
      std::vector<std::function<void(Config&)>> unused;
      for (const Key& k : keys())
        if (used_by(subcommand, k.name)) k.declare(shown, scratch, unused);
      std::cout << "usage: macrodyn " << subcommand << " [--config FILE] [--section.key VALUE ...]\n\n"
                << summary << "\n\n" << generic << "\n" << aliases << "\n" << shown << "\n";
      return false;
    }
    if (vm.count("config")) {
      const std::string path = vm["config"].as<std::string>();
      std::istringstream in(read_config_file(path));
      po::store(po::parse_config_file(in, file_keys, false), vm);
      c.config_file = path;
    }
    po::notify(vm);
  } catch (const po::unknown_option& e) {
    // A [system] key no registered system declares: say which keys there are.
    std::string name = e.get_option_name();
    name.erase(0, name.find_first_not_of('-'));
    std::string msg = e.what();
    if (name.rfind("field.", 0) == 0) {
      // The [field] section of the former predator-prey pipeline (docs/design.md §3.6).
      const std::string key = name.substr(6);
      std::string instead = "system." + key;
      if (key == "dim") instead = "system.name = predator_prey2d for a 2-D grid";
      if (key == "test_m" || key == "test_k") instead = "truth.init = m0 with truth.m0 = m:k,...";
      msg = name + ": the [field] section is gone; predator_prey's parameters are system keys (" + instead + ")";
    } else if (name.rfind("system.", 0) == 0) {
      std::string keys;
      for (const Key& k : system_param_keys()) keys += (keys.empty() ? "" : ", ") + k.name;
      msg = name + " is not a key of any system (their keys: system.name, " + keys +
            "; macrodyn config-reference says which system reads which)";
    }
    if (vm.count("config")) msg += " (command line or " + vm["config"].as<std::string>() + ")";
    throw InputError(msg);
  } catch (const po::error& e) {
    std::string msg = e.what();
    if (vm.count("config")) msg += " (command line or " + vm["config"].as<std::string>() + ")";
    throw InputError(msg);
  }
  for (auto& f : post) f(c);
  c.ini_text = to_ini(c);
  out = c;
  return true;
}

std::string to_ini(const Config& c) {
  // The system's keys as it resolves them (every key it declares, in its order); a
  // system outside the registry (predator_prey) shows what was given.
  const SystemParams params = resolved_system_params(c);
  std::string text, section;
  for (const Key& k : keys()) {
    if (is_system_param_key(k)) continue;
    const auto dot = k.name.find('.');
    const std::string sec = k.name.substr(0, dot), key = k.name.substr(dot + 1);
    if (sec != section) {
      text += (section.empty() ? "" : "\n") + ("[" + sec + "]\n");
      section = sec;
    }
    text += key + " = " + k.show(c) + "\n";
    if (k.name == "system.name")
      for (const auto& v : params.values()) text += v.key + " = " + params.text(v) + "\n";
  }
  return text;
}

std::string config_reference_markdown() {
  const Config defaults;
  std::string md = "| key | default | meaning |\n|---|---|---|\n";
  for (const Key& k : keys()) md += "| `" + k.name + "` | `" + k.show(defaults) + "` | " + k.help + " |\n";
  return md;
}

}  // namespace macrodyn::app
