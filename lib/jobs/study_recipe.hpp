#pragma once
// A study directory keeps its finished stages and reuses them on a rerun. recipe.txt
// records what those stages depend on, so that a rerun with other settings is refused
// instead of silently mixing stages made with different settings.
#include <functional>
#include <string>
#include <vector>

#include "jobs/config.hpp"

namespace macrodyn::jobs {

// The recipe of a study: `config` as INI (`ini_of`, the text stored in every dataset)
// less the keys that change no result (output.*, run.threads, run.progress,
// learn.threads, learn.device), followed by `options`, the study's own settings as
// `--name = value` lines.
// `unread` names the config sections the study never reads (e.g. learn, the settings of
// `macrodyn run`): left out, so that changing them in a shared config file does not make
// a finished study refuse its rerun.
std::string study_recipe(const Config& config, const std::function<std::string(const Config&)>& ini_of,
                         const std::string& options, const std::vector<std::string>& unread = {});

// Throws InputError naming the first differing setting (`section.key = value` or
// `--name = value`) when `out`/recipe.txt exists and differs from `want`; writes `want`
// there when it does not exist and `record` is set. `what` names the directory's
// content in the message ("a study", "a training").
// Sections in `unread` are also left out of the recorded recipe before comparing (a study
// directory recorded before they were left out still matches).
void check_recipe(const std::string& out, const std::string& want, bool record, const std::string& what = "a study",
                  const std::vector<std::string>& unread = {});

// A study stage is done when its marker file exists; the marker is written after the
// stage's output, so a stage killed half-way is redone.
bool stage_done(const std::string& marker);
void mark_stage_done(const std::string& marker);
// One progress line of a study on stderr ("study: ...").
void study_say(const std::string& line);

}  // namespace macrodyn::jobs
