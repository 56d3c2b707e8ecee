#!/usr/bin/env bash
# Side by side: decoding disk images to nowhere. `whitesky-migrate convert IMAGE --null` against
# `qemu-img convert -n ... --target-image-opts driver=null-co` on the same images: 2 GiB virtual with
# 1 GiB of data in 1 MiB runs, each run half random and half text (so compression has work to do).
# Prints one line per format:
#   RESULT case=<format> sdk_s=<median s> peer=qemu-img peer_s=<median s> ratio=<peer_s/sdk_s>
# and checks once per format that `whitesky-migrate convert` writes exactly what `qemu-img convert` writes.
#
# Environment: RUNS (default 5), CASES (default: every format below), WORK (default
# benchmarks/compare/work/disk-decode, git-ignored), SKIP_BUILD=1 to reuse the last build.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

RUNS=${RUNS:-5}
CASES=${CASES:-raw qcow2 qcow2-zlib qcow2-zstd vmdk-sparse vmdk-stream vhd vhdx vdi}
WORK=${WORK:-$here/work/disk-decode}
SIZE=2147483648
mkdir -p "$WORK"

for tool in qemu-img python3 dotnet cmp; do
  command -v "$tool" >/dev/null 2>&1 || { echo "disk-decode.sh: $tool is required" >&2; exit 1; }
done

SDK=$(build_sdk "$WORK")

SOURCE="$WORK/source.raw"
make_decode_source "$SOURCE" "$SIZE"

image_for() {
  local case=$1 image
  case "$case" in
    raw) image="$SOURCE" ;;
    qcow2) image="$WORK/disk.qcow2"; [ -f "$image" ] || qemu-img convert -f raw -O qcow2 "$SOURCE" "$image" ;;
    qcow2-zlib) image="$WORK/disk-zlib.qcow2"; [ -f "$image" ] || qemu-img convert -c -f raw -O qcow2 -o compression_type=zlib "$SOURCE" "$image" ;;
    qcow2-zstd) image="$WORK/disk-zstd.qcow2"; [ -f "$image" ] || qemu-img convert -c -f raw -O qcow2 -o compression_type=zstd "$SOURCE" "$image" ;;
    vmdk-sparse) image="$WORK/disk-sparse.vmdk"; [ -f "$image" ] || qemu-img convert -f raw -O vmdk -o subformat=monolithicSparse "$SOURCE" "$image" ;;
    vmdk-stream) image="$WORK/disk-stream.vmdk"; [ -f "$image" ] || qemu-img convert -f raw -O vmdk -o subformat=streamOptimized "$SOURCE" "$image" ;;
    vhd) image="$WORK/disk-dynamic.vhd"; [ -f "$image" ] || qemu-img convert -f raw -O vpc -o subformat=dynamic,force_size=on "$SOURCE" "$image" ;;
    vdi) image="$WORK/disk-dynamic.vdi"; [ -f "$image" ] || qemu-img convert -f raw -O vdi -o static=off "$SOURCE" "$image" ;;
    vhdx) image="$WORK/disk.vhdx"; [ -f "$image" ] || qemu-img convert -f raw -O vhdx -o subformat=dynamic "$SOURCE" "$image" ;;
    *) echo "disk-decode.sh: unknown case $case" >&2; return 1 ;;
  esac
  echo "$image"
}

format_of() { case "$1" in raw) echo raw ;; qcow2*) echo qcow2 ;; vmdk*) echo vmdk ;; vhdx*) echo vhdx ;; vhd) echo vhd ;; vdi) echo vdi ;; esac; }
# qemu's name for the format (it calls VHD "vpc").
peer_format_of() { case "$1" in vhd) echo vpc ;; *) format_of "$1" ;; esac; }

for case in $CASES; do
  image=$(image_for "$case")
  format=$(format_of "$case")
  peer_format=$(peer_format_of "$case")

  # Correctness first: our conversion must equal qemu-img's.
  rm -f "$WORK/ours.raw" "$WORK/theirs.raw"
  "$SDK" convert "$image" "$WORK/ours.raw" -f "$format" 2>/dev/null
  qemu-img convert -f "$peer_format" -O raw "$image" "$WORK/theirs.raw"
  if ! cmp -s "$WORK/ours.raw" "$WORK/theirs.raw"; then
    report_case "$case" qemu-img "the SDK's conversion differs from qemu-img's"
    continue
  fi
  rm -f "$WORK/ours.raw" "$WORK/theirs.raw"

  cat "$image" >/dev/null   # both read from the page cache
  sdk_times=() peer_times=()
  for run in $(seq "$RUNS"); do
    sdk=$(time_command "$SDK" convert "$image" --null -f "$format")
    peer=$(time_command qemu-img convert -n -f "$peer_format" "$image" --target-image-opts "driver=null-co,size=$SIZE")
    echo "disk-decode.sh: $case run $run: sdk $sdk s, qemu-img $peer s" >&2
    sdk_times+=("$sdk") peer_times+=("$peer")
  done
  report_case "$case" qemu-img "" "${sdk_times[*]}" "${peer_times[*]}"
done
