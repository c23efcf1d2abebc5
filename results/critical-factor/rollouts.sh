#!/bin/bash
# A first look at what the factor changes in a learned model (issue 16, item 2): L = 64,
# T = 2.27, no closure (z = (m, rho)), training seeds 42, 1, 2, 100 epochs; the SDE trained
# with c = K and c = the authors' tuned 10 (each seed), and c = measured (calibrate's c*,
# seed 42), rolled out from
# m = +-0.6 (32 trajectories each, 16 000 steps), and the stationary law of the second
# halves against the Wolff truth (results/critical-truth). About 20 minutes on 2 cores.
#   results/critical-factor/rollouts.sh [MACRODYN] [WORKDIR]
set -euo pipefail
bin=$(realpath "${1:-build/apps/macrodyn}")
work=${2:-rollouts-L64}
src=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$work" && cd "$work"
C="--config $src/jobs/configs/ising-critical.ini --large.side 64 --closure.kind none --run.progress false"
[ -f L64.h5 ] || "$bin" generate $C --large.snapshots 20000 --output.path L64.h5 > gen.log 2>&1
tr="--dataset L64.h5 --closure-dim 0 --epochs 100 --progress 0 --threads 1"
train() {  # name seed factor...
  local m=$1 seed=$2; shift 2
  [ -f $m/model.json ] || "$bin" train $tr --seed $seed --out $m --loss-factor "$@" > tr-$m.log 2>&1
}
for s in 42 1 2; do
  train mK-s$s $s K & train m10-s$s $s 10 & wait
done
train mM-s42 42 measured --calibration "$src/results/critical-factor/L64-T2.27/calibrate.csv"
for m in mK-s42 mK-s1 mK-s2 m10-s42 m10-s1 m10-s2 mM-s42; do
  [ -f $m-traj.csv ] || "$bin" predict --model $m --z0 "0.6,0.145;-0.6,0.145" --steps 16000 --ensemble 32 \
      --output $m-pred.csv --trajectories $m-traj.csv --progress 0 > $m-pred.log 2>&1
  /usr/bin/python3 "$src/results/critical-factor/rollout_stats.py" $m-traj.csv 64 2.27
done
