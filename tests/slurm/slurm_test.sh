#!/bin/bash
# A real Slurm cluster on localhost (one machine, two Slurm nodes), and the jobs/slurm
# scripts run through it.
#
#   tests/slurm/slurm_test.sh BIN_DIR SOURCE_DIR      (ctest: slurm_real)
#
# BIN_DIR holds the macrodyn binary (or BIN_DIR/apps does), SOURCE_DIR is the repository.
# Needs root (slurmd), munge and slurm-wlm (scripts/build.sh installs them), Open MPI,
# and /usr/bin/python3 with h5py. Everything the cluster writes lives in a fresh
# temporary directory; its own munged listens on a private socket there, and the Slurm
# ports are picked free, so a Slurm or munge already running on the machine is left
# alone. The daemons are stopped by the pids in their pid files, also on failure.
#
#   1. munged + slurmctld + two slurmd (slurm.conf generated, ReturnToService=2): node
#      $(hostname) (CPUs=2, partition debug, the default) and node hetsim on the same
#      machine (NodeHostname=$(hostname), its own port, CPUs=2, partition het, which only
#      the hetjob asks for; needs a Slurm built with multiple slurmd, as Debian's is);
#      wait until sinfo shows both nodes idle.
#   2. online-cpu.sbatch with quickstart.ini (learn.steps 200): COMPLETED, model exists.
#   3. requeue.sbatch with requeue-test.ini: once running and checkpointing,
#      `scancel --batch --signal=USR1`; the script requeues the job itself after the
#      checkpoint exit (75); it runs again with --resume and completes. Checks: Restarts
#      >= 1, checkpoint.json resumes > 0, model exists, and
#      /pairs/snapshot_id[:rows_committed] == 0..n-1 in the kept stream.
#   4. hetero-gpu.sbatch as a heterogeneous job with MACRODYN_DEVICE=cpu (quickstart.ini,
#      learn.steps 50, large.snapshots 200): component 0 one learner task on $(hostname)
#      (--gres=none clears the script's --gres=gpu:1, --cpus-per-task=1), component 1 two
#      simulator tasks on hetsim, launched the script's default way (mpirun's daemon on
#      hetsim through `srun --het-group=1`). Checks: both components COMPLETED 0:0, model
#      exists, the script's layout line, Open MPI's --display-map (rank 0 on $(hostname),
#      ranks 1-2 on hetsim), "3 rank(s) (1 learner(s), 2 team(s) of 1)", and a step of
#      component 1 launched on hetsim. Two components on one node would never start: the
#      backfill scheduler (which alone starts hetjobs) reserves whole nodes for a planned
#      component; hence the second node.
#
# Variables: SLURM_TEST_KEEP=1 keeps the temporary directory; SLURM_TEST_CRED_EXPIRE
# (default 30) is how long Slurm holds a requeued job (AuthInfo cred_expire; Slurm's
# default is 120 s); SLURM_TEST_TIMEOUT (an integer, default 1) multiplies every wait and
# the overall deadline SLURM_TEST_DEADLINE (default 1140 s, under ctest's TIMEOUT 1200).
# Any failure prints the daemons' logs and the job outputs, and exits 1.
set -u

if [ $# -ne 2 ]; then
  echo "usage: $0 BIN_DIR SOURCE_DIR" >&2
  exit 2
fi
BIN_DIR=$(cd "$1" && pwd) || exit 2
SRC=$(cd "$2" && pwd) || exit 2
if [ -x "$BIN_DIR/macrodyn" ]; then
  MACRODYN=$BIN_DIR/macrodyn
else
  MACRODYN=$BIN_DIR/apps/macrodyn
fi
PY=/usr/bin/python3
SCALE=${SLURM_TEST_TIMEOUT:-1}
T0=$(date +%s)

say() { echo "[slurm_test +$(($(date +%s) - T0))s] $*"; }
# Every wait also stops at this overall deadline, so that the test fails (and cleans up)
# before ctest's TIMEOUT (1200 s) kills it without stopping the daemons.
DEADLINE=$((T0 + ${SLURM_TEST_DEADLINE:-1140} * SCALE))
tick() {  # sleep SECONDS, unless past the deadline
  [ "$(date +%s)" -lt "$DEADLINE" ] || fail "overall deadline of $((DEADLINE - T0)) s passed"
  sleep "$1"
}

D=
MUNGE_PID=
H=
H2=
dump_logs() {
  [ -n "$D" ] && [ -d "$D" ] || return
  local f
  for f in "$D"/log/* "$D"/jobs/*/*.out; do
    [ -f "$f" ] || continue
    echo "===== $f (last 200 lines) ====="
    tail -n 200 "$f" | tr '\r' '\n' | tail -n 200
  done
  if [ -n "${SLURM_CONF:-}" ] && [ -f "$SLURM_CONF" ]; then
    echo "===== sinfo ====="; sinfo 2>&1
    echo "===== squeue ====="; squeue 2>&1
    local j
    for j in ${JOBS:-}; do echo "===== scontrol show job $j ====="; scontrol show job "$j" 2>&1; done
  fi
}
fail() {
  say "FAIL: $*" >&2
  dump_logs >&2
  exit 1
}

# Stop what this test started, by pid: slurmd, slurmctld (their pid files), munged (its
# own pid file). The EXIT trap runs on success and failure alike.
stop_pid() {  # name pid
  local name=$1 pid=$2 i
  [ -n "$pid" ] || return 0
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null
  for i in $(seq 1 30); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.5
  done
  echo "[slurm_test] $name ($pid) ignored SIGTERM for 15 s: SIGKILL" >&2
  kill -KILL "$pid" 2>/dev/null
}
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "$D" ]; then
    # Jobs still running would keep slurmstepd and macrodyn processes alive.
    if [ -n "${SLURM_CONF:-}" ] && [ -n "${JOBS:-}" ] && [ -f "$D/slurmctld.pid" ]; then
      local j
      for j in $JOBS; do scancel "$j" >/dev/null 2>&1; done
      # Until Slurm has ended their processes (SIGTERM, SIGKILL after KillWait).
      for i in $(seq 1 60); do
        [ -z "$(squeue -h -t RUNNING,COMPLETING,CONFIGURING 2>/dev/null)" ] && break
        sleep 1
      done
    fi
    stop_pid slurmd "$(cat "$D/slurmd-$H.pid" 2>/dev/null)"
    stop_pid "slurmd $H2" "$(cat "$D/slurmd-$H2.pid" 2>/dev/null)"
    stop_pid slurmctld "$(cat "$D/slurmctld.pid" 2>/dev/null)"
    stop_pid munged "$MUNGE_PID"
    if [ "${SLURM_TEST_KEEP:-0}" = 1 ] || [ $rc -ne 0 ]; then
      echo "[slurm_test] kept $D" >&2
    else
      rm -rf "$D"
    fi
  fi
  exit $rc
}
trap cleanup EXIT
trap 'fail "interrupted"' INT TERM

# ---------------------------------------------------------------- prerequisites
[ "$(id -u)" = 0 ] || fail "needs root (slurmd runs jobs as their users); run as root"
for c in munged munge unmunge slurmctld slurmd sbatch srun scontrol scancel sinfo squeue mpirun; do
  command -v "$c" >/dev/null 2>&1 || fail "$c not found: apt-get install slurm-wlm munge openmpi-bin (scripts/build.sh)"
done
[ -x "$MACRODYN" ] || fail "no macrodyn binary in $BIN_DIR"
$PY -c 'import h5py, numpy' 2>/dev/null || fail "$PY cannot import h5py (apt-get install python3-h5py)"
for f in jobs/slurm/online-cpu.sbatch jobs/slurm/requeue.sbatch jobs/slurm/hetero-gpu.sbatch \
         jobs/configs/quickstart.ini jobs/configs/requeue-test.ini; do
  [ -f "$SRC/$f" ] || fail "missing $SRC/$f"
done

D=$(mktemp -d /tmp/macrodyn-slurm.XXXXXX) || fail "mktemp"
chmod 755 "$D"
H=$(hostname)
H2=hetsim   # the second node (hetjob component 1): a Slurm node name on this machine
[ "$H" != "$H2" ] || H2=hetsim2
mkdir -p "$D/state" "$D/spool/$H" "$D/spool/$H2" "$D/log" "$D/munge" "$D/jobs"
chmod 755 "$D/munge"   # munged wants its socket directory reachable by all
say "cluster directory $D, nodes $H and $H2"

# ---------------------------------------------------------------- munge
KEY=/etc/munge/munge.key
if [ ! -s "$KEY" ]; then
  say "creating $KEY"
  mkdir -p /etc/munge
  dd if=/dev/urandom of="$KEY" bs=1024 count=1 status=none || fail "cannot write $KEY"
  chown munge:munge "$KEY" 2>/dev/null || true
  chmod 400 "$KEY"
fi
MSOCK=$D/munge/munge.socket
munged --force --socket="$MSOCK" --key-file="$KEY" --pid-file="$D/munge/munged.pid" \
  --seed-file="$D/munge/munged.seed" --log-file="$D/log/munged.log" \
  >"$D/log/munged.out" 2>&1 || fail "munged did not start"
for i in $(seq 1 50); do
  [ -s "$D/munge/munged.pid" ] && break
  sleep 0.2
done
MUNGE_PID=$(cat "$D/munge/munged.pid" 2>/dev/null)
[ -n "$MUNGE_PID" ] || fail "munged wrote no pid file"
munge -n -S "$MSOCK" | unmunge -S "$MSOCK" >/dev/null 2>&1 || fail "munge credential round trip failed"
say "munged running (pid $MUNGE_PID, socket $MSOCK)"

# ---------------------------------------------------------------- ports
# A port is free when no TCP socket (v4 or v6, any state) has it as its local port.
port_free() {
  local hex
  hex=$(printf ':%04X ' "$1")
  ! cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk '{print $2" "}' | grep -q -- "$hex"
}
CTLD_PORT=
for i in $(seq 1 200); do
  p=$((20000 + (RANDOM % 15000) * 3))
  if port_free "$p" && port_free $((p + 1)) && port_free $((p + 2)); then CTLD_PORT=$p; break; fi
done
[ -n "$CTLD_PORT" ] || fail "no three free ports"
D_PORT=$((CTLD_PORT + 1))
D2_PORT=$((CTLD_PORT + 2))

# ---------------------------------------------------------------- slurm.conf
export SLURM_CONF=$D/slurm.conf
cat >"$SLURM_CONF" <<EOF
ClusterName=macrodyntest
SlurmctldHost=$H
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$MSOCK,cred_expire=${SLURM_TEST_CRED_EXPIRE:-30}
StateSaveLocation=$D/state
SlurmdSpoolDir=$D/spool/%n
SlurmctldPidFile=$D/slurmctld.pid
SlurmdPidFile=$D/slurmd-%n.pid
SlurmctldLogFile=$D/log/slurmctld.log
SlurmdLogFile=$D/log/slurmd-%n.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
# Only the backfill scheduler starts hetjobs: every 5 s instead of 30.
SchedulerParameters=bf_interval=5
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
JobRequeue=1
MinJobAge=3600
KillWait=10
SlurmctldPort=$CTLD_PORT
SlurmdPort=$D_PORT
NodeName=$H NodeHostname=$H CPUs=2 RealMemory=8000 State=UNKNOWN
NodeName=$H2 NodeHostname=$H Port=$D2_PORT CPUs=2 RealMemory=8000 State=UNKNOWN
PartitionName=debug Nodes=$H Default=YES MaxTime=INFINITE State=UP
PartitionName=het Nodes=$H2 MaxTime=INFINITE State=UP
EOF

slurmctld -f "$SLURM_CONF" >"$D/log/slurmctld.out" 2>&1 || fail "slurmctld did not start"
for i in $(seq 1 100); do
  scontrol ping >/dev/null 2>&1 && break
  sleep 0.5
done
scontrol ping 2>&1 | grep -q UP || fail "slurmctld does not answer (port $CTLD_PORT)"
# Two slurmd on this machine, one per node (-N): Slurm must be built with multiple slurmd.
scontrol show config 2>/dev/null | grep -Eq '^MULTIPLE_SLURMD *= *Yes' ||
  fail "this Slurm is built without multiple slurmd support (MULTIPLE_SLURMD), needed for the second node $H2"
slurmd -N "$H" -f "$SLURM_CONF" >"$D/log/slurmd.out" 2>&1 || fail "slurmd ($H) did not start"
slurmd -N "$H2" -f "$SLURM_CONF" >"$D/log/slurmd-2.out" 2>&1 || fail "slurmd ($H2) did not start"
for i in $(seq 1 50); do
  [ -s "$D/slurmd-$H.pid" ] && [ -s "$D/slurmd-$H2.pid" ] && break
  sleep 0.2
done
say "slurmctld (port $CTLD_PORT, pid $(cat "$D/slurmctld.pid" 2>/dev/null)), slurmd $H (port $D_PORT, pid $(cat "$D/slurmd-$H.pid" 2>/dev/null)) and slurmd $H2 (port $D2_PORT, pid $(cat "$D/slurmd-$H2.pid" 2>/dev/null)) started"

state=
for i in $(seq 1 $((120 * SCALE))); do
  state=$(sinfo -h -n "$H,$H2" -o %t 2>/dev/null | sort -u | tr '\n' ' ')
  [ "$state" = "idle " ] && break
  tick 1
done
[ "$state" = "idle " ] || fail "nodes $H, $H2 not idle after $((120 * SCALE)) s (states '$state')"
say "nodes $H and $H2 idle"

# ---------------------------------------------------------------- job helpers
JOBS=
job_field() {  # job field -> value of Field= in `scontrol show job -o`
  scontrol show job -o "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1
}
job_state() { job_field "$1" JobState; }
# wait_state JOB TIMEOUT STATE...: until the job is in one of STATEs; fails on a final
# state that is not listed.
wait_state() {
  local job=$1 timeout=$(($2 * SCALE)) s i last=
  shift 2
  for ((i = 0; i < timeout; i += 2)); do
    s=$(job_state "$job")
    if [ "$s" != "$last" ]; then say "job $job: ${s:-?}"; last=$s; fi
    for want in "$@"; do [ "$s" = "$want" ] && return 0; done
    case $s in
      FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|BOOT_FAIL|DEADLINE|PREEMPTED|COMPLETED)
        fail "job $job ended $s ($(job_field "$job" ExitCode)) while waiting for $*" ;;
    esac
    tick 2
  done
  fail "job $job still ${s:-?} after $timeout s, waiting for $*"
}
submit() {  # dir sbatch-args... -> job id in JOB
  local dir=$1 out
  shift
  out=$(cd "$dir" && sbatch --parsable "$@" 2>&1) || fail "sbatch $*: $out"
  JOB=${out%%;*}
  JOBS="$JOBS $JOB"
}
check_model() {  # dir
  local f
  for f in model.json drift.pt diffusion.pt encoder.pt; do
    [ -s "$1/$f" ] || fail "model file $1/$f missing"
  done
}

# ---------------------------------------------------------------- quickstart job
QS=$D/jobs/quickstart
mkdir -p "$QS"
submit "$QS" --job-name=qs --nodes=1 --ntasks-per-node=2 --time=30:00 --output="$QS/job.out" \
  --export=ALL,MACRODYN_BIN="$MACRODYN" \
  "$SRC/jobs/slurm/online-cpu.sbatch" "$SRC/jobs/configs/quickstart.ini" \
  --learn.steps 200 --large.snapshots 400 --learn.out model --run.progress false
J1=$JOB
say "submitted quickstart job $J1"
wait_state "$J1" 900 COMPLETED
[ "$(job_field "$J1" ExitCode)" = 0:0 ] || fail "job $J1 exit code $(job_field "$J1" ExitCode)"
check_model "$QS/model"
say "quickstart job $J1 COMPLETED, model in $QS/model"

# ---------------------------------------------------------------- requeue job
RQ=$D/jobs/requeue
mkdir -p "$RQ"
submit "$RQ" --job-name=rq --nodes=1 --ntasks-per-node=2 --time=60:00 --output="$RQ/job.out" \
  --export=ALL,MACRODYN_BIN="$MACRODYN" \
  "$SRC/jobs/slurm/requeue.sbatch" "$SRC/jobs/configs/requeue-test.ini"
J2=$JOB
say "submitted requeue job $J2"
wait_state "$J2" 600 RUNNING

# Progress: a first checkpoint written while pairs stream in.
ck=$RQ/requeue-model/checkpoint.json
for ((i = 0; i < 600 * SCALE; i += 2)); do
  [ -s "$ck" ] && break
  s=$(job_state "$J2")
  [ "$s" = RUNNING ] || fail "job $J2 is $s before its first checkpoint"
  tick 2
done
[ -s "$ck" ] || fail "no $ck after $((600 * SCALE)) s of running"
say "job $J2 has checkpointed: $(tr -d ' \n' <"$ck" | cut -c1-160)"
[ "$(job_state "$J2")" = RUNNING ] || fail "job $J2 ended before it could be interrupted (make requeue-test.ini longer)"
scancel --batch --signal=USR1 "$J2" || fail "scancel --batch --signal=USR1 $J2"
say "sent SIGUSR1 to the batch shell of job $J2"

# The script requeues the job itself after the checkpoint exit: Restarts becomes 1.
for ((i = 0; i < 300 * SCALE; i += 2)); do
  r=$(job_field "$J2" Restarts)
  [ "${r:-0}" -ge 1 ] && break
  s=$(job_state "$J2")
  case $s in COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL) fail "job $J2 ended $s ($(job_field "$J2" ExitCode)) instead of being requeued" ;; esac
  tick 2
done
[ "${r:-0}" -ge 1 ] || fail "job $J2 not requeued $((300 * SCALE)) s after SIGUSR1"
grep -q 'status 75' "$RQ/job.out" || fail "job $J2 was requeued without a checkpoint exit (75)"
say "job $J2 requeued (Restarts=$r, $(job_state "$J2"), begins $(job_field "$J2" StartTime))"

wait_state "$J2" 900 COMPLETED
[ "$(job_field "$J2" ExitCode)" = 0:0 ] || fail "job $J2 exit code $(job_field "$J2" ExitCode)"
check_model "$RQ/requeue-model"
[ -s "$ck" ] || fail "$ck missing after the resumed run"

$PY - "$ck" "$RQ/requeue-stream.h5" <<'EOF' || fail "checkpoint/stream checks failed"
import json, sys
import h5py, numpy as np
ck = json.load(open(sys.argv[1]))
n_ck, n_res = int(ck.get("checkpoints", 0)), int(ck.get("resumes", 0))
print(f"checkpoint.json: checkpoints {n_ck}, resumes {n_res}")
if n_res < 1:
    sys.exit("checkpoint.json: resumes is 0, the requeued run did not resume")
with h5py.File(sys.argv[2], "r") as f:
    g = f["pairs"]
    n = int(g.attrs["rows_committed"])
    ids = g["snapshot_id"][:n]
    print(f"/pairs: rows_committed {n}, dataset rows {g['snapshot_id'].shape[0]}")
    if n == 0:
        sys.exit("/pairs: no rows committed")
    if not np.array_equal(ids, np.arange(n)):
        bad = np.nonzero(ids != np.arange(n))[0]
        sys.exit(f"/pairs/snapshot_id[:{n}] is not 0..{n-1}: first mismatch at row {bad[0]}: "
                 f"{ids[max(0, bad[0]-3):bad[0]+4]}; duplicates {n - len(np.unique(ids))}")
    if "latent" in f and "rows_committed" in f["latent"].attrs:
        nl = int(f["latent"].attrs["rows_committed"])
        print(f"/latent: rows_committed {nl}")
EOF
say "requeue job $J2 COMPLETED after $(job_field "$J2" Restarts) requeue(s); its output:"
tr '\r' '\n' <"$RQ/job.out" | grep -E 'requeue.sbatch:|resum|checkpoint [0-9]+ after|SIGUSR1|signal' | grep -v 'SDE step' | sed 's/^/    /'

# ---------------------------------------------------------------- heterogeneous job
# hetero-gpu.sbatch with the learner on the CPU: component 0 (one learner task) on $H,
# component 1 (two simulator tasks) on $H2; the options after `:` are component 1's.
# --gres=none clears the script's --gres=gpu:1 (no GRES here). Open MPI's --display-map
# shows where the ranks went.
HJ=$D/jobs/hetero
mkdir -p "$HJ"
submit "$HJ" --job-name=het --gres=none --ntasks=1 --cpus-per-task=1 --time=10:00 \
  --output="$HJ/job.out" \
  --export=ALL,MACRODYN_BIN="$MACRODYN",MACRODYN_DEVICE=cpu,MPIRUN_ARGS=--display-map \
  : --partition=het --nodes=1 --ntasks-per-node=2 --cpus-per-task=1 \
  "$SRC/jobs/slurm/hetero-gpu.sbatch" "$SRC/jobs/configs/quickstart.ini" \
  --learn.steps 50 --large.snapshots 200 --learn.out model --run.progress false
J3=$JOB
say "submitted heterogeneous job $J3"
wait_state "$J3" 600 COMPLETED
# Every component (one line each in `scontrol show job -o`) COMPLETED with 0:0, once
# none of them is still COMPLETING (epilog) on its node.
for ((i = 0; i < 60 * SCALE; i += 2)); do
  comps=$(scontrol show job -o "$J3" 2>/dev/null)
  grep -q 'JobState=COMPLETING' <<<"$comps" || break
  tick 2
done
[ "$(grep -c 'HetJobOffset=' <<<"$comps")" = 2 ] || fail "job $J3 is not a heterogeneous job of two components"
while read -r line; do
  id=$(tr ' ' '\n' <<<"$line" | sed -n 's/^JobId=//p')
  s=$(tr ' ' '\n' <<<"$line" | sed -n 's/^JobState=//p')
  e=$(tr ' ' '\n' <<<"$line" | sed -n 's/^ExitCode=//p')
  [ "$s" = COMPLETED ] && [ "$e" = 0:0 ] || fail "hetjob component $id: $s ($e)"
done <<<"$comps"
check_model "$HJ/model"
out=$(tr '\r' '\n' <"$HJ/job.out")
grep -Fq "1 learner rank(s) on $H (device cpu), 2 simulator rank(s) on $H2" <<<"$out" ||
  fail "job $J3: no layout line (1 learner on $H, 2 simulators on $H2) in its output"
grep -q 'macrodyn run: 3 rank(s) (1 learner(s), 2 team(s) of 1)' <<<"$out" ||
  fail "job $J3: macrodyn did not run 3 ranks (1 learner, 2 simulator teams)"
# --display-map: "Data for node: NODE ... Num procs: N", then one line per rank.
map=$(awk '/JOB MAP/ { n++ } n == 1' <<<"$out" | grep -E '^ *Data for node:|Process rank:' |
      sed -E 's/^ *Data for node: ([^ \t]+).*Num procs: ([0-9]+).*/node \1 \2/; s/.*Process rank: ([0-9]+).*/rank \1/' |
      tr '\n' ' ')
# (Open MPI drops the domain of a host name.)
[ "$map" = "node ${H%%.*} 1 rank 0 node $H2 2 rank 1 rank 2 " ] ||
  fail "job $J3: Open MPI's map is '$map', not rank 0 on $H and ranks 1-2 on $H2"
# The srun agent started mpirun's daemon as a step of component 1 on $H2.
grep -q 'launch task .*StepId=[0-9]*\.0)' "$D/log/slurmd-$H2.log" ||
  fail "no job step was launched on $H2 (the srun agent of hetero-gpu.sbatch)"
say "heterogeneous job $J3 COMPLETED: $map"
grep -E 'hetero-gpu.sbatch:|macrodyn run:' <<<"$out" | sed 's/^/    /'

say "PASS in $(($(date +%s) - T0)) s"
