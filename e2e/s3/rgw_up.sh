#!/bin/bash
# rgw_up.sh DIR: starts a throwaway single-node Ceph on 127.0.0.1 for the S3
# e2e tests — one monitor, one OSD on memstore (RAM only) and two radosgw
# gateways — with all state, logs and PID files under DIR (wiped first if it
# is empty or an earlier run's; any other non-empty directory is refused), and
# creates an S3 user and a bucket. Ready in about 2 s.
#
# On success it writes DIR/rgw.env (sourced by shells, parsed by the tests):
#   SNAPVOL_S3_ENDPOINT     http://127.0.0.1:PORT   the gateway tests share
#   SNAPVOL_S3_ENDPOINT_B   http://127.0.0.1:PORT   a second gateway on the same
#   SNAPVOL_S3_PID_B        PID                       cluster, which a test may stop
#   SNAPVOL_S3_REGION, SNAPVOL_S3_BUCKET, SNAPVOL_S3_ACCESS_KEY, SNAPVOL_S3_SECRET_KEY
# and removes a stale one first, so a failed start never leaves an old file
# behind. rgw_down.sh DIR stops exactly the daemons started here.
#
# Exit codes: 0 ready; 1 failure (loud, with the tail of the failing log);
# 77 not root (the S3 e2e tests then skip). Needs the Debian packages
# ceph-mon ceph-osd radosgw ceph-common (scripts/deps.sh installs them).
set -euo pipefail

if [ $# -ne 1 ] || [ -z "$1" ]; then
  echo "usage: $0 DIR" >&2
  exit 2
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "rgw_up: not root; the S3 e2e tests need a local Ceph and are skipped" >&2
  exit 77
fi
for tool in ceph-mon ceph-osd radosgw radosgw-admin ceph ceph-authtool monmaptool uuidgen curl; do
  if ! command -v "$tool" >/dev/null; then
    echo "rgw_up: FAILED: '$tool' is missing; run scripts/deps.sh (packages ceph-mon ceph-osd" \
      "radosgw ceph-common)" >&2
    exit 1
  fi
done

DIR=$(realpath -m "$1")
HERE=$(dirname "$(realpath "$0")")
ENV_FILE=$DIR/rgw.env
START_NS=$(date +%s%N)
elapsed() { echo "$(( ($(date +%s%N) - START_NS) / 1000000 )) ms"; }
log() { echo "rgw_up [$(elapsed)]: $*"; }

# Whatever fails from here on: say where, show the relevant log, and stop
# what we started so nothing lingers.
failed_step=""
owns_dir=0  # 1 once DIR is ours to clean up
on_exit() {
  local rc=$?
  [ $rc -eq 0 ] && return
  echo "rgw_up: FAILED at: ${failed_step:-setup} (exit $rc)" >&2
  for f in "$DIR"/log/*.log "$DIR"/log/*.out; do
    [ -s "$f" ] || continue
    echo "--- last lines of $f" >&2
    tail -n 15 "$f" >&2
  done
  [ "$owns_dir" = 1 ] && "$HERE/rgw_down.sh" "$DIR" >&2
}
trap on_exit EXIT

# wait_until SECONDS WHAT CMD...: polls every 50 ms.
wait_until() {
  local limit=$1 what=$2
  shift 2
  local end=$(( $(date +%s) + limit ))
  until "$@" >/dev/null 2>&1; do
    if [ "$(date +%s)" -ge "$end" ]; then
      echo "rgw_up: timed out after ${limit}s waiting for $what" >&2
      return 1
    fi
    sleep 0.05
  done
}

# A TCP port on 127.0.0.1 that nothing listens on now (the kernel may still
# hand it to someone else before the daemon binds; the daemon then fails and
# so does this script, loudly).
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pick_port() {
  local p
  for _ in $(seq 200); do
    p=$(( 20000 + RANDOM % 30000 ))
    port_busy "$p" || { echo "$p"; return 0; }
  done
  echo "rgw_up: no free port found" >&2
  return 1
}

# Only a directory of an earlier run (or an empty one) is wiped, after
# stopping whatever that run left running.
if [ -n "$(ls -A "$DIR" 2>/dev/null)" ] && [ ! -f "$DIR/ceph.conf" ]; then
  echo "rgw_up: $DIR is not empty and holds no ceph.conf of an earlier run; not wiping it" >&2
  exit 1
fi
if [ -d "$DIR/run" ]; then "$HERE/rgw_down.sh" "$DIR"; fi
rm -rf "$DIR"
owns_dir=1
mkdir -p "$DIR"/{mon,osd,rgw,run,log}
chmod 700 "$DIR"

MON_PORT=$(pick_port)
RGW_PORT=$(pick_port)
RGW_PORT_B=$(pick_port)
ACCESS_KEY=SNAPVOLE2E$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n' | tr a-f A-F)
SECRET_KEY=$(head -c 30 /dev/urandom | base64 | tr -d '/+=\n')
REGION=us-east-1
BUCKET=snapvol-e2e
FSID=$(uuidgen)
CONF=$DIR/ceph.conf
export CEPH_CONF=$CONF

# One replica and tiny placement-group counts (one OSD); a short paxos
# propose interval, because radosgw creates its pools one after another on
# first start and each waits for a map update (1 s each by default); one
# thread wherever Ceph allows it (2 cores shared with the build).
cat >"$CONF" <<CONF
[global]
fsid = $FSID
mon host = v2:127.0.0.1:$MON_PORT
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind ipv6 = false
ms bind msgr1 = false
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
auth allow insecure global id reclaim = false
keyring = $DIR/admin.keyring
run dir = $DIR/run
admin socket = $DIR/run/\$name.asok
pid file = $DIR/run/\$name.pid
log file = $DIR/log/\$name.log
crash dir = $DIR/crash
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon warn on pool no redundancy = false
mon max pg per osd = 1000
mon data avail warn = 1
mon data avail crit = 0
paxos propose interval = 0.05
ms async op threads = 1
osd op num shards = 1
osd op num threads per shard = 1

[mon.a]
mon data = $DIR/mon

[osd.0]
osd data = $DIR/osd
keyring = $DIR/osd/keyring
osd objectstore = memstore
memstore device bytes = 1073741824

[client.rgw.a]
keyring = $DIR/rgw/keyring
rgw data = $DIR/rgw
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT tcp_nodelay=1
rgw thread pool size = 32
# Virtual-hosted requests name the bucket in the host: BUCKET.localhost.
rgw dns name = localhost

[client.rgw.b]
keyring = $DIR/rgw/keyring
rgw data = $DIR/rgw
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT_B tcp_nodelay=1
rgw thread pool size = 8
CONF

failed_step="monitor"
ceph-authtool --create-keyring "$DIR/mon.keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
ceph-authtool --create-keyring "$DIR/admin.keyring" --gen-key -n client.admin \
  --cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' >/dev/null
ceph-authtool "$DIR/mon.keyring" --import-keyring "$DIR/admin.keyring" >/dev/null
monmaptool --create --addv a "v2:127.0.0.1:$MON_PORT" --fsid "$FSID" "$DIR/monmap" >/dev/null
ceph-mon --mkfs -i a --monmap "$DIR/monmap" --keyring "$DIR/mon.keyring" >"$DIR/log/mon-mkfs.out" 2>&1
ceph-mon -c "$CONF" -i a >>"$DIR/log/daemons.out" 2>&1
wait_until 60 "the monitor" ceph --connect-timeout 2 mon stat
log "monitor up on port $MON_PORT"

failed_step="OSD (memstore)"
OSD_UUID=$(uuidgen)
OSD_KEY=$(ceph-authtool --gen-print-key)
printf '{"cephx_secret": "%s"}' "$OSD_KEY" >"$DIR/osd/new.json"
OSD_ID=$(ceph osd new "$OSD_UUID" -i "$DIR/osd/new.json")
rm -f "$DIR/osd/new.json"
if [ "$OSD_ID" != 0 ]; then
  echo "rgw_up: expected osd.0, the monitor made osd.$OSD_ID" >&2
  exit 1
fi
ceph-authtool --create-keyring "$DIR/osd/keyring" --name osd.0 --add-key "$OSD_KEY" >/dev/null
ceph-osd -i 0 --mkfs --osd-uuid "$OSD_UUID" >"$DIR/log/osd-mkfs.out" 2>&1
ceph-osd -c "$CONF" -i 0 >>"$DIR/log/daemons.out" 2>&1
osd_up() { ceph osd dump | grep -q '^osd.0 up'; }
wait_until 60 "osd.0" osd_up
log "osd.0 up"

failed_step="radosgw"
ceph auth get-or-create client.rgw.a mon 'allow rw' osd 'allow rwx' -o "$DIR/rgw/keyring" >/dev/null
ceph auth get-or-create client.rgw.b mon 'allow rw' osd 'allow rwx' >>"$DIR/rgw/keyring"
radosgw -c "$CONF" -n client.rgw.a >>"$DIR/log/daemons.out" 2>&1
wait_until 60 "radosgw a on port $RGW_PORT" curl -sf -o /dev/null "http://127.0.0.1:$RGW_PORT/"
# The second gateway starts once the first created the pools.
radosgw -c "$CONF" -n client.rgw.b >>"$DIR/log/daemons.out" 2>&1
wait_until 60 "radosgw b on port $RGW_PORT_B" curl -sf -o /dev/null "http://127.0.0.1:$RGW_PORT_B/"
log "radosgw up on ports $RGW_PORT and $RGW_PORT_B"

failed_step="S3 user and bucket"
radosgw-admin user create --uid=snapvol-e2e --display-name=snapvol-e2e \
  --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" >/dev/null
# Signed like the client under test: SigV4 with an unsigned payload.
code=$(curl -s -o "$DIR/log/create-bucket.out" -w '%{http_code}' -X PUT \
  -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' --aws-sigv4 "aws:amz:$REGION:s3" \
  --user "$ACCESS_KEY:$SECRET_KEY" "http://127.0.0.1:$RGW_PORT/$BUCKET")
if [ "$code" != 200 ]; then
  echo "rgw_up: creating bucket $BUCKET answered HTTP $code" >&2
  exit 1
fi

failed_step="env file"
PID_B=$(cat "$DIR/run/client.rgw.b.pid")
umask 077
cat >"$ENV_FILE.tmp" <<ENV
SNAPVOL_S3_ENDPOINT=http://127.0.0.1:$RGW_PORT
SNAPVOL_S3_ENDPOINT_B=http://127.0.0.1:$RGW_PORT_B
SNAPVOL_S3_PID_B=$PID_B
SNAPVOL_S3_REGION=$REGION
SNAPVOL_S3_BUCKET=$BUCKET
SNAPVOL_S3_ACCESS_KEY=$ACCESS_KEY
SNAPVOL_S3_SECRET_KEY=$SECRET_KEY
ENV
mv "$ENV_FILE.tmp" "$ENV_FILE"
log "ready: $ENV_FILE"
