#!/bin/bash
# The 1-D predator-prey protocol on the common commands, z = (mean u, mean v), no closure.
set -euo pipefail
B=./macrodyn-06449c6
CFG=/work/main/jobs/configs/predator-prey-common.ini
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE
/usr/bin/time -v $B generate --config $CFG --run.threads 1 --run.progress false --output.path pp-pairs.h5 --output.overwrite true > generate.log 2> generate.time
/usr/bin/time -v mpiexec --oversubscribe --allow-run-as-root -n 2 $B simulate --config $CFG --run.progress false --output.path pp-truth.h5 --output.overwrite true > simulate.log 2> simulate.time
for seed in 1 2 3; do
  /usr/bin/time -v $B train --dataset pp-pairs.h5 --out model-s$seed --seed $seed --threads 1 --device cpu --overwrite --progress false > train-s$seed.log 2> train-s$seed.time
  rm -rf eval-s$seed
  $B evaluate --model model-s$seed --truth pp-truth.h5 --output eval-s$seed --threads 1 --progress false > eval-s$seed.log 2>&1
done
echo ALL-DONE
