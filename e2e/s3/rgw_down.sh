#!/bin/bash
# rgw_down.sh DIR: stops the Ceph daemons rgw_up.sh DIR started — only those:
# each is found by its PID file under DIR/run and signalled only if that
# process still runs with DIR's ceph.conf on its command line (a PID reused
# by another process is left alone). The gateways get SIGKILL at once: they
# hold nothing worth flushing and a graceful radosgw exit takes ~5 s. The
# OSD and the monitor get SIGTERM, then SIGKILL after GRACE seconds
# (default 2; the cluster is throwaway anyway). Removes DIR/rgw.env so no
# test mistakes a stopped cluster for a running one. Always exits 0 unless
# misused.
set -uo pipefail

if [ $# -ne 1 ] || [ -z "$1" ]; then
  echo "usage: $0 DIR" >&2
  exit 2
fi
DIR=$(realpath -m "$1")
GRACE=${GRACE:-2}
rm -f "$DIR/rgw.env"

ours() {  # PID: alive, not a zombie, and started with our ceph.conf
  local pid=$1
  [ -r "/proc/$pid/cmdline" ] || return 1
  grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null && return 1
  tr '\0' '\n' <"/proc/$pid/cmdline" | grep -qxF "$DIR/ceph.conf"
}

# Gateways first, the monitor last: the others talk to it while stopping.
for name in client.rgw.b client.rgw.a osd.0 mon.a; do
  pidfile=$DIR/run/$name.pid
  [ -f "$pidfile" ] || continue
  pid=$(cat "$pidfile")
  [[ "$pid" =~ ^[0-9]+$ ]] || continue
  ours "$pid" || continue
  case $name in
    client.rgw.*) kill -KILL "$pid" 2>/dev/null ;;
    *) kill -TERM "$pid" 2>/dev/null ;;
  esac
  for _ in $(seq $((GRACE * 20))); do
    ours "$pid" || break
    sleep 0.05
  done
  if ours "$pid"; then
    echo "rgw_down: $name (pid $pid) ignored SIGTERM for ${GRACE}s; SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null
  fi
  echo "rgw_down: stopped $name (pid $pid)"
done
exit 0
