#!/usr/bin/env bash
# Side by side as NBD servers: `whitesky-migrate serve --memory 4G` against `nbdkit memory 4G`, both the target
# of the same client, `nbdcopy` (defaults, no --flush), copying the 4 GiB sparse raw file of nbd-copy.sh (~1 GiB
# of random data in ~1 MiB runs). A fresh server for every run. Prints one line per case:
#   RESULT case=<name> sdk_s=<median s> peer=nbdkit peer_s=<median s> ratio=<peer_s/sdk_s>
# (ratio > 1: the SDK's server is faster) or `RESULT case=<name> error=<why>`.
# The first timed run of every case is checked for both servers: the target is read back with nbdcopy and
# compared with cmp. Each case starts with one untimed copy per server.
#
# Environment: RUNS (default 5), CASES (default "plain-unix plain-tcp tls-psk"), WORK (default
# benchmarks/compare/work/nbd-server, git-ignored), SOURCE_DIR (where nbd-copy.sh keeps source.raw; default
# benchmarks/compare/work/nbd-copy, made here if missing), SERVE_ARGS (extra `serve` options), SKIP_BUILD=1 to
# reuse the last build.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

RUNS=${RUNS:-5}
CASES=${CASES:-plain-unix plain-tcp tls-psk}
WORK=${WORK:-$here/work/nbd-server}
SOURCE_DIR=${SOURCE_DIR:-$here/work/nbd-copy}
SERVE_ARGS=${SERVE_ARGS:-}
SIZE=4294967296

for tool in nbdkit nbdcopy dotnet python3 cmp awk; do
  command -v "$tool" >/dev/null 2>&1 || { echo "nbd-server.sh: $tool is required (nbdkit, libnbd-bin, the .NET SDK)" >&2; exit 1; }
done
mkdir -p "$WORK" "$SOURCE_DIR"
sockets=$(mktemp -d "${TMPDIR:-/tmp}/nbd-server-bench.XXXXXX")
SDK_PID=

# Stops the whitesky-migrate server started by start_sdk (SIGTERM: it drains and exits 0).
stop_sdk() {
  if [ -n "${SDK_PID:-}" ]; then
    kill -TERM "$SDK_PID" 2>/dev/null || true
    wait "$SDK_PID" 2>/dev/null || true
    SDK_PID=
  fi
}
trap 'stop_sdk; stop_nbdkit; rm -rf "$sockets" "$WORK/readback.raw"' EXIT

SDK=$(build_sdk "$WORK")
SOURCE="$SOURCE_DIR/source.raw"
make_copy_source "$SOURCE"
PSK="$WORK/keys.psk"
make_psk_file "$PSK"

# Starts `whitesky-migrate serve` in the background and waits (30 s at most) for the URI it prints once it
# listens. Sets SDK_PID and URI. Arguments are the listen options.
start_sdk() {
  local out="$WORK/serve.out" waited=0
  : >"$out"
  # shellcheck disable=SC2086 # SERVE_ARGS is a list of options
  "$SDK" serve --memory 4G $SERVE_ARGS "$@" >"$out" 2>>"$WORK/serve.err" &
  SDK_PID=$!
  while [ ! -s "$out" ]; do
    if ! kill -0 "$SDK_PID" 2>/dev/null; then
      echo "whitesky-migrate serve $* exited before listening: $(tail -n 1 "$WORK/serve.err")" >&2
      SDK_PID=
      return 1
    fi
    sleep 0.02
    waited=$((waited + 1))
    if [ "$waited" -gt 1500 ]; then
      echo "whitesky-migrate serve $* did not print its URI within 30 s" >&2
      return 1
    fi
  done
  URI=$(head -n 1 "$out")
}

# Starts a fresh target of a case on one server ("sdk" or "nbdkit") and sets URI.
serve() {
  local server=$1 port
  case "$2" in
    plain-unix)
      rm -f "$sockets/nbd.sock"
      if [ "$server" = sdk ]; then
        start_sdk --socket "$sockets/nbd.sock"
      else
        start_nbdkit -U "$sockets/nbd.sock" memory 4G
        URI="nbd+unix:///?socket=$sockets/nbd.sock"
      fi ;;
    plain-tcp)
      port=$(free_port)
      if [ "$server" = sdk ]; then
        start_sdk --port "$port"
      else
        start_nbdkit -i 127.0.0.1 -p "$port" memory 4G
        URI="nbd://127.0.0.1:$port/"
      fi ;;
    tls-psk)
      port=$(free_port)
      if [ "$server" = sdk ]; then
        start_sdk --port "$port" --tls-psk "$PSK"
      else
        start_nbdkit -i 127.0.0.1 -p "$port" --tls=require --tls-psk="$PSK" memory 4G
        URI="nbds://bench@127.0.0.1:$port/?tls-psk-file=$PSK"
      fi ;;
    *)
      echo "nbd-server.sh: unknown case $2" >&2
      return 1 ;;
  esac
}

stop_server() {
  if [ "$1" = sdk ]; then stop_sdk; else stop_nbdkit; fi
}

# Reads the target back and compares it with the source, byte for byte.
verify() {
  rm -f "$WORK/readback.raw"
  local status=0
  nbdcopy "$URI" "$WORK/readback.raw" && cmp "$SOURCE" "$WORK/readback.raw" || status=1
  rm -f "$WORK/readback.raw"
  return "$status"
}

# One timed copy into a fresh server; sets T to its seconds. Verifies the target when asked.
timed_copy() {
  local server=$1 case=$2 check=$3
  serve "$server" "$case" || return 1
  if ! T=$(TIME_LOG="$log" time_command nbdcopy "$SOURCE" "$URI"); then
    echo "nbdcopy into $server failed: $(tail -n 1 "$log")" >&2
    stop_server "$server"
    return 1
  fi
  if [ "$check" = 1 ] && ! verify; then
    echo "the $server target differs from the source after nbdcopy" >&2
    stop_server "$server"
    return 1
  fi
  stop_server "$server"
}

log="$WORK/last-run.log"
: >"$WORK/serve.err"
for case in $CASES; do
  sdk_times=()
  peer_times=()
  error=
  # One untimed copy into each server first: the first 4 GiB target after one was freed is often slow for either.
  for server in sdk nbdkit; do
    serve "$server" "$case" && { nbdcopy "$SOURCE" "$URI" >/dev/null 2>&1 || true; }
    stop_server "$server"
  done
  for run in $(seq 1 "$RUNS"); do
    : >"$log"
    check=$([ "$run" = 1 ] && echo 1 || echo 0)
    if ! timed_copy sdk "$case" "$check" 2>>"$log"; then
      error="sdk: $(tail -n 1 "$log")"
      break
    fi
    sdk_times+=("$T")
    if ! timed_copy nbdkit "$case" "$check" 2>>"$log"; then
      error="nbdkit: $(tail -n 1 "$log")"
      break
    fi
    peer_times+=("$T")
    echo "nbd-server.sh: $case run $run: sdk ${sdk_times[-1]} s, nbdkit $T s" >&2
  done

  report_case "$case" nbdkit "$error" "${sdk_times[*]}" "${peer_times[*]}"
done
