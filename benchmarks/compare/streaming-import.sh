#!/usr/bin/env bash
# Side by side, the whole streaming import of a qcow2 (1 GiB virtual, ~256 MiB of random data in ~1 MiB runs) into
# a fresh disk of `whitesky-migrate emulator`, over TLS-PSK through the exposure's public endpoint:
#   sdk:  `whitesky-migrate import disk SOURCE --url ...` (create disk, expose, transfer, GPT check, unexpose), and
#   peer: the same REST calls with curl around `qemu-img convert -n --target-is-zero -W -m 16` into the exposure.
# Both wall times include the REST calls; the SDK's also includes the .NET start of the CLI. A fresh disk per run;
# the first run of each is compared with the source (cmp of the disk file against qemu-img convert -O raw).
#   RESULT case=import sdk_s=<median s> peer=qemu-img peer_s=<median s> ratio=<peer_s/sdk_s>
#
# Environment: RUNS (default 5), WORK (default benchmarks/compare/work/streaming-import, git-ignored),
# SKIP_BUILD=1 to reuse the last build.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

RUNS=${RUNS:-5}
WORK=${WORK:-$here/work/streaming-import}
for tool in nbdkit nbdcopy qemu-img dotnet curl jq cmp awk; do
  command -v "$tool" >/dev/null 2>&1 || { echo "streaming-import.sh: $tool is required" >&2; exit 1; }
done
mkdir -p "$WORK"
trap 'stop_emulator; wait 2>/dev/null; rm -rf "$WORK/data" "$WORK/psk"' EXIT

SDK=$(build_sdk "$WORK")
SOURCE="$WORK/source.qcow2"
if [ ! -f "$SOURCE" ]; then
  echo "streaming-import.sh: making $SOURCE" >&2
  nbdkit -U - sparse-random 1G seed=3 percent=25 runlength=1048576 random-content=true --run "nbdcopy \"\$uri\" '$WORK/source.raw'"
  qemu-img convert -f raw -O qcow2 "$WORK/source.raw" "$SOURCE"
fi
[ -f "$WORK/source.raw" ] || qemu-img convert -O raw "$SOURCE" "$WORK/source.raw"
cat "$SOURCE" >/dev/null

start_emulator

# The peer's import: create, expose, qemu-img into the exposure, unexpose. Prints the disk id.
peer_import() {
  local disk answer user
  disk=$(api POST "$LOCATION/disks?disk_name=peer&description=peer&disk_size=1" | jq -r .disk_id)
  answer=$(api POST "$CLOUDSPACE/exposed-disks?disk_id=$disk&max_connections=4")
  user=$(jq -r .endpoint.user <<<"$answer")
  mkdir -p "$WORK/psk"; printf '%s:%s\n' "$user" "$(jq -r .endpoint.psk <<<"$answer")" >"$WORK/psk/keys.psk"
  qemu-img convert -n --target-is-zero -W -m 16 --object "tls-creds-psk,id=tls0,endpoint=client,dir=$WORK/psk,username=$user" \
    "$SOURCE" --target-image-opts \
    "driver=nbd,server.type=inet,server.host=127.0.0.1,server.port=$(jq -r .endpoint.port <<<"$answer"),export=$(jq -r .endpoint.name <<<"$answer"),tls-creds=tls0" >&2 || return 1
  api DELETE "$CLOUDSPACE/exposed-disks/$disk" >/dev/null
  echo "$disk"
}

check() { # disk-id → non-empty when the disk file differs from the source
  cmp -s -n "$(stat -c %s "$WORK/source.raw")" "$WORK/source.raw" "$WORK/data/disks/disk-$1.raw" || echo differs
}

sdk_times=() peer_times=() error=
for run in $(seq 0 "$RUNS"); do
  start=$(date +%s%N)
  out=$("$SDK" import disk "$SOURCE" --json --no-gpt-relocation --url "$WHITESKY_BASE_URL" --customer "$WHITESKY_CUSTOMER_ID" \
    --cloudspace "$WHITESKY_CLOUDSPACE_ID" --location "$WHITESKY_LOCATION" --token "$WHITESKY_JWT") || { error=sdk-import-failed; break; }
  end=$(date +%s%N)
  disk=$(jq -r '.disks[0].disk_id' <<<"$out")
  [ "$run" = 1 ] && [ -n "$(check "$disk")" ] && error=sdk-disk-differs
  api DELETE "$LOCATION/disks/$disk?permanently=true" >/dev/null
  [ "$run" -gt 0 ] && sdk_times+=("$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.3f\n", (e - s) / 1e9 }')")

  start=$(date +%s%N)
  disk=$(peer_import) || { error=peer-import-failed; break; }
  end=$(date +%s%N)
  [ "$run" = 1 ] && [ -n "$(check "$disk")" ] && error=peer-disk-differs
  api DELETE "$LOCATION/disks/$disk?permanently=true" >/dev/null
  [ "$run" -gt 0 ] && peer_times+=("$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.3f\n", (e - s) / 1e9 }')")
done
echo "import: sdk ${sdk_times[*]} / qemu-img ${peer_times[*]}" >&2
report_case import qemu-img "$error" "${sdk_times[*]}" "${peer_times[*]}"
