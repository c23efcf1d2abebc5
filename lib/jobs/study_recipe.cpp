#include "jobs/study_recipe.hpp"

#include <algorithm>
#include <utility>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

#include "core/error.hpp"
#include "core/log.hpp"

namespace macrodyn::jobs {

namespace {

// "T = 2.5" under "[system]" reads "system.T = 2.5"; option lines as they are.
std::string qualified(const std::string& section, const std::string& line) {
  return section.empty() || line.empty() || line[0] == '-' ? line : section + "." + line;
}

// The INI text without the [section]s named in `unread` (header and keys).
std::string without_sections(const std::string& text, const std::vector<std::string>& unread) {
  if (unread.empty()) return text;
  std::stringstream in(text);
  std::string out;
  bool skip = false;
  for (std::string line; std::getline(in, line);) {
    if (line.size() > 1 && line.front() == '[' && line.back() == ']') {
      const std::string name = line.substr(1, line.size() - 2);
      skip = std::find(unread.begin(), unread.end(), name) != unread.end();
    }
    if (!skip) out += line + "\n";
  }
  return out;
}

}  // namespace

std::string study_recipe(const Config& config, const std::function<std::string(const Config&)>& ini_of,
                         const std::string& options, const std::vector<std::string>& unread) {
  Config c = config;
  const Config defaults;
  c.output = defaults.output;
  c.overwrite = defaults.overwrite;
  c.threads = defaults.threads;
  c.progress = defaults.progress;
  c.learn_threads = defaults.learn_threads;
  c.learn_device = defaults.learn_device;
  c.ini_text.clear();
  return without_sections(ini_of(c), unread) + "\n" + options;
}

void check_recipe(const std::string& out, const std::string& want, bool record, const std::string& what,
                  const std::vector<std::string>& unread) {
  const std::string path = out + "/recipe.txt";
  std::ifstream in(path);
  if (!in) {
    if (record) std::ofstream(path) << want;
    return;
  }
  // Keys added to the configuration after a study may have been recorded, at their
  // defaults: a recorded recipe without the line made the same thing.
  static const std::vector<std::pair<std::string, std::string>> added_later{
      {"small", "dense_sweeps = 0"}, {"small", "frame_stride = 1"}, {"upsample", "last_events = 0"}};
  std::stringstream have(without_sections(std::string(std::istreambuf_iterator<char>(in), {}), unread)), need(want);
  std::string section, a;
  bool pending = false;  // `a` read from `have` and not matched yet
  for (std::string b; std::getline(need, b);) {
    if (!pending && !std::getline(have, a)) a = "(nothing)";
    pending = false;
    if (a != b) {
      if (std::find(added_later.begin(), added_later.end(), std::make_pair(section, b)) != added_later.end()) {
        pending = true;
        continue;
      }
      throw InputError("--out " + out + " holds " + what + " made with " + qualified(section, a) + ", not " +
                       qualified(section, b) + " (its recipe.txt); use another --out for another one");
    }
    if (b.size() > 1 && b.front() == '[' && b.back() == ']') section = b.substr(1, b.size() - 2);
  }
}

bool stage_done(const std::string& marker) { return std::filesystem::exists(marker); }
void mark_stage_done(const std::string& marker) {
  std::ofstream f(marker);
  if (!(f << "done\n")) throw FileError("cannot write " + marker);
}
void study_say(const std::string& line) { log_if(true, "study: %s\n", line.c_str()); }

}  // namespace macrodyn::jobs
