#!/usr/bin/env bash
# Side by side: decoding a streamOptimized VMDK that arrives through a pipe. `cat IMAGE | whitesky-migrate convert - --null`
# (one forward pass over a pipe, as an OVA being downloaded) against `qemu-img convert -n ... driver=null-co` reading
# the same file from disk (qemu-img cannot read a pipe). The image is 2 GiB virtual with 1 GiB of data in 1 MiB runs,
# each run half random and half text (the same source as disk-decode.sh). Prints one line per case:
#   RESULT case=<case> sdk_s=<median s> peer=qemu-img peer_s=<median s> ratio=<peer_s/sdk_s>
# Cases: vmdk-stream (the bare VMDK on the pipe), ova (the VMDK inside an OVA made by tar), ova-gz (that OVA gzipped;
# qemu-img still reads the uncompressed VMDK file). Each case first checks that the SDK writes what qemu-img writes.
#
# Environment: RUNS (default 5), CASES (default: all three), WORK (default benchmarks/compare/work/stream-decode,
# git-ignored), SKIP_BUILD=1 to reuse the last build.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

RUNS=${RUNS:-5}
CASES=${CASES:-vmdk-stream ova ova-gz}
WORK=${WORK:-$here/work/stream-decode}
SIZE=2147483648
DATA_MIB=1024
mkdir -p "$WORK"

for tool in qemu-img python3 dotnet cmp tar gzip; do
  command -v "$tool" >/dev/null 2>&1 || { echo "stream-decode.sh: $tool is required" >&2; exit 1; }
done

SDK=$(build_sdk "$WORK")

SOURCE="$WORK/source.raw"
make_decode_source "$SOURCE" "$SIZE"

VMDK="$WORK/disk.vmdk"
[ -f "$VMDK" ] || qemu-img convert -f raw -O vmdk -o subformat=streamOptimized "$SOURCE" "$VMDK"
OVA="$WORK/vm.ova"
if [ ! -f "$OVA" ]; then
  printf '<Envelope/>\n' >"$WORK/vm.ovf"
  tar --format=ustar -cf "$OVA" -C "$WORK" vm.ovf disk.vmdk
fi
[ -f "$OVA.gz" ] || gzip -k -1 "$OVA"

input_for() {
  case "$1" in
    vmdk-stream) echo "$VMDK" ;;
    ova) echo "$OVA" ;;
    ova-gz) echo "$OVA.gz" ;;
    *) echo "stream-decode.sh: unknown case $1" >&2; return 1 ;;
  esac
}

qemu-img convert -f vmdk -O raw "$VMDK" "$WORK/theirs.raw"
for case in $CASES; do
  input=$(input_for "$case")

  # Correctness first: what the SDK decodes from the pipe must equal qemu-img's conversion of the file.
  rm -f "$WORK/ours.raw"
  cat "$input" | "$SDK" convert - "$WORK/ours.raw" 2>/dev/null
  if ! cmp -s "$WORK/ours.raw" "$WORK/theirs.raw"; then
    report_case "$case" qemu-img "the SDK's conversion of the pipe differs from qemu-img's"
    continue
  fi
  rm -f "$WORK/ours.raw"

  cat "$input" "$VMDK" >/dev/null   # both read from the page cache
  sdk_times=() peer_times=()
  for run in $(seq "$RUNS"); do
    sdk=$(time_command bash -c 'cat "$1" | "$2" convert - --null' _ "$input" "$SDK")
    peer=$(time_command qemu-img convert -n -f vmdk "$VMDK" --target-image-opts "driver=null-co,size=$SIZE")
    echo "stream-decode.sh: $case run $run: sdk $sdk s, qemu-img $peer s" >&2
    sdk_times+=("$sdk") peer_times+=("$peer")
  done
  report_case "$case" qemu-img "" "${sdk_times[*]}" "${peer_times[*]}"
  sdk_median=$(median "${sdk_times[@]}") peer_median=$(median "${peer_times[@]}")
  echo "RATE case=$case sdk_mib_s=$(ratio "$DATA_MIB" "$sdk_median") peer_mib_s=$(ratio "$DATA_MIB" "$peer_median")"
done
rm -f "$WORK/theirs.raw"
