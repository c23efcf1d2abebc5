#!/bin/bash
# Issue 16: the finite-size-scaling studies of results/critical-fss/README.md, as they were run
# (about 1.5 h on 2 cores). Run one study at a time: two torch processes on 2 cores spin
# against each other and a rollout that takes seconds alone took 15 minutes shared. Each is
# resumable: rerun the same line to go on.
#   results/critical-fss/run.sh [MACRODYN] [WORKDIR]
set -euo pipefail
bin=$(realpath "${1:-build/apps/macrodyn}")
work=${2:-critical-fss}
src=$(cd "$(dirname "$0")/../.." && pwd)
cfg="--config $src/jobs/configs/ising-critical.ini --run.progress false"
mkdir -p "$work" && cd "$work"
# 1. The notes' protocol (isolated periodic patch), T = 2.27, L = 16 ... 64, the factor set three
#    ways, 3 seeds, the closure autoencoder shared by every cell (about 35 minutes) ...
"$bin" study fss $cfg --out T227 --sides 16,32,48,64 --temperatures 2.27 --extra-cells '' \
  --factors K,measured,tuned --calibrate-snapshots 128 --train-seeds 0,1,2 --max-hours 1.5 > T227.log 2>&1
#    ... then T = 2.25 and 2.29 at L = 16, 32, 64 for K and tuned, seed 0 (the first cell stays
#    L16-T2.27: it trained the shared autoencoder), and the tables of everything.
"$bin" study fss $cfg --out T227 --sides 16,32,64 --temperatures 2.27,2.25,2.29 --extra-cells '' \
  --factors K,tuned --calibrate-snapshots 128 --train-seeds 0 --max-hours 1.2 > T227-multiT.log 2>&1
"$bin" study fss $cfg --out T227 --sides 16,32,48,64 --temperatures 2.27,2.25,2.29 --extra-cells '' \
  --factors K,measured,tuned --calibrate-snapshots 128 --train-seeds 0,1,2 --cached-only > T227-tables.log 2>&1
# 2. A frozen patch boundary (the patch evolved inside its frozen neighbourhood), c = measured and K.
"$bin" study fss $cfg --out frozen-T227 --partial.boundary frozen --sides 16,32,48,64 --temperatures 2.27 \
  --extra-cells '' --factors measured,K --train-seeds 0,1 --ae-epochs 3 --max-hours 0.55 > frozen-T227.log 2>&1
# 3. The reduction check at L = 32: 3 x the pairs and 3 x the small runs' length.
"$bin" study fss $cfg --out moredata-L32 --sides 16,32 --temperatures 2.27 --extra-cells '' \
  --large.snapshots 60000 --small.sweeps 6000 --ae-epochs 1 --factors K,tuned --train-seeds 0,1 \
  --max-hours 0.25 > moredata-L32.log 2>&1
# 4. The drift ratio of patch and lattice with 4096 snapshots per side (seconds each).
for L in 32 48 64; do
  f=2; [ $L = 48 ] && f=3
  "$bin" calibrate $cfg --large.side $L --upsample.factor $f --snapshots 4096 --replicas 16 --horizons 1,4 \
    --boundaries periodic,frozen --out drift-L$L > drift-L$L.log 2>&1
done
# 5. Learned drift and diffusion of m against the truth's.
for L in 32 64; do for s in K measured tuned; do
  /usr/bin/python3 "$src/results/critical-fss/drift_check.py" "$bin" T227/L$L-T2.27/$s-s0 T227/L$L-T2.27/starts.csv \
    drift-L$L/binned.csv > drift-check-L$L-$s-s0.txt
done; done
