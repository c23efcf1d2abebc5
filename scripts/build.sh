#!/bin/sh
# Installs the Debian 12 packages macrodyn needs (only those missing; needs root for
# that), then configures and builds in ./build (Release). Used by both README commands.
set -eu
cd "$(dirname "$0")/.."

PACKAGES="cmake g++ make pkg-config libopenmpi-dev openmpi-bin petsc-dev libtorch-dev \
libhdf5-openmpi-dev libboost-program-options-dev catch2 librandom123-dev hdf5-tools \
python3-h5py python3-torch gnuplot-nox libopenblas0-openmp slurm-wlm munge chromium-headless-shell"

missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "installing:$missing" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq $missing >/dev/null
fi

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)"
