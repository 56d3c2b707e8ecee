# Shared helpers for the side-by-side benchmark scripts in benchmarks/compare/ (source it; bash only).

# Prints the median of the numbers given as arguments.
median() {
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) printf "%.3f\n", v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# Prints a / b with three decimals.
ratio() {
  awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f\n", a / b; else print "nan" }'
}

# Prints a free loopback TCP port.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Runs a command and prints its wall time in seconds; its stdout and stderr go to the file $TIME_LOG
# (default /dev/null). Returns the command's exit status.
time_command() {
  local start end status=0
  start=$(date +%s%N)
  "$@" >>"${TIME_LOG:-/dev/null}" 2>&1 || status=$?
  end=$(date +%s%N)
  awk -v s="$start" -v e="$end" 'BEGIN { printf "%.3f\n", (e - s) / 1e9 }'
  return "$status"
}

# Starts nbdkit in the background (in the foreground of its own process) and waits until it accepts
# connections: nbdkit writes its pid file only then. Sets NBDKIT_PID. Arguments go to nbdkit as-is
# (listen options, filters, plugin, parameters).
start_nbdkit() {
  local pidfile
  pidfile=$(mktemp -u "${TMPDIR:-/tmp}/nbdkit-bench.XXXXXX.pid")
  nbdkit --foreground --exit-with-parent --pidfile "$pidfile" "$@" &
  NBDKIT_PID=$!
  local waited=0
  while [ ! -s "$pidfile" ]; do
    if ! kill -0 "$NBDKIT_PID" 2>/dev/null; then
      echo "nbdkit $* exited before listening" >&2
      return 1
    fi
    sleep 0.02
    waited=$((waited + 1))
    if [ "$waited" -gt 1500 ]; then
      echo "nbdkit $* did not start listening within 30 s" >&2
      return 1
    fi
  done
  rm -f "$pidfile"
}

# Stops the nbdkit started by start_nbdkit.
stop_nbdkit() {
  if [ -n "${NBDKIT_PID:-}" ]; then
    kill "$NBDKIT_PID" 2>/dev/null || true
    wait "$NBDKIT_PID" 2>/dev/null || true
    NBDKIT_PID=
  fi
}

# Publishes whitesky-migrate into $1/bin unless SKIP_BUILD=1 and it is there; prints the path of the executable.
# SDK_BUILD picks the build:
#   aot (default)  the native-AOT executable of eng/publish-cli.sh, the shape whitesky-migrate ships in: no JIT, a
#                  copy starts in ~10 ms (needs clang, which eng/install-peers.sh installs);
#   r2r            the framework-dependent ReadyToRun build, the shape of the `dotnet tool` package (~0.1 s of
#                  start-up and JIT before the first byte moves);
#   composite      self-contained with the framework and the tool in one composite ReadyToRun image (a ~10-minute
#                  build on 2 cores, a 170 MB folder; between the two in start-up).
build_sdk() {
  local work=$1 root
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  if [ "${SKIP_BUILD:-0}" != 1 ] || [ ! -x "$work/bin/whitesky-migrate" ]; then
    case "${SDK_BUILD:-aot}" in
      aot)
        echo "$(basename "$0"): building whitesky-migrate (Release, native AOT)" >&2
        "$root/eng/publish-cli.sh" "$work/bin" >/dev/null ;;
      composite)
        echo "$(basename "$0"): building whitesky-migrate (Release, self-contained, composite ReadyToRun)" >&2
        dotnet publish "$root/samples/Whitesky.Migrate/Whitesky.Migrate.csproj" -c Release -r linux-x64 --self-contained true \
          -p:PublishReadyToRun=true -p:PublishReadyToRunComposite=true -o "$work/bin" -nologo -v quiet >&2 ;;
      r2r)
        echo "$(basename "$0"): building whitesky-migrate (Release, framework-dependent ReadyToRun)" >&2
        dotnet publish "$root/samples/Whitesky.Migrate/Whitesky.Migrate.csproj" -c Release -r linux-x64 --self-contained false \
          -p:PublishReadyToRun=true -o "$work/bin" -nologo -v quiet >&2 ;;
      *) echo "$(basename "$0"): SDK_BUILD must be aot, r2r or composite, not ${SDK_BUILD}" >&2; return 1 ;;
    esac
  fi
  echo "$work/bin/whitesky-migrate"
}

# Makes $1, the shared copy source: 4 GiB sparse with ~1 GiB of random data in ~1 MiB runs (unless it is
# there), and reads it once so that every run reads it from the page cache.
make_copy_source() {
  local source=$1
  if [ ! -f "$source" ] || [ "$(stat -c %s "$source")" != 4294967296 ]; then
    echo "$(basename "$0"): making $source (4 GiB sparse, ~25% random data in ~1 MiB runs)" >&2
    rm -f "$source" "$source.tmp"
    nbdkit -U - sparse-random 4G seed=1 percent=25 runlength=1048576 random-content=true \
      --run "nbdcopy \"\$uri\" '$source.tmp'"
    mv "$source.tmp" "$source"
  fi
  cat "$source" >/dev/null
}

# Makes $1, the decoding benchmarks' source (unless it is there): $2 bytes, sparse, half of it data in 1 MiB runs,
# every run half random and half text, so that compressed formats have something to compress.
make_decode_source() {
  local source=$1 size=$2
  [ -f "$source" ] && return 0
  echo "$(basename "$0"): making $source ($size bytes sparse, half of it data in 1 MiB runs, half random, half text)" >&2
  python3 - "$source" "$size" <<'PY'
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
}

# Starts `$SDK emulator` on a free port with its data in $WORK/data (fresh) and waits for its environment
# (WHITESKY_BASE_URL, WHITESKY_JWT, ...), which it exports; sets EMU_PID, LOCATION and CLOUDSPACE (API paths)
# and defines `api METHOD PATH`. stop_emulator ends it.
EMU_PID=
start_emulator() {
  rm -rf "$WORK/data"
  "$SDK" emulator --port 0 --data "$WORK/data" >"$WORK/emulator.env" 2>>"$WORK/emulator.err" &
  EMU_PID=$!
  for _ in $(seq 1 1500); do grep -q '^WHITESKY_JWT=' "$WORK/emulator.env" && break; sleep 0.02; done
  set -a
  # shellcheck disable=SC1091
  . "$WORK/emulator.env"
  set +a
  api() { curl -sSf -X "$1" -H "Authorization: Bearer $WHITESKY_JWT" "$WHITESKY_BASE_URL$2"; }
  LOCATION="/customers/$WHITESKY_CUSTOMER_ID/locations/$WHITESKY_LOCATION"
  CLOUDSPACE="/customers/$WHITESKY_CUSTOMER_ID/cloudspaces/$WHITESKY_CLOUDSPACE_ID"
}

stop_emulator() {
  if [ -n "${EMU_PID:-}" ]; then
    kill -TERM "$EMU_PID" 2>/dev/null || true
    wait "$EMU_PID" 2>/dev/null || true
    EMU_PID=
  fi
}

# Makes the PSK file $1 (one random 256-bit key for the identity "bench") unless it is there.
make_psk_file() {
  if [ ! -s "$1" ]; then
    printf 'bench:%s\n' "$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')" >"$1"
    chmod 600 "$1"
  fi
}

# Prints the closing line of a case: `RESULT case=... error=...` when $3 (an error) is set, else the
# medians of the space-separated times $4 (SDK) and $5 (peer) and their ratio peer/SDK. $2 names the peer.
report_case() {
  local case=$1 peer=$2 error=$3 sdk_s peer_s
  if [ -n "$error" ]; then
    echo "RESULT case=$case error=$error"
    return
  fi
  # shellcheck disable=SC2086 # the times are words on purpose
  sdk_s=$(median $4)
  # shellcheck disable=SC2086
  peer_s=$(median $5)
  echo "RESULT case=$case sdk_s=$sdk_s peer=$peer peer_s=$peer_s ratio=$(ratio "$peer_s" "$sdk_s")"
}
