#!/bin/bash
# What snapvol-hook adds to a container's start and stop (issue 14 target:
# <= 150 ms per volume): `runc run` of a container that runs `true`, with
# the hook and 1 or 2 snapvol volumes, against the same container without
# the hook, measured in one run, alternating. Prints medians and ratios.
#
#   bash bench/oci_hook_bench.sh [RUNS]   (default 20; needs root, runc,
#   busybox-static and a build in build/)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
RUNS=${1:-20}
BUILD=${SNAPVOL_BUILD_DIR:-build}
for b in snapvol-hook snapvol-agent snapvol-mount; do
  find "$BUILD" -name "$b" -type f -perm -u+x | grep -q . || { echo "build $b first" >&2; exit 1; }
done
HOOK=$(readlink -f "$(find "$BUILD" -name snapvol-hook -type f | head -1)")
AGENT=$(readlink -f "$(find "$BUILD" -name snapvol-agent -type f | head -1)")
SERVER=$(readlink -f "$(find "$BUILD" -name snapvol-mount -type f | head -1)")
DIR=$(mktemp -d /tmp/snapvol-oci-bench.XXXXXX)
AGENT_PID=
cleanup() {
  [ -n "$AGENT_PID" ] && kill "$AGENT_PID" 2>/dev/null && wait "$AGENT_PID" 2>/dev/null || true
  rm -rf "$DIR"
}
trap cleanup EXIT
mkdir -p "$DIR/rootfs/bin" "$DIR/rootfs/proc" "$DIR/rootfs/dev" "$DIR/store" "$DIR/runc"
chmod 700 "$DIR/store"
cp /bin/busybox "$DIR/rootfs/bin/"
ln -s busybox "$DIR/rootfs/bin/true"
"$AGENT" --store "$DIR/store" --socket "$DIR/agent.sock" --server-binary "$SERVER" \
  >"$DIR/agent.log" 2>&1 &
AGENT_PID=$!
for _ in $(seq 100); do [ -S "$DIR/agent.sock" ] && break; sleep 0.05; done

bundle() {  # NAME VOLUMES ("" = no hook)
  mkdir -p "$DIR/$1"
  python3 - "$DIR" "$1" "$2" "$HOOK" <<'PY'
import json, sys
d, name, vols, hook = sys.argv[1:]
c = {"ociVersion": "1.0.2",
     "process": {"terminal": False, "user": {"uid": 0, "gid": 0}, "args": ["true"],
                 "env": ["PATH=/bin"], "cwd": "/"},
     "root": {"path": d + "/rootfs"},
     "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}],
     "linux": {"namespaces": [{"type": t} for t in ("pid", "ipc", "uts", "mount")]}}
if vols:
    h = {"path": hook, "args": ["snapvol-hook"], "env": ["SNAPVOL_AGENT_SOCKET=" + d + "/agent.sock"]}
    c["hooks"] = {"createRuntime": [h], "poststop": [h]}
    c["annotations"] = {"snapvol.io/volumes": vols, "snapvol.io/create-if-missing": "true"}
json.dump(c, open(d + "/" + name + "/config.json", "w"))
PY
}
bundle plain ""
bundle one "bench1:/data"
bundle two "bench1:/data,bench2:/more"

ms_now() { echo $(( $(date +%s%N) / 1000000 )); }
run_once() {  # BUNDLE -> ms
  local t0 t1
  t0=$(ms_now)
  runc --root "$DIR/runc" run --bundle "$DIR/$1" "bench-$1-$RANDOM$RANDOM" >/dev/null 2>&1
  t1=$(ms_now)
  echo $((t1 - t0))
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2))}'; }

run_once plain >/dev/null; run_once one >/dev/null; run_once two >/dev/null  # warm up
: >"$DIR/plain.ms"; : >"$DIR/one.ms"; : >"$DIR/two.ms"
for _ in $(seq "$RUNS"); do
  for b in plain one two; do run_once "$b" >>"$DIR/$b.ms"; done
done
P=$(median <"$DIR/plain.ms"); O=$(median <"$DIR/one.ms"); T=$(median <"$DIR/two.ms")
echo "runc run of \`true\`, $RUNS runs each, alternating (median wall ms, start to stop incl. poststop):"
printf '  no hook            %5d ms\n' "$P"
printf '  hook, 1 volume     %5d ms   (+%d ms, %.2fx)\n' "$O" $((O - P)) "$(echo "$O / $P" | bc -l)"
printf '  hook, 2 volumes    %5d ms   (+%d ms, %.2fx; +%d ms per volume)\n' "$T" $((T - P)) \
  "$(echo "$T / $P" | bc -l)" $(((T - P) / 2))
