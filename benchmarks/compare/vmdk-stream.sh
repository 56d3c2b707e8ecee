#!/usr/bin/env bash
# Side by side: writing a streamOptimized VMDK (the disk of an OVA). The SDK's StreamOptimizedVmdkWriter
# (benchmarks/compare/ova-build, deflate "fastest", grains compressed in parallel) against
# `qemu-img convert -O vmdk -o subformat=streamOptimized` on the same source: 2 GiB virtual with 1 GiB of
# data in 1 MiB runs, each run half random and half text. Checks once that both VMDKs read back (qemu-img
# convert -O raw) equal to the source, then prints
#   RESULT case=<case> sdk_s=<median s> peer=qemu-img peer_s=<median s> ratio=<peer_s/sdk_s>
#   CPU sdk_cpu_s=<median user+sys s> qemu_img_cpu_s=<median user+sys s>
#   SIZES sdk_bytes=<n> qemu_img_bytes=<n>
# (CPU time is the steadier figure on a shared machine: wall time there is mostly waiting for a core.)
#
# Environment: RUNS (default 5), WORK (default benchmarks/compare/work/vmdk-stream, git-ignored),
# SKIP_BUILD=1 to reuse the last build.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

RUNS=${RUNS:-5}
WORK=${WORK:-$here/work/vmdk-stream}
SIZE=2147483648
mkdir -p "$WORK"
for tool in qemu-img python3 dotnet cmp /usr/bin/time; do
  command -v "$tool" >/dev/null 2>&1 || { echo "vmdk-stream.sh: $tool is required" >&2; exit 1; }
done

if [ "${SKIP_BUILD:-0}" != 1 ] || [ ! -x "$WORK/bin/OvaBuild" ]; then
  echo "vmdk-stream.sh: building benchmarks/compare/ova-build (Release, ReadyToRun)" >&2
  dotnet publish "$here/ova-build/OvaBuild.csproj" -c Release -r linux-x64 --self-contained false \
    -p:PublishReadyToRun=true -o "$WORK/bin" -nologo -v quiet >&2
fi
SDK="$WORK/bin/OvaBuild"

SOURCE="$WORK/source.raw"
if [ ! -f "$SOURCE" ]; then
  echo "vmdk-stream.sh: making $SOURCE (2 GiB sparse, 1 GiB of data in 1 MiB runs, half random, half text)" >&2
  python3 - "$SOURCE" "$SIZE" <<'PY'
import random, sys
path, size = sys.argv[1], int(sys.argv[2])
rng = random.Random(1)
text = b"".join(b"block %08d of a virtual disk; the quick brown fox jumps over the lazy dog.\n" % i for i in range(8000))[:512 * 1024]
with open(path, "wb") as f:
    f.truncate(size)
    for run in range(0, size // (1 << 20), 2):
        f.seek(run << 20)
        f.write(rng.randbytes(512 * 1024) + text)
PY
fi
cat "$SOURCE" >/dev/null

# Correctness first: both VMDKs decode (by qemu-img) to the source.
"$SDK" vmdk "$SOURCE" "$WORK/ours.vmdk" >/dev/null
qemu-img convert -f raw -O vmdk -o subformat=streamOptimized "$SOURCE" "$WORK/theirs.vmdk"
for vmdk in ours theirs; do
  qemu-img convert -f vmdk -O raw "$WORK/$vmdk.vmdk" "$WORK/check.raw"
  if ! cmp -s "$WORK/check.raw" "$SOURCE"; then
    report_case raw-to-vmdk-stream qemu-img "$vmdk.vmdk does not read back as the source"
    exit 1
  fi
done
rm -f "$WORK/check.raw"
echo "vmdk-stream.sh: sizes: sdk $(stat -c %s "$WORK/ours.vmdk") bytes, qemu-img $(stat -c %s "$WORK/theirs.vmdk") bytes" >&2

# Prints "wall cpu" (seconds) of a command; its output is discarded.
wall_and_cpu() {
  local out
  out=$(mktemp)
  /usr/bin/time -f "%e %U %S" -o "$out" "$@" >/dev/null 2>&1
  awk '{ printf "%.3f %.3f\n", $1, $2 + $3 }' "$out"
  rm -f "$out"
}

sdk_times=() peer_times=() sdk_cpu=() peer_cpu=()
for run in $(seq "$RUNS"); do
  read -r sdk sdkc < <(wall_and_cpu "$SDK" vmdk "$SOURCE" "$WORK/ours.vmdk")
  read -r peer peerc < <(wall_and_cpu qemu-img convert -f raw -O vmdk -o subformat=streamOptimized "$SOURCE" "$WORK/theirs.vmdk")
  echo "vmdk-stream.sh: run $run: sdk $sdk s ($sdkc s cpu), qemu-img $peer s ($peerc s cpu), load $(cut -d' ' -f1 /proc/loadavg)" >&2
  sdk_times+=("$sdk") peer_times+=("$peer") sdk_cpu+=("$sdkc") peer_cpu+=("$peerc")
done
report_case raw-to-vmdk-stream qemu-img "" "${sdk_times[*]}" "${peer_times[*]}"
# shellcheck disable=SC2086
echo "CPU sdk_cpu_s=$(median ${sdk_cpu[*]}) qemu_img_cpu_s=$(median ${peer_cpu[*]})"
echo "SIZES sdk_bytes=$(stat -c %s "$WORK/ours.vmdk") qemu_img_bytes=$(stat -c %s "$WORK/theirs.vmdk")"
