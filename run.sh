#!/usr/bin/env bash
# The main job: a complete streaming import (path B) into the embedded whitesky emulator, then a check of what landed.
#
#   ./run.sh                       makes a demo disk (GPT + EFI system partition, 256 MiB, qcow2) and imports it
#   ./run.sh IMAGE...              imports your images (raw, qcow2, vmdk, vhd, vhdx, vdi) into one new VM
#   ./run.sh --nbd-demo [IMAGE.raw [NBD-URI]]   the earlier demo: `whitesky-migrate nbd copy` into an nbdkit export
#
# With WHITESKY_URL, WHITESKY_TOKEN, WHITESKY_CUSTOMER, WHITESKY_CLOUDSPACE and WHITESKY_LOCATION set, the import goes
# to that whitesky instead (and the emulator-side check is skipped).
set -euo pipefail
cd "$(dirname "$0")"
./eng/install-peers.sh

work=$(mktemp -d "${TMPDIR:-/tmp}/whitesky-run.XXXXXX")
nbdkit_pid=
cleanup() { [ -n "$nbdkit_pid" ] && kill "$nbdkit_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

echo "run.sh: building whitesky-migrate" >&2
dotnet build samples/Whitesky.Migrate -c Release -nologo -v quiet -o "$work/bin" >&2
cli=(dotnet "$work/bin/whitesky-migrate.dll")

if [ "${1:-}" = "--nbd-demo" ]; then
  shift
  image=${1:-}
  if [ -z "$image" ]; then
    image="$work/demo.raw"
    echo "run.sh: making a demo image: 1 GiB sparse with 128 MiB of random data in 1 MiB runs" >&2
    nbdkit -U - sparse-random 1G seed=7 percent=12 runlength=1048576 --run "nbdcopy \"\$uri\" '$image'"
  fi
  uri=${2:-}
  if [ -z "$uri" ]; then
    size=$(stat -c %s "$image")
    sock="$work/nbd.sock"
    nbdkit --foreground --unix "$sock" memory "$size" &
    nbdkit_pid=$!
    for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
    uri="nbd+unix:///?socket=$sock"
    echo "run.sh: serving a fresh $size-byte nbdkit memory export at $uri" >&2
  fi
  "${cli[@]}" nbd copy "$image" "$uri" --progress
  "${cli[@]}" nbd info "$uri"
  src_sum=$(sha256sum < "$image" | cut -d' ' -f1)
  dst_sum=$(nbdcopy "$uri" - | head -c "$(stat -c %s "$image")" | sha256sum | cut -d' ' -f1)
  [ "$src_sum" = "$dst_sum" ] && echo "Verified with nbdcopy: the export holds exactly the image (sha256 $src_sum)." \
    || { echo "MISMATCH: image sha256 $src_sum, export sha256 $dst_sum" >&2; exit 1; }
  exit 0
fi

images=("$@")
if [ ${#images[@]} -eq 0 ]; then
  echo "run.sh: making a demo disk: 256 MiB, GPT with an EFI system partition (sfdisk), 48 MiB of random data, as qcow2" >&2
  truncate -s 256M "$work/demo.raw"
  printf 'label: gpt\nsize=32MiB, type=U\ntype=L\n' | sfdisk --quiet "$work/demo.raw"
  for offset in 4 40 100 180; do
    dd if=/dev/urandom of="$work/demo.raw" bs=1M seek="$offset" count=12 conv=notrunc status=none
  done
  qemu-img convert -f raw -O qcow2 "$work/demo.raw" "$work/demo.qcow2"
  images=("$work/demo.qcow2")
fi

for image in "${images[@]}"; do
  echo "== whitesky-migrate inspect $image"
  "${cli[@]}" inspect "$image"
done

echo "== whitesky-migrate import disk ${images[*]} --vm-name run-sh-demo"
"${cli[@]}" import disk "${images[@]}" --vm-name run-sh-demo --progress --emulator-data "$work/emulator"

if [ -n "${WHITESKY_URL:-}" ]; then
  exit 0
fi

# What landed in the emulator: the disk files, checked against qemu-img's reading of the sources.
echo "== checking the emulator's disk files against qemu-img convert -O raw of the sources"
mapfile -t disks < <(ls "$work"/emulator/disks/disk-*.raw | sort -V)
for i in "${!images[@]}"; do
  image=${images[$i]}; disk=${disks[$i]}
  qemu-img convert -O raw "$image" "$work/expected.raw"
  size=$(stat -c %s "$work/expected.raw")
  if sgdisk -v "$disk" 2>/dev/null | grep -q "No problems found"; then
    # A GPT disk: its backup header moved to the end of the (larger) disk, so compare the partitions' area.
    first=$((1 << 20)); length=$((size - first - 33 * 512))
    cmp --ignore-initial="$first" --bytes="$length" "$work/expected.raw" "$disk" \
      && echo "$(basename "$disk"): partition area identical to $image ($length bytes); sgdisk -v: No problems found (GPT backup at the disk's end)"
  else
    cmp --bytes="$size" "$work/expected.raw" "$disk" && echo "$(basename "$disk"): first $size bytes identical to $image"
  fi
  rm -f "$work/expected.raw"
done
