#!/usr/bin/env bash
# Start a single-node Slurm cluster (Debian 12's Slurm 22.05 with munge) for
# the sweep runner's tests, without systemd. Idempotent: a cluster this
# script already started is reused. Everything it says goes to stderr; on
# success its only stdout is the settings clients need, as VAR=value lines:
#   SLURM_CONF=/tmp/qlab-slurm/slurm.conf
# Exits non-zero (with the daemons' log tails) when the node does not come up.
#
# QLAB_SLURM_DIR overrides the state directory (default /tmp/qlab-slurm).
set -euo pipefail

log() { echo "slurm.sh: $*" >&2; }
die() { log "$*"; exit 1; }

dir=${QLAB_SLURM_DIR:-/tmp/qlab-slurm}
conf=$dir/slurm.conf
node=$(hostname -s)
export SLURM_CONF=$conf

[ "$(id -u)" = 0 ] || die "must run as root (it starts munged, slurmctld and slurmd)"

# Packages: slurmctld slurmd slurm-client munge (7 with dependencies).
missing=()
for p in slurmctld slurmd slurm-client munge; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  # policy-rc.d 101 keeps the packages' init scripts from starting daemons
  # (this script starts them with its own configuration). One already
  # there is left as it is.
  own_policy=
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    own_policy=1
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 || die "apt-get install ${missing[*]} failed"
  if [ -n "$own_policy" ]; then
    rm -f /usr/sbin/policy-rc.d
    trap - EXIT
  fi
fi

ready() {
  local state
  state=$(sinfo -h -n "$node" -o %t 2>/dev/null | head -1) || return 1
  [ "$state" = idle ] || [ "$state" = mix ] || [ "$state" = alloc ]
}

if [ -f "$conf" ] && ready; then
  log "cluster already up ($conf)"
  echo "SLURM_CONF=$conf"
  exit 0
fi

mkdir -p "$dir/state" "$dir/spool" "$dir/log"

# munge: the key owned by munge, mode 0400; /run/munge (owner munge) must
# exist before munged starts.
if [ ! -s /etc/munge/munge.key ]; then
  mkdir -p /etc/munge
  if command -v mungekey >/dev/null; then
    mungekey --create --keyfile=/etc/munge/munge.key --force >&2
  else
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
  fi
fi
chown munge:munge /etc/munge/munge.key
chmod 0400 /etc/munge/munge.key
mkdir -p /run/munge /var/log/munge /var/lib/munge
chown munge:munge /run/munge /var/log/munge /var/lib/munge
chmod 0755 /run/munge
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  log "starting munged"
  runuser -u munge -- /usr/sbin/munged >&2 || die "munged did not start"
  for _ in $(seq 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
  munge -n | unmunge >/dev/null || die "munge does not work"
fi

cpus=$(nproc)
cat >"$conf" <<EOF
# Written by .ci/slurm.sh: a one-node cluster for qlab's sweep tests.
ClusterName=qlab
SlurmctldHost=$node(127.0.0.1)
AuthType=auth/munge
CryptoType=crypto/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobCompType=jobcomp/filetxt
JobCompLoc=$dir/log/jobcomp.txt
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
MinJobAge=300
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

if alive "$dir/slurmctld.pid"; then
  scontrol reconfigure >&2 || true
else
  log "starting slurmctld"
  slurmctld -f "$conf" >&2 || die "slurmctld did not start: $(tail -5 "$dir/log/slurmctld.log" 2>/dev/null)"
fi
if ! alive "$dir/slurmd.pid"; then
  log "starting slurmd"
  slurmd -f "$conf" >&2 || die "slurmd did not start: $(tail -5 "$dir/log/slurmd.log" 2>/dev/null)"
fi

for i in $(seq 150); do
  if ready; then
    log "node $node idle after ~$((i / 5)) s"
    echo "SLURM_CONF=$conf"
    exit 0
  fi
  state=$(sinfo -h -n "$node" -o %t 2>/dev/null | head -1 || true)
  case "$state" in
    down*|drain*) scontrol update NodeName="$node" State=RESUME >&2 2>/dev/null || true ;;
  esac
  sleep 0.2
done
log "node $node did not become idle (state: ${state:-unknown})"
tail -20 "$dir/log/slurmctld.log" "$dir/log/slurmd.log" >&2 2>/dev/null || true
exit 1
