#!/usr/bin/env bash
# Nearly-online migration (issue 9): the NearlyOnline sample with 1 GiB source disks (a quarter of them data) and
# guests writing 4 KiB blocks at a steady rate while they replicate, cut over into the embedded emulator.
# Measures per run: the cutover downtime (first source stop to last validation), and per incremental pass the bytes
# sent vs the bytes the change source found changed vs the bytes the guest actually changed (distinct 4 KiB blocks
# written between two scans). Side by side, the offline alternative's floor: the downtime of a full copy of the
# same two disks (`qemu-img convert` of each 1 GiB qcow2 to raw, the sources stopped for the whole copy).
# Prints:
#   RESULT case=downtime sdk_s=<median downtime> peer=qemu-img-convert peer_s=<median full copy of both disks> ratio=<peer_s/sdk_s>
#   RESULT case=pass-bytes sent=<bytes> changed=<bytes> guest_changed=<bytes> sent_per_changed=<r> sent_per_guest_changed=<r>
#
# Environment: RUNS (default 3), SIZE (default 1G), RATE (default 4M bytes/s per guest), WORK (default
# benchmarks/compare/work/replication, git-ignored), SKIP_BUILD=1 to reuse the last build.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
root=$(cd "$here/../.." && pwd)

RUNS=${RUNS:-3}
SIZE=${SIZE:-1G}
RATE=${RATE:-4M}
WORK=${WORK:-$here/work/replication}
mkdir -p "$WORK"
for tool in qemu-img qemu-io qemu-nbd python3 dotnet; do
  command -v "$tool" >/dev/null 2>&1 || { echo "replication.sh: $tool is required" >&2; exit 1; }
done

sample="$root/samples/Whitesky.Samples.NearlyOnline"
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  dotnet build "$sample" -c Release -v q -nologo >"$WORK/build.log" 2>&1 || { cat "$WORK/build.log" >&2; exit 1; }
fi
dll="$sample/bin/Release/net10.0/Whitesky.Samples.NearlyOnline.dll"

downtimes=()
copies=()
for run in $(seq 1 "$RUNS"); do
  json="$WORK/run-$run.json"
  dotnet "$dll" --size "$SIZE" --rate "$RATE" --json "$json" >"$WORK/run-$run.log" 2>&1 || { cat "$WORK/run-$run.log" >&2; exit 1; }
  downtimes+=("$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["succeeded"] and d["equal"], d; print(d["downtime_seconds"])' "$json")")

  # The offline floor: both disks copied whole while stopped.
  rm -f "$WORK"/offline-*.qcow2 "$WORK"/offline-*.raw
  for vm in web db; do
    qemu-img create -q -f qcow2 "$WORK/offline-$vm.qcow2" "$SIZE"
    bytes=$(python3 -c 'import sys; s=sys.argv[1]; u={"K":1<<10,"M":1<<20,"G":1<<30}; print((int(s[:-1])*u[s[-1]] if s[-1] in u else int(s))//4)' "$SIZE")
    qemu-io -f qcow2 -c "write -P 0x5a 0 $bytes" "$WORK/offline-$vm.qcow2" >/dev/null
  done
  sync
  copies+=("$(time_command bash -c "qemu-img convert -O raw '$WORK/offline-web.qcow2' '$WORK/offline-web.raw' & qemu-img convert -O raw '$WORK/offline-db.qcow2' '$WORK/offline-db.raw'; wait")")
done

sdk=$(median "${downtimes[@]}")
peer=$(median "${copies[@]}")
echo "RESULT case=downtime sdk_s=$sdk peer=qemu-img-convert peer_s=$peer ratio=$(ratio "$peer" "$sdk")"

# Incremental passes of every run (the final sync included; the initial sync is not a delta).
python3 - "$WORK" "$RUNS" <<'PY'
import json, sys
work, runs = sys.argv[1], int(sys.argv[2])
sent = changed = guest = 0
for run in range(1, runs + 1):
    d = json.load(open(f"{work}/run-{run}.json"))
    for vm in d["vms"]:
        for p in vm["passes"]:
            if p["pass"] == 0:
                continue
            sent += p["sent_bytes"]; changed += p["changed_bytes"]; guest += p["guest_changed_bytes"]
print(f"RESULT case=pass-bytes sent={sent} changed={changed} guest_changed={guest} "
      f"sent_per_changed={sent / changed:.3f} sent_per_guest_changed={sent / guest:.3f}")
PY
