#!/usr/bin/env bash
# A single-node Slurm cluster on localhost, for tests/test_slurm.py (Debian 12 / Ubuntu).
#
#   sudo tests/slurm/start_local_slurm.sh      # install (once), configure, start, wait
#   sudo tests/slurm/stop_local_slurm.sh       # stop what this script started
#
# No systemd is needed: munged, slurmctld and slurmd are started directly as daemons.
# The cluster is deliberately minimal:
#   * one node (this machine, reached at 127.0.0.1) with the CPUs and RealMemory that
#     `slurmd -C` reports, select/cons_tres with CR_CPU_Memory so that --mem and
#     --cpus-per-task are real consumable limits (two 1-CPU jobs share a 2-CPU node);
#   * partitions "cpu" and "gpu" (SLURM_TEST_PARTITIONS) over that node, named like the
#     ones profiles/slurm/config.yaml submits to; there is no GPU gres on this cluster;
#   * proctrack/linuxproc and task/none: no cgroups (containers often have none);
#   * no accounting database: AccountingStorageType=accounting_storage/none, so `sacct`
#     does not work; the executor plugin polls job states with `squeue` instead, which
#     sees finished jobs for MinJobAge=300 s. JobCompType=jobcomp/filetxt keeps one line
#     per finished job (id, name, state, partition, time limit, TRES) in
#     $SLURM_TEST_LOGDIR/jobcomp.log, which the test reads to prove its jobs ran here.
#
# Idempotent: apt-get runs only if a Slurm or munge binary is missing, and daemons that
# already run with the same slurm.conf are reused. Exits non-zero with the reason (and
# the tail of the daemon logs) on any failure; it never pretends that Slurm is up.
set -euo pipefail

PARTITIONS=${SLURM_TEST_PARTITIONS:-"cpu gpu"}
LOGDIR=${SLURM_TEST_LOGDIR:-/var/log/slurm}
CONF=/etc/slurm/slurm.conf
STATE=/run/modality-rl-slurm          # pid files and markers of what this script started
WAIT_S=${SLURM_TEST_WAIT_S:-60}

say() { echo "start_local_slurm: $*"; }
fail() {
    echo "start_local_slurm: ERROR: $*" >&2
    for log in "$LOGDIR/slurmctld.log" "$LOGDIR/slurmd.log" /var/log/munge/munged.log; do
        if [[ -s $log ]]; then
            echo "---- last lines of $log ----" >&2
            tail -n 25 "$log" >&2
        fi
    done
    exit 1
}
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
# A pid is alive if it runs and is no zombie (containers whose init does not reap
# orphans keep dead daemons as zombies, which `kill -0` still finds).
running() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) && [[ ${stat##*) } != Z* ]]
}
alive() { [[ -s $1 ]] && running "$(cat "$1")"; }

if [[ $(id -u) -ne 0 ]]; then
    echo "start_local_slurm: ERROR: must run as root (it installs packages with apt-get, \
writes $CONF and starts munged/slurmctld/slurmd); run it with sudo" >&2
    exit 1
fi

# -- 1. packages ---------------------------------------------------------------------
export PATH="$PATH:/usr/sbin:/sbin"
missing=()
installed_now=0
for bin in munged munge slurmctld slurmd sbatch squeue sinfo scontrol srun; do
    command -v "$bin" >/dev/null 2>&1 || missing+=("$bin")
done
if ((${#missing[@]})); then
    say "missing ${missing[*]}: installing slurm-wlm and munge with apt-get"
    command -v apt-get >/dev/null || fail "apt-get not found: this script needs a Debian-like \
system to install slurm-wlm and munge (missing: ${missing[*]})"
    t0=$(now)
    export DEBIAN_FRONTEND=noninteractive
    apt_log=$(mktemp)
    if ! apt-get install -y --no-install-recommends slurm-wlm munge >"$apt_log" 2>&1; then
        say "apt-get install failed; running apt-get update and retrying"
        apt-get update >>"$apt_log" 2>&1 \
            || { tail -n 30 "$apt_log" >&2; fail "apt-get update failed"; }
        apt-get install -y --no-install-recommends slurm-wlm munge >>"$apt_log" 2>&1 \
            || { tail -n 30 "$apt_log" >&2; fail "apt-get install slurm-wlm munge failed"; }
    fi
    rm -f "$apt_log"
    for bin in "${missing[@]}"; do
        command -v "$bin" >/dev/null 2>&1 || fail "$bin still missing after apt-get install"
    done
    installed_now=1
    say "apt-get install took $(elapsed "$t0") s"
else
    say "slurm-wlm and munge already installed"
fi
t_start=$(now)
mkdir -p "$STATE" "$LOGDIR" /var/spool/slurmctld /var/spool/slurmd /etc/slurm

# -- 2. munge ------------------------------------------------------------------------
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    if [[ ! -s /etc/munge/munge.key ]]; then
        say "creating /etc/munge/munge.key"
        mkdir -p /etc/munge
        if command -v mungekey >/dev/null; then
            mungekey --create --keyfile=/etc/munge/munge.key --force
        else
            dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
        fi
    fi
    munge_user=root
    id munge >/dev/null 2>&1 && munge_user=munge
    mkdir -p /run/munge /var/lib/munge /var/log/munge
    chown "$munge_user": /etc/munge /etc/munge/munge.key /run/munge /var/lib/munge /var/log/munge
    chmod 0700 /etc/munge /var/lib/munge /var/log/munge
    chmod 0755 /run/munge
    chmod 0400 /etc/munge/munge.key
    say "starting munged as $munge_user"
    if [[ $munge_user == root ]]; then
        munged --force --pid-file=/run/munge/munged.pid || fail "munged did not start"
    else
        runuser -u munge -- munged --pid-file=/run/munge/munged.pid \
            || fail "munged did not start (as user munge)"
    fi
    # munged writes its pid file as its own user, so it lives in /run/munge; the marker
    # tells stop_local_slurm.sh that this script started it.
    echo /run/munge/munged.pid >"$STATE/started-munged"
    for _ in $(seq 50); do
        munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break
        sleep 0.1
    done
    munge -n | unmunge >/dev/null || fail "munge credentials do not round-trip (munge -n | unmunge)"
fi

# -- 3. slurm.conf -------------------------------------------------------------------
host=$(hostname -s)
# `slurmd -C` prints this machine as a NodeName line: CPUs, Boards, Sockets, Cores,
# Threads, RealMemory. Using it verbatim keeps slurmd from draining the node for a
# hardware mismatch.
node_line=$(slurmd -C 2>/dev/null | grep '^NodeName=' | head -n 1) \
    || fail "slurmd -C did not print this machine's NodeName line"
node_line=${node_line/NodeName=* CPUs=/NodeName=$host CPUs=}
grep -q 'RealMemory=' <<<"$node_line" || fail "slurmd -C printed no RealMemory: $node_line"

MARKER="# Written by tests/slurm/start_local_slurm.sh: a one-node test cluster."
if [[ -s $CONF ]] && [[ $(head -n 1 "$CONF") != "$MARKER" ]] && ((!installed_now)) \
    && [[ ${SLURM_TEST_FORCE:-0} != 1 ]]; then
    fail "$CONF exists and was not written by this script (a real cluster's configuration?); \
refusing to overwrite it. Set SLURM_TEST_FORCE=1 to replace it with the test cluster's."
fi
new_conf=$(mktemp)
{
    echo "$MARKER"
    echo "ClusterName=localtest"
    echo "SlurmctldHost=$host(127.0.0.1)"
    echo "SlurmUser=root"
    echo "AuthType=auth/munge"
    echo "MpiDefault=none"
    echo "ProctrackType=proctrack/linuxproc"
    echo "TaskPlugin=task/none"
    echo "JobAcctGatherType=jobacct_gather/none"
    echo "AccountingStorageType=accounting_storage/none"
    echo "JobCompType=jobcomp/filetxt"
    echo "JobCompLoc=$LOGDIR/jobcomp.log"
    echo "SelectType=select/cons_tres"
    echo "SelectTypeParameters=CR_CPU_Memory"
    echo "SchedulerType=sched/backfill"
    echo "ReturnToService=2"
    echo "MinJobAge=300"
    echo "KillWait=5"
    echo "StateSaveLocation=/var/spool/slurmctld"
    echo "SlurmdSpoolDir=/var/spool/slurmd"
    echo "SlurmctldPidFile=$STATE/slurmctld.pid"
    echo "SlurmdPidFile=$STATE/slurmd.pid"
    echo "SlurmctldLogFile=$LOGDIR/slurmctld.log"
    echo "SlurmdLogFile=$LOGDIR/slurmd.log"
    echo "SlurmctldDebug=info"
    echo "SlurmdDebug=info"
    echo "$node_line NodeAddr=127.0.0.1 State=UNKNOWN"
    default=YES
    for partition in $PARTITIONS; do
        echo "PartitionName=$partition Nodes=$host Default=$default MaxTime=INFINITE State=UP"
        default=NO
    done
} >"$new_conf"

up=0
alive "$STATE/slurmctld.pid" && alive "$STATE/slurmd.pid" && up=1
if ((up)) && cmp -s "$new_conf" "$CONF"; then
    say "slurmctld and slurmd already run with this slurm.conf"
    rm -f "$new_conf"
else
    for daemon in slurmd slurmctld; do
        if alive "$STATE/$daemon.pid"; then
            say "stopping the previous $daemon (pid $(cat "$STATE/$daemon.pid"))"
            kill "$(cat "$STATE/$daemon.pid")"
            for _ in $(seq 50); do alive "$STATE/$daemon.pid" || break; sleep 0.2; done
        fi
    done
    mv "$new_conf" "$CONF"
    chmod 0644 "$CONF"
    # -- 4. daemons ------------------------------------------------------------------
    say "starting slurmctld"
    # -c: start from a clean state (no jobs or node states left from an earlier run).
    slurmctld -c || fail "slurmctld did not start"
    say "starting slurmd"
    slurmd -N "$host" || fail "slurmd did not start"
fi

# -- 5. wait until the node takes jobs -----------------------------------------------
state=""
resumed=0
deadline=$((SECONDS + WAIT_S))
while ((SECONDS < deadline)); do
    state=$(sinfo -h -N -n "$host" -o '%T' 2>/dev/null | head -n 1 || true)
    case $state in
        idle | mixed | allocated) break ;;
        down* | drain*)
            if ((!resumed)); then
                scontrol update NodeName="$host" State=RESUME >/dev/null 2>&1 || true
                resumed=1
            fi
            ;;
    esac
    sleep 0.5
done
case $state in
    idle | mixed | allocated) ;;
    *)
        reason=$(sinfo -h -N -n "$host" -o '%E' 2>/dev/null || true)
        fail "node $host is not up after ${WAIT_S} s (sinfo state: \
'${state:-no answer from slurmctld}'${reason:+, reason: $reason})"
        ;;
esac
say "$(sinfo --version)"
say "daemons up and node $host $state after $(elapsed "$t_start") s"
sinfo
