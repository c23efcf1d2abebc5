#pragma once
// The dataset tables that hold states (/snapshots/states, /pairs/patch_before and
// patch_after, /trajectories/states; docs/design.md §5): their element type follows the
// system's state layout (int8 for spins, uint8 for codes; systems/state_layout.hpp), and
// every state read from one is checked against the layout and site mask before use.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "io/dataset.hpp"
#include "systems/state_check.hpp"
#include "systems/system.hpp"

namespace macrodyn::jobs {

// The table element type of the system's states, and the row shape of a table of its
// side-L states: [L]*dim, then the channels for a field ([L, L, 2] for u, v in 2-D).
io::DType state_dtype(const systems::System& system);
std::vector<std::uint64_t> state_shape(const systems::System& system, int L);

// The system a dataset was made by: its root's system name and the parameters of its
// stored config (InputError naming the dataset when either is unknown).
std::unique_ptr<systems::System> dataset_system(const io::DatasetReader& ds);

// FileError naming file and table unless `table` holds the element type of the system's
// states (a uint8 table for a spin system, or the reverse, is refused, not converted).
void require_state_type(const io::DatasetReader& ds, const std::string& table, const systems::System& system);

// FileError when one of the n states at x (check.sites() bytes each) breaks the layout or
// the mask: where(k) names state k ("d.h5: /snapshots/states row 12"), then the fault,
// e.g. "voxel (3, 4) holds 5, which is not a spin (+1 or -1)".
void check_states(const systems::StateCheck& check, const std::int8_t* x, std::int64_t n,
                  const std::function<std::string(std::int64_t k)>& where);
// where() for rows first_row, first_row + 1, ... of a dataset table.
std::function<std::string(std::int64_t)> table_rows(const io::DatasetReader& ds, const std::string& table,
                                                    std::int64_t first_row);

}  // namespace macrodyn::jobs
