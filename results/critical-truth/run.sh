#!/bin/bash
# The equilibrium ground truth of the critical 2D Ising study (issue 16; docs/design.md
# §8.5.8): Wolff chains at every (L, T) of the notes' finite-size study, 32 chains x 10 000
# measurements each. Resumable (rows already in equilibrium.csv are kept).
#   results/critical-truth/run.sh [MACRODYN] [OUT]     # about 5 minutes on 2 cores
set -euo pipefail
bin=${1:-build/apps/macrodyn}
out=${2:-results/critical-truth}
src=$(cd "$(dirname "$0")/../.." && pwd)
opts="--config $src/jobs/configs/ising-critical.ini --runs 32 --sweeps 10000 --thermalise 500 --seed 1 --out $out"
"$bin" study equilibrium $opts --sides 16,32,48,64 --temperatures 2.25,2.26,2.27,2.28,2.29
"$bin" study equilibrium $opts --sides 128 --temperatures 2.27
