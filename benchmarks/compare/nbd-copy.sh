#!/usr/bin/env bash
# Side by side: `whitesky-migrate nbd copy` against `nbdcopy` (both with defaults, no --flush), copying a
# 4 GiB sparse raw file holding ~1 GiB of random data in ~1 MiB runs into a fresh `nbdkit memory 4G`
# (a new nbdkit for every run). Prints one line per case:
#   RESULT case=<name> sdk_s=<median s> peer=nbdcopy peer_s=<median s> ratio=<peer_s/sdk_s>
# or `RESULT case=<name> error=<why>` when the SDK cannot run that case (tls-psk until TLS-PSK lands).
# The first timed SDK run of every case is checked: the target is read back with nbdcopy and compared with cmp.
# Each case starts with one untimed copy per tool.
#
# Environment: RUNS (default 5), CASES (default "plain-unix plain-tcp delay-write-10ms tls-psk"),
# WORK (default benchmarks/compare/work/nbd-copy, git-ignored), SDK_ARGS (extra `nbd copy` options for
# tuning, e.g. "--request-size 1M --connections 2"), SKIP_BUILD=1 to reuse the last build.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

RUNS=${RUNS:-5}
CASES=${CASES:-plain-unix plain-tcp delay-write-10ms tls-psk}
WORK=${WORK:-$here/work/nbd-copy}
SDK_ARGS=${SDK_ARGS:-}
SIZE=4294967296

for tool in nbdkit nbdcopy dotnet python3 cmp awk; do
  command -v "$tool" >/dev/null 2>&1 || { echo "nbd-copy.sh: $tool is required (nbdkit, libnbd-bin, the .NET SDK)" >&2; exit 1; }
done
mkdir -p "$WORK"
sockets=$(mktemp -d "${TMPDIR:-/tmp}/nbd-copy-bench.XXXXXX")
trap 'stop_nbdkit; rm -rf "$sockets" "$WORK/readback.raw"' EXIT

SDK=$(build_sdk "$WORK")
SOURCE="$WORK/source.raw"
make_copy_source "$SOURCE"
PSK="$WORK/keys.psk"
make_psk_file "$PSK"

# Starts a fresh target for a case and sets URI.
serve() {
  local port
  case "$1" in
    plain-unix)
      rm -f "$sockets/nbd.sock"
      start_nbdkit -U "$sockets/nbd.sock" memory 4G
      URI="nbd+unix:///?socket=$sockets/nbd.sock" ;;
    plain-tcp)
      port=$(free_port)
      start_nbdkit -i 127.0.0.1 -p "$port" memory 4G
      URI="nbd://127.0.0.1:$port/" ;;
    delay-write-10ms)
      rm -f "$sockets/nbd.sock"
      start_nbdkit -U "$sockets/nbd.sock" --filter=delay memory 4G delay-write=10ms
      URI="nbd+unix:///?socket=$sockets/nbd.sock" ;;
    tls-psk)
      port=$(free_port)
      start_nbdkit -i 127.0.0.1 -p "$port" --tls=require --tls-psk="$PSK" memory 4G
      URI="nbds://bench@127.0.0.1:$port/?tls-psk-file=$PSK" ;;
    *)
      echo "nbd-copy.sh: unknown case $1" >&2
      return 1 ;;
  esac
}

# Reads the target back and compares it with the source, byte for byte.
verify() {
  rm -f "$WORK/readback.raw"
  nbdcopy "$URI" "$WORK/readback.raw" && cmp "$SOURCE" "$WORK/readback.raw"
  local status=$?
  rm -f "$WORK/readback.raw"
  return "$status"
}

log="$WORK/last-run.log"
for case in $CASES; do
  sdk_times=()
  peer_times=()
  error=
  # One untimed copy with each tool first: the first copy after a 4 GiB target was freed is often slow for either.
  for tool in "$SDK nbd copy" nbdcopy; do
    serve "$case"
    # shellcheck disable=SC2086 # the tool is a command and its options
    $tool "$SOURCE" "$URI" >/dev/null 2>&1 || true
    stop_nbdkit
  done
  for run in $(seq 1 "$RUNS"); do
    serve "$case"
    : >"$log"
    # shellcheck disable=SC2086 # SDK_ARGS is a list of options
    if t=$(TIME_LOG="$log" time_command "$SDK" nbd copy $SDK_ARGS "$SOURCE" "$URI"); then
      sdk_times+=("$t")
    else
      error=$(grep -m 1 -E '^whitesky-migrate: |[Ee]rror|must' "$log" || grep -m 1 . "$log" || echo "exit status $?")
      error=${error#whitesky-migrate: }
      stop_nbdkit
      break
    fi
    if [ "$run" = 1 ] && ! verify; then
      error="the target differs from the source after the SDK's copy"
      stop_nbdkit
      break
    fi
    stop_nbdkit

    serve "$case"
    if ! t=$(TIME_LOG="$log" time_command nbdcopy "$SOURCE" "$URI"); then
      error="nbdcopy failed: $(tail -n 1 "$log")"
      stop_nbdkit
      break
    fi
    peer_times+=("$t")
    stop_nbdkit
    echo "nbd-copy.sh: $case run $run: sdk ${sdk_times[-1]} s, nbdcopy $t s" >&2
  done

  report_case "$case" nbdcopy "$error" "${sdk_times[*]}" "${peer_times[*]}"
done
