#include "jobs/state_tables.hpp"

#include "core/error.hpp"
#include "jobs/config.hpp"

using namespace macrodyn::systems;

namespace macrodyn::jobs {

io::DType state_dtype(const System& system) {
  switch (system.state_layout().value) {
    case StateLayout::Value::spin: return io::DType::i8;
    case StateLayout::Value::code: return io::DType::u8;
    case StateLayout::Value::field: return io::DType::f32;
  }
  return io::DType::i8;
}

std::vector<std::uint64_t> state_shape(const System& system, int L) {
  std::vector<std::uint64_t> shape(static_cast<std::size_t>(system.dim()), static_cast<std::uint64_t>(L));
  const StateLayout layout = system.state_layout();
  if (layout.value == StateLayout::Value::field) shape.push_back(layout.channels.size());
  return shape;
}

std::unique_ptr<System> dataset_system(const io::DatasetReader& ds) {
  const std::string name = ds.attr_string("/", "system");
  if (!is_system_name(name)) throw InputError(ds.path() + " was made by system '" + name + "', which this build does not have.");
  return make_system(name, system_params_in_ini(ds.attr_string("/", "config")));
}

void require_state_type(const io::DatasetReader& ds, const std::string& table, const System& system) {
  const io::DType want = state_dtype(system), have = ds.type(table);
  if (have != want)
    throw FileError(ds.path() + ": " + table + " holds " + io::dtype_name(have) + " states, but the states of system " +
                    system.name() + " are " + io::dtype_name(want) + " (" +
                    (want == io::DType::i8 ? "spins" : want == io::DType::u8 ? "codes" : "fields") + ")");
}

void check_states(const StateCheck& check, const std::int8_t* x, std::int64_t n,
                  const std::function<std::string(std::int64_t k)>& where) {
  for (std::int64_t k = 0; k < n; ++k) {
    const std::string why = check.problem(x + k * check.state_bytes());
    if (!why.empty()) throw FileError(where(k) + ": " + why);
  }
}

std::function<std::string(std::int64_t)> table_rows(const io::DatasetReader& ds, const std::string& table,
                                                    std::int64_t first_row) {
  return [&ds, table, first_row](std::int64_t k) {
    return ds.path() + ": " + table + " row " + std::to_string(first_row + k);
  };
}

}  // namespace macrodyn::jobs
