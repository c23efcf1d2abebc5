#include "mpi/run/checkpoint.hpp"

#include <boost/property_tree/json_parser.hpp>
#include <boost/property_tree/ptree.hpp>
#include <filesystem>

#include "core/error.hpp"

namespace macrodyn::mpi {

namespace fs = std::filesystem;
namespace pt = boost::property_tree;

namespace {
bool complete(const fs::path& dir) { return fs::exists(dir / "checkpoint.json"); }

pt::ptree list(const std::vector<double>& v) {
  pt::ptree a;
  for (double x : v) {
    pt::ptree e;
    e.put_value(x);
    a.push_back({"", e});
  }
  return a;
}
}  // namespace

std::string find_checkpoint(const std::string& out) {
  // checkpoint is the newest complete one; checkpoint.new only survives a crash between
  // the two renames of swap_in_checkpoint (then it is complete and newer than .old).
  for (const char* name : {"checkpoint", "checkpoint.new", "checkpoint.old"}) {
    const fs::path dir = fs::path(out) / name;
    if (complete(dir)) return dir.string();
  }
  return "";
}

void write_checkpoint_json(const std::string& path, const RunCheckpoint& c) {
  pt::ptree t;
  t.put("rounds_done", c.rounds_done);
  t.put("teams", c.teams);
  t.put("team_size", c.team_size);
  t.put("learners", c.learners);
  t.put("checkpoints", c.checkpoints);
  t.put("resumes", c.resumes);
  t.put("steps", c.steps);
  t.put("pairs_received", c.pairs_received);
  t.put("stream_rows", c.stream_rows);
  t.put("normalised", c.normalised);
  t.add_child("offset", list(c.offset));
  t.add_child("scale", list(c.scale));
  t.put("time_unit", c.time_unit);
  t.put("time_unit_kind", c.time_unit_kind);
  const std::string tmp = path + ".tmp";
  pt::write_json(tmp, t);
  fs::rename(tmp, path);
}

RunCheckpoint read_checkpoint_json(const std::string& path) {
  pt::ptree t;
  try {
    pt::read_json(path, t);
    RunCheckpoint c;
    c.rounds_done = t.get<std::int64_t>("rounds_done");
    c.teams = t.get<int>("teams");
    c.team_size = t.get<int>("team_size");
    c.learners = t.get<int>("learners");
    c.checkpoints = t.get<std::int64_t>("checkpoints");
    c.resumes = t.get<std::int64_t>("resumes");
    c.steps = t.get<std::int64_t>("steps");
    c.pairs_received = t.get<std::int64_t>("pairs_received");
    c.stream_rows = t.get<std::int64_t>("stream_rows");
    c.normalised = t.get<bool>("normalised");
    for (auto& e : t.get_child("offset")) c.offset.push_back(e.second.get_value<double>());
    for (auto& e : t.get_child("scale")) c.scale.push_back(e.second.get_value<double>());
    c.time_unit = t.get<double>("time_unit");
    c.time_unit_kind = t.get<std::string>("time_unit_kind");
    return c;
  } catch (const pt::ptree_error& e) {
    throw FileError("checkpoint " + path + " is not readable: " + e.what());
  }
}

void swap_in_checkpoint(const std::string& out) {
  const fs::path base(out);
  fs::remove_all(base / "checkpoint.old");
  if (fs::exists(base / "checkpoint")) fs::rename(base / "checkpoint", base / "checkpoint.old");
  fs::rename(base / "checkpoint.new", base / "checkpoint");
  fs::remove_all(base / "checkpoint.old");
}

}  // namespace macrodyn::mpi
