#!/bin/bash
# The loss-factor study of docs/design.md §8.6.5 on the common pipeline (a27d1e6 and later):
# 5 factors x 3 training seeds, one thread. About 16 minutes on the 2-core machine; the
# study directory holds 1.4 GB of truth states. Resumable: rerun the same command.
set -euo pipefail
B=${MACRODYN:-build/apps/macrodyn}
OMP_NUM_THREADS=1 $B study loss-factor --config jobs/configs/predator-prey.ini --out ${OUT:-study-pp} --threads 1
