#!/bin/bash
# A first look at what the factor changes in a learned model (issue 16, item 2): L = 64,
# T = 2.27, no closure (z = (m, rho)), one training seed, 100 epochs; the SDE trained with
# c = K, c = the authors' tuned 10 and c = measured (calibrate's c*), rolled out from
# m = +-0.6 (32 trajectories each, 16 000 steps), and the stationary law of the second
# halves against the Wolff truth (results/critical-truth). About 30 minutes on 2 cores.
#   results/critical-factor/rollouts.sh [MACRODYN] [WORKDIR]
set -euo pipefail
bin=$(realpath "${1:-build/apps/macrodyn}")
work=${2:-rollouts-L64}
src=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$work" && cd "$work"
C="--config $src/jobs/configs/ising-critical.ini --large.side 64 --closure.kind none --run.progress false"
[ -f L64.h5 ] || "$bin" generate $C --large.snapshots 20000 --output.path L64.h5 > gen.log 2>&1
tr="--dataset L64.h5 --closure-dim 0 --epochs 100 --progress 0"
[ -f mK/model.json ] || "$bin" train $tr --out mK --loss-factor K > trK.log 2>&1
[ -f mT/model.json ] || "$bin" train $tr --out mT --loss-factor 10 > trT.log 2>&1
[ -f mM/model.json ] || "$bin" train $tr --out mM --loss-factor measured \
    --calibration "$src/results/critical-factor/L64-T2.27/calibrate.csv" > trM.log 2>&1
for m in mK mT mM; do
  [ -f $m-traj.csv ] || "$bin" predict --model $m --z0 "0.6,0.145;-0.6,0.145" --steps 16000 --ensemble 32 \
      --output $m-pred.csv --trajectories $m-traj.csv --progress 0 > $m-pred.log 2>&1
  /usr/bin/python3 "$src/results/critical-factor/rollout_stats.py" $m-traj.csv 64 2.27
done
