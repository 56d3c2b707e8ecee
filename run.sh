#!/usr/bin/env bash
# The main job, as far as the SDK goes today: stream the allocated data of a raw disk image into an NBD
# export with `whitesky-migrate nbd copy`, then show the export and its allocation map.
#
#   ./run.sh                      a demo: makes a 1 GiB sparse image, serves a fresh local nbdkit export, copies
#   ./run.sh IMAGE.raw            copies IMAGE.raw into a fresh local nbdkit export of its size
#   ./run.sh IMAGE.raw NBD-URI    copies into an export you name (nbd://, nbds://...?tls-psk-file=, nbd+unix://)
#
# Later issues grow this into the whole import against the embedded whitesky emulator.
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
echo "Allocation map of the export after the copy:"
"${cli[@]}" nbd info "$uri" --map | head -20
src_sum=$(sha256sum < "$image" | cut -d' ' -f1)
dst_sum=$(nbdcopy "$uri" - | head -c "$(stat -c %s "$image")" | sha256sum | cut -d' ' -f1)
if [ "$src_sum" = "$dst_sum" ]; then
  echo "Verified with nbdcopy: the export holds exactly the image (sha256 $src_sum)."
else
  echo "MISMATCH: image sha256 $src_sum, export sha256 $dst_sum" >&2
  exit 1
fi
