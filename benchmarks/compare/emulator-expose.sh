#!/usr/bin/env bash
# Side by side as the target of an exposed disk: `nbdcopy` (defaults) copies a 1 GiB sparse raw file (~256 MiB of
# random data in ~1 MiB runs) over TLS-PSK into a disk exposed by `whitesky-migrate emulator` — through the
# exposure's public endpoint (a byte relay in front of the SDK's NbdServer) and through its private endpoint
# (the NbdServer itself) — and into `nbdkit --tls=require --tls-psk file` serving a fresh sparse 1 GiB file.
# A fresh disk (created and exposed over the REST API) or file for every run. Prints one line per case:
#   RESULT case=<name> sdk_s=<median s> peer=nbdkit-file peer_s=<median s> ratio=<peer_s/sdk_s>
# The first run of every case is checked: the disk file is compared with the source (cmp).
#
# Environment: RUNS (default 5), CASES (default "public private"), WORK (default
# benchmarks/compare/work/emulator-expose, git-ignored), SKIP_BUILD=1 to reuse the last build.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

RUNS=${RUNS:-5}
CASES=${CASES:-public private}
WORK=${WORK:-$here/work/emulator-expose}

for tool in nbdkit nbdcopy dotnet python3 curl jq cmp awk; do
  command -v "$tool" >/dev/null 2>&1 || { echo "emulator-expose.sh: $tool is required" >&2; exit 1; }
done
mkdir -p "$WORK"
trap 'stop_emulator; stop_nbdkit; rm -rf "$WORK/data" "$WORK/target.raw"' EXIT

SDK=$(build_sdk "$WORK")
SOURCE="$WORK/source.raw"
if [ ! -f "$SOURCE" ]; then
  echo "emulator-expose.sh: making $SOURCE (1 GiB sparse, ~25% random data in ~1 MiB runs)" >&2
  nbdkit -U - sparse-random 1G seed=1 percent=25 runlength=1048576 random-content=true --run "nbdcopy \"\$uri\" '$SOURCE.tmp'"
  mv "$SOURCE.tmp" "$SOURCE"
fi
cat "$SOURCE" >/dev/null
PSK="$WORK/keys.psk"
make_psk_file "$PSK"

# The emulator, once for the whole run.
start_emulator

# Creates and exposes a fresh 1 GiB disk; sets DISK_ID, URI (for the case) and DISK_FILE.
expose_fresh_disk() {
  local answer
  DISK_ID=$(api POST "$LOCATION/disks?disk_name=bench&description=bench&disk_size=1" | jq -r .disk_id)
  answer=$(api POST "$CLOUDSPACE/exposed-disks?disk_id=$DISK_ID")
  printf '%s:%s\n' "$(jq -r .endpoint.user <<<"$answer")" "$(jq -r .endpoint.psk <<<"$answer")" >"$WORK/exposure.psk"
  local port
  if [ "$1" = public ]; then port=$(jq -r .endpoint.port <<<"$answer"); else port=$(jq -r .endpoint.private_port <<<"$answer"); fi
  URI="nbds://$(jq -r .endpoint.user <<<"$answer")@127.0.0.1:$port/$(jq -r .endpoint.name <<<"$answer")?tls-psk-file=$WORK/exposure.psk"
  DISK_FILE="$WHITESKY_EMULATOR_DATA/disks/disk-$DISK_ID.raw"
}

drop_disk() {
  api DELETE "$CLOUDSPACE/exposed-disks/$DISK_ID" >/dev/null
  api DELETE "$LOCATION/disks/$DISK_ID?permanently=true" >/dev/null
}

for case in $CASES; do
  sdk_times=() peer_times=() error=
  for run in $(seq 0 "$RUNS"); do
    expose_fresh_disk "$case"
    t=$(time_command nbdcopy "$SOURCE" "$URI") || { error="nbdcopy-into-emulator-failed"; drop_disk; break; }
    if [ "$run" = 1 ] && ! cmp -s "$SOURCE" "$DISK_FILE"; then error="emulator-disk-differs"; fi
    drop_disk
    [ "$run" -gt 0 ] && sdk_times+=("$t")

    rm -f "$WORK/target.raw"; truncate -s 1G "$WORK/target.raw"
    port=$(free_port)
    start_nbdkit --tls=require --tls-psk="$PSK" -i 127.0.0.1 -p "$port" file "$WORK/target.raw"
    t=$(time_command nbdcopy "$SOURCE" "nbds://bench@127.0.0.1:$port/?tls-psk-file=$PSK") || { error="nbdcopy-into-nbdkit-failed"; stop_nbdkit; break; }
    stop_nbdkit
    if [ "$run" = 1 ] && ! cmp -s "$SOURCE" "$WORK/target.raw"; then error="nbdkit-file-differs"; fi
    [ "$run" -gt 0 ] && peer_times+=("$t")
  done
  echo "$case: emulator ${sdk_times[*]} / nbdkit ${peer_times[*]}" >&2
  report_case "$case" nbdkit-file "$error" "${sdk_times[*]}" "${peer_times[*]}"
done
