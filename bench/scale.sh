#!/usr/bin/env bash
# Weak scaling of `macrodyn run` (docs/design.md §6): a fixed lattice share per simulator rank,
# partial.pairs = all, one learner rank (rank 0) besides the simulators. Prints a
# Markdown table: wall time per snapshot, simulated pairs/s, the learner's ingest rate,
# peak RSS per rank (from /usr/bin/time -v) next to the binary's idle RSS.
#
#   bench/scale.sh                      # build/apps/macrodyn, results under bench-scale/
#   MACRODYN=/path/macrodyn OUT=dir COUNTS="1 2 4" SHARE=2048 SNAPS=4 bench/scale.sh
#
# Rows (k = simulator ranks, world = k + 1 ranks):
#   teams   k teams of 1 rank, each building its own SHARE^2 snapshots (large.snapshots
#           = k * SNAPS): the lattice share per rank and the snapshots per rank are fixed.
#   domain  one team of k ranks on one lattice of side SHARE * sqrt(k) (k = 1, 4, 16:
#           the only counts that keep a square lattice's sites per rank equal), SNAPS
#           snapshots; each rank holds a SHARE^2 block.
#   closure teams of 1 at large.side = CLOSURE_SIDE (<= 128) with the closure
#           autoencoder (phase A on learner 0): a latent row then carries the codes and
#           both p x p patch states, so a latent pair is a patch pair with its states.
# With closure.kind = none a latent row carries z* only (80 bytes); every row is one
# partial evolution of one p x p patch, so latent pairs/s = patch pairs/s there.
#
# Rows whose simulator ranks outnumber the cores are labelled "oversubscribed"; the
# learner is one more process (it mostly waits for messages). On a shared machine the
# 1-minute load average before each row is printed: compare rows taken at similar load.
set -euo pipefail

BIN=${MACRODYN:-build/apps/macrodyn}
OUT=${OUT:-bench-scale}
SHARE=${SHARE:-2048}              # lattice side per simulator rank
SNAPS=${SNAPS:-4}                 # snapshots per simulator rank (teams) / per team (domain)
COUNTS=${COUNTS-"1 2 4"}         # simulator ranks, teams rows
DOMAIN=${DOMAIN-"1 4"}           # simulator ranks, domain rows (1, 4, 16, ...)
CLOSURE=${CLOSURE-"1 2"}         # simulator ranks, closure rows ("" to skip)
CLOSURE_SIDE=${CLOSURE_SIDE:-64}
CLOSURE_SNAPS=${CLOSURE_SNAPS:-256}
PATCH=${PATCH:-16}
CORES=${CORES:-$(nproc)}
MPIEXEC=${MPIEXEC:-mpiexec}
MPIFLAGS=${MPIFLAGS:---oversubscribe}
if [ "$(id -u)" = 0 ]; then MPIFLAGS="$MPIFLAGS --allow-run-as-root"; fi
TIME=${TIME_BIN:-/usr/bin/time}

[ -x "$BIN" ] || { echo "scale.sh: no macrodyn binary at $BIN (set MACRODYN)" >&2; exit 2; }
[ -x "$TIME" ] || { echo "scale.sh: needs GNU time at $TIME (apt-get install time)" >&2; exit 2; }
BIN=$(readlink -f "$BIN")
mkdir -p "$OUT"
OUT=$(readlink -f "$OUT")

# Common keys: the paramagnet of jobs/configs/ising-paramagnet.ini, small side 16.
cat > "$OUT/base.ini" <<EOF
[system]
name = ising2d
T = 2.5
h = 0.1
[small]
side = 16
runs = 8
sweeps = 20
[large]
random_configs = false
[upsample]
factor = 2
window = 16
stride = 8
boundary = periodic
[partial]
patch = $PATCH
boundary = periodic
pairs = all
[closure]
kind = none
[stream]
batch = 1024
credits = 4
[learn]
ranks = 1
steps = 50
batch = 256
min_fill = 256
threads = 1
device = cpu
ae_epochs = 1
ae_snapshots = 64
[run]
seed = 1
threads = 1
progress = false
EOF

# Peak RSS in MB, and user + system CPU seconds, of a /usr/bin/time -v file.
rss_mb() { awk -F: '/Maximum resident set size/ {printf "%.0f", $2 / 1024}' "$1"; }
cpu_s() { awk -F: '/User time|System time/ {s += $2} END {printf "%.2f", s}' "$1"; }

# Every rank of an mpiexec job under its own /usr/bin/time -v, into DIR/time.<rank>.
# launch DIR RANKS ARGS... (ARGS after `macrodyn run`)
launch() {
  local dir=$1 n=$2
  shift 2
  "$MPIEXEC" -n "$n" $MPIFLAGS sh -c \
    't=$0 d=$1 b=$2; shift 2; exec "$t" -v -o "$d/time.${OMPI_COMM_WORLD_RANK:-${PMI_RANK:-${PMIX_RANK:-0}}}" "$b" "$@"' \
    "$TIME" "$dir" "$BIN" run --config "$OUT/base.ini" "$@" > "$dir/log" 2>&1
}

# Idle RSS of the same binary: `run --help` (every library loaded, libtorch included,
# no MPI), and the simulator ranks of a 3-rank run on a 32 x 32 lattice (MPI started,
# next to no lattice).
"$TIME" -v -o "$OUT/idle-help.time" "$BIN" run --help > /dev/null
IDLE_HELP=$(rss_mb "$OUT/idle-help.time")
mkdir -p "$OUT/idle-tiny"
launch "$OUT/idle-tiny" 3 --large.side 32 --team.size 2 --large.snapshots 2 --learn.steps 2 --learn.min_fill 4 \
  --learn.batch 4 --learn.out "$OUT/idle-tiny/model" || { echo "scale.sh: the tiny run failed" >&2; exit 1; }
IDLE_TINY=$(( $(rss_mb "$OUT/idle-tiny/time.1") > $(rss_mb "$OUT/idle-tiny/time.2") ? \
  $(rss_mb "$OUT/idle-tiny/time.1") : $(rss_mb "$OUT/idle-tiny/time.2") ))
IDLE_LEARNER=$(rss_mb "$OUT/idle-tiny/time.0")
IDLE_CPU=$(cpu_s "$OUT/idle-tiny/time.1")  # start-up and small runs of a simulator rank

ROWS=()
# run_row MODE K SIDE TEAM SNAPSHOTS [extra keys...]
run_row() {
  local mode=$1 k=$2 side=$3 team=$4 snaps=$5
  shift 5
  local dir="$OUT/$mode-k$k"
  rm -rf "$dir"
  mkdir -p "$dir"
  local load
  load=$(cut -d' ' -f1 /proc/loadavg)
  echo "scale.sh: $mode k=$k L=$side team.size=$team snapshots=$snaps (load $load)" >&2
  if ! launch "$dir" $((k + 1)) --large.side "$side" --team.size "$team" --large.snapshots "$snaps" \
      --learn.out "$dir/model" "$@"; then
    echo "scale.sh: $mode k=$k failed; see $dir/log" >&2
    tail -5 "$dir/log" >&2
    return 1
  fi
  # Run summary: "phase B (SDE online)   S s, N snapshots, P latent pairs, T steps" and
  # "ingest   X latent pairs/s over phase B (...), R while streaming (first to last pair)"
  local b_s pairs ingest a_s
  a_s=$(sed -n 's/.*phase A (autoencoder) *\([0-9.]*\) s.*/\1/p' "$dir/log")
  b_s=$(sed -n 's/.*phase B (SDE online) *\([0-9.]*\) s,.*/\1/p' "$dir/log")
  pairs=$(sed -n 's/.*snapshots, \([0-9]*\) latent pairs.*/\1/p' "$dir/log")
  ingest=$(sed -n 's/.*, \([0-9.e+]*\) while streaming.*/\1/p' "$dir/log")
  # Peak RSS: learner (rank 0) and the largest / smallest simulator rank.
  local learner sim_max=0 sim_min=999999999 r v cpu=0
  learner=$(rss_mb "$dir/time.0")
  for ((r = 1; r <= k; r++)); do
    cpu=$(awk -v a="$cpu" -v b="$(cpu_s "$dir/time.$r")" 'BEGIN {print a + b}')
    v=$(rss_mb "$dir/time.$r")
    ((v > sim_max)) && sim_max=$v
    ((v < sim_min)) && sim_min=$v
  done
  # Latent row bytes (mpi/run/pair_row.hpp): 32 + 12 ds + 12 d (+ 2 p^2 with a closure), 8-aligned.
  local row_bytes=80
  [ "$mode" = closure ] && row_bytes=$(( (32 + 12 * 2 + 12 * 4 + 2 * PATCH * PATCH + 7) / 8 * 8 ))
  local label="$k"
  ((k > CORES)) && label="$k (oversubscribed)"
  ROWS+=("$(awk -v mode="$mode" -v label="$label" -v side="$side" -v team="$team" -v k="$k" -v snaps="$snaps" \
    -v a="$a_s" -v b="$b_s" -v pairs="$pairs" -v ingest="$ingest" -v rb="$row_bytes" -v load="$load" \
    -v cpu="$cpu" -v cpu0="$IDLE_CPU" -v lr="$learner" -v smax="$sim_max" -v smin="$sim_min" -v idle="$IDLE_TINY" 'BEGIN {
      rounds = mode == "domain" ? snaps : snaps / (k / team)
      share = side * side / team
      printf "| %s | %s | %d | %d | %d | %.2f | %.2f | %.2f | %.2f | %.3g | %.3g | %.3g | %.3g | %.2f | %d | %d-%d (+%d) | %s |",
        mode, label, side, team, snaps, a, b, b / rounds, (cpu / k - cpu0) / rounds, pairs / b, pairs / b / k, ingest, ingest, ingest * rb / 1e6,
        lr, smin, smax, smax - idle, load
    }')")
}

for k in $COUNTS; do
  run_row teams "$k" "$SHARE" 1 $((k * SNAPS)) || true
done
for k in $DOMAIN; do
  q=$(awk -v k="$k" 'BEGIN { s = sqrt(k); if (s == int(s)) print s; else print 0 }')
  if [ "$q" = 0 ]; then
    echo "scale.sh: domain row k=$k skipped (SHARE * sqrt(k) is not an integer side)" >&2
    continue
  fi
  ((k == 1)) && [[ " $COUNTS " == *" 1 "* ]] && continue  # the same run as teams k = 1
  run_row domain "$k" $((SHARE * q)) "$k" "$SNAPS" || true
done
for k in $CLOSURE; do
  n=$((k * CLOSURE_SNAPS))
  run_row closure "$k" "$CLOSURE_SIDE" 1 "$n" --closure.kind autoencoder --learn.closure_dim 2 \
    --learn.ae_snapshots $((n < 64 ? n : 64)) || true
done

echo
echo "macrodyn run weak scaling: $(hostname), $CORES cores, $(date -u +%Y-%m-%dT%H:%MZ)"
echo "binary $BIN"
echo "idle RSS: \`run --help\` $IDLE_HELP MB; 3-rank run of a 32x32 lattice: simulator ranks $IDLE_TINY MB, learner $IDLE_LEARNER MB"
echo "(+ over idle) = simulator peak RSS - $IDLE_TINY MB"
echo "share per simulator rank: ${SHARE}^2 sites (teams, domain); patch $PATCH, partial.pairs = all, closure none unless 'closure'"
echo
echo "| mode | sim ranks | L | team.size | snapshots | phase A s | phase B s | wall s / snapshot (per team) | CPU s / snapshot (per sim rank) | sim pairs/s | pairs/s per sim rank | ingest latent pairs/s | ingest patch pairs/s | ingest MB/s | learner RSS MB | sim RSS MB (+ over idle) | load |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
for row in "${ROWS[@]}"; do echo "$row"; done
echo
echo "CPU s / snapshot = user + system CPU of a simulator rank, less that of the tiny run's ($IDLE_CPU s:"
echo "start-up and small runs), per snapshot it took part in; on a shared or oversubscribed machine it shows the work,"
echo "wall time what the machine gave. load = 1-minute load average before the row."
echo "sim pairs/s = latent pairs received / phase B time (the learner ingests as fast as the"
echo "simulators produce, so the ingest column equals it); a patch pair is one partial evolution"
echo "of one ${PATCH}x${PATCH} patch, and each latent row carries exactly one, so the two ingest"
echo "columns coincide (closure rows also carry both patch states and 2 closure codes: ingest MB/s)."
