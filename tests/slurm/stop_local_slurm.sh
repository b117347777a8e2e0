#!/usr/bin/env bash
# Stop the test cluster of start_local_slurm.sh: its jobs, slurmd, slurmctld, and munged
# if that script started it. Only the daemons in its pid files are signalled.
set -uo pipefail

STATE=/run/modality-rl-slurm
export PATH="$PATH:/usr/sbin:/sbin"

say() { echo "stop_local_slurm: $*"; }
# A pid is alive if it runs and is no zombie (containers whose init does not reap
# orphans keep dead daemons as zombies, which `kill -0` still finds).
running() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) && [[ ${stat##*) } != Z* ]]
}
alive() { [[ -s $1 ]] && running "$(cat "$1")"; }

stop() {
    local name=$1 pidfile=${2:-$STATE/$1.pid}
    if alive "$pidfile"; then
        local pid
        pid=$(cat "$pidfile")
        kill "$pid"
        for _ in $(seq 50); do running "$pid" || break; sleep 0.2; done
        if running "$pid"; then
            say "$name (pid $pid) ignored SIGTERM; sending SIGKILL"
            kill -9 "$pid"
        fi
        say "stopped $name (pid $pid)"
    fi
    rm -f "$pidfile"
}

if alive "$STATE/slurmctld.pid"; then
    # Every job of this throwaway cluster, whoever submitted it.
    squeue -h -o %i 2>/dev/null | xargs -r scancel 2>/dev/null || true
fi
stop slurmd
stop slurmctld
if [[ -s $STATE/started-munged ]]; then
    stop munged "$(cat "$STATE/started-munged")"
fi
rm -f "$STATE/started-munged"

# A stopped cluster's clients wait MessageTimeout - 1 s (9 s by default) for its controller
# before they fail: `scontrol show config`, which the SLURM executor plugin runs whenever
# Snakemake starts, made every later snakemake command on this machine 9 s slower. With
# MessageTimeout=1 they fail at once; start_local_slurm.sh writes the whole file again.
CONF=/etc/slurm/slurm.conf
if [[ -s $CONF ]] && head -n 1 "$CONF" | grep -q '^# Written by tests/slurm/start_local_slurm.sh' \
    && ! grep -q '^MessageTimeout=1$' "$CONF"; then
    printf '# The cluster is stopped (stop_local_slurm.sh): clients fail at once.\nMessageTimeout=1\n' \
        >>"$CONF"
    say "$CONF: MessageTimeout=1 while the cluster is stopped"
fi
exit 0
