#!/usr/bin/env bash
# Side by side: `whitesky-migrate copy` (the transfer engine) against `nbdcopy` and
# `qemu-img convert -n -W -m 16 --target-is-zero`, copying the same source images into a fresh `nbdkit memory`
# for every run. Sources: one sparse raw disk (SIZE, default 1 GiB, a quarter data in ~1 MiB runs, half of it random
# and half files of this machine) converted by qemu-img to qcow2, compressed qcow2, VMDK monolithicSparse and streamOptimized,
# and VHDX (dynamic). nbdcopy reads non-raw images through `qemu-nbd` (socket activation: nbdcopy -- [ qemu-nbd -f FMT IMAGE ] URI).
# Transports: plain (Unix socket), delay-write-10ms (nbdkit delay filter), tls-psk (TCP, GnuTLS PSK).
# Every tool is told the target reads as zero. Prints one line per case:
#   RESULT case=<format>/<transport> sdk_s=.. nbdcopy_s=.. qemu_s=.. best_peer=.. ratio=<best_peer_s/sdk_s> sdk_cpu_s=..
#     nbdcopy_cpu_s=.. qemu_cpu_s=.. sdk_rss_mib=.. peer_rss_mib=..  (times are medians; cpu = user + system)
# then a Markdown table, and writes an SVG bar chart (data MiB/s per case and tool) to $SVG.
# The first SDK run of each case is checked against qemu-img's decoding (cmp of a read-back). The tools take
# turns in a rotating order; the source is read once before each case so that all read it from the page cache.
#
# Environment: SDK_BUILD (lib.sh; default aot), RUNS (default 3), FORMATS (default "raw qcow2 qcow2-compressed
# vmdk-sparse vmdk-stream vhdx"), TRANSPORTS (default "plain delay-write-10ms tls-psk"), SIZE (bytes, default 1 GiB), WORK (default
# benchmarks/compare/work/transfer), SVG (default $WORK/transfer.svg), SKIP_BUILD=1 to reuse the last build.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

RUNS=${RUNS:-3}
FORMATS=${FORMATS:-raw qcow2 qcow2-compressed vmdk-sparse vmdk-stream vhdx}
TRANSPORTS=${TRANSPORTS:-plain delay-write-10ms tls-psk}
SIZE=${SIZE:-1073741824}
WORK=${WORK:-$here/work/transfer}
SVG=${SVG:-$WORK/transfer.svg}

for tool in nbdkit nbdcopy qemu-img qemu-nbd dotnet python3 cmp awk /usr/bin/time; do
  command -v "$tool" >/dev/null 2>&1 || { echo "transfer.sh: $tool is required" >&2; exit 1; }
done
mkdir -p "$WORK"
sockets=$(mktemp -d "${TMPDIR:-/tmp}/transfer-bench.XXXXXX")
trap 'stop_nbdkit; rm -rf "$sockets" "$WORK/readback.raw"' EXIT

SDK=$(build_sdk "$WORK")
PSK="$WORK/keys.psk"
make_psk_file "$PSK"
# qemu's tls-creds-psk reads DIR/keys.psk.
mkdir -p "$WORK/qemu-psk"
cp "$PSK" "$WORK/qemu-psk/keys.psk"

# The source's data is like a guest disk's: of every two MiB of data, one is random (compressed files, media) and
# one is the content of this machine's own programs, libraries and documents (a tar stream of /usr/bin, /usr/lib
# and /usr/share), so that the compressed formats have something real to decompress (qemu-img stores a cluster that
# does not compress as it is, so purely random data would leave them nothing to do).
raw="$WORK/source-mixed.raw"
if [ ! -f "$raw" ] || [ "$(stat -c %s "$raw")" != "$SIZE" ]; then
  echo "transfer.sh: making $raw ($SIZE bytes, ~25% data in ~1 MiB runs, half random, half files from /usr)" >&2
  rm -f "$WORK"/source*
  nbdkit -U - sparse-random "$SIZE" seed=1 percent=25 runlength=1048576 random-content=true --run "nbdcopy \"\$uri\" '$raw.tmp'"
  python3 - "$raw.tmp" <<'PY'
import json, subprocess, sys
path = sys.argv[1]
def files():
    while True:
        tar = subprocess.Popen(["tar", "-cf", "-", "--sort=name", "--ignore-failed-read", "/usr/bin", "/usr/lib", "/usr/share"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        while block := tar.stdout.read(1 << 20):
            yield block
        tar.wait()
stream, pending = files(), b""
def take(n):
    global pending
    while len(pending) < n:
        pending += next(stream)
    out, pending = pending[:n], pending[n:]
    return out
extents = json.loads(subprocess.check_output(["qemu-img", "map", "--output=json", "-f", "raw", path]))
with open(path, "r+b") as f:
    for e in (e for e in extents if e["data"]):
        offset, end = e["start"], e["start"] + e["length"]
        while offset < end:
            n = min(end - offset, (((offset >> 20) + 1) << 20) - offset)
            if (offset >> 20) % 2:
                block = take(n)
                # A run of zeroes in a file stays data on the disk: the copy must still not send it.
                f.seek(offset)
                f.write(block)
            offset += n
PY
  mv "$raw.tmp" "$raw"
fi

# image FORMAT: the source file of a format (made once); sets IMAGE and QFMT.
image() {
  case "$1" in
    raw) IMAGE=$raw; QFMT=raw; return ;;
    qcow2) IMAGE=$WORK/source.qcow2; QFMT=qcow2; set -- -O qcow2 ;;
    qcow2-compressed) IMAGE=$WORK/source-compressed.qcow2; QFMT=qcow2; set -- -O qcow2 -c ;;
    vmdk-sparse) IMAGE=$WORK/source-sparse.vmdk; QFMT=vmdk; set -- -O vmdk -o subformat=monolithicSparse ;;
    vmdk-stream) IMAGE=$WORK/source-stream.vmdk; QFMT=vmdk; set -- -O vmdk -o subformat=streamOptimized ;;
    vhdx) IMAGE=$WORK/source.vhdx; QFMT=vhdx; set -- -O vhdx -o subformat=dynamic ;;
    *) echo "transfer.sh: unknown format $1" >&2; return 1 ;;
  esac
  if [ ! -f "$IMAGE" ]; then
    qemu-img convert -f raw "$@" "$raw" "$IMAGE.tmp" && mv "$IMAGE.tmp" "$IMAGE"
  fi
}

# serve TRANSPORT: a fresh nbdkit memory target; sets URI and QEMU_TARGET (qemu-img's --target-image-opts).
serve() {
  local port
  case "$1" in
    plain)
      rm -f "$sockets/nbd.sock"
      start_nbdkit -U "$sockets/nbd.sock" memory "$SIZE"
      URI="nbd+unix:///?socket=$sockets/nbd.sock"
      QEMU_TARGET="driver=raw,file.driver=nbd,file.server.type=unix,file.server.path=$sockets/nbd.sock" ;;
    delay-write-10ms)
      rm -f "$sockets/nbd.sock"
      start_nbdkit -U "$sockets/nbd.sock" --filter=delay memory "$SIZE" delay-write=10ms
      URI="nbd+unix:///?socket=$sockets/nbd.sock"
      QEMU_TARGET="driver=raw,file.driver=nbd,file.server.type=unix,file.server.path=$sockets/nbd.sock" ;;
    tls-psk)
      port=$(free_port)
      start_nbdkit -i 127.0.0.1 -p "$port" --tls=require --tls-psk="$PSK" memory "$SIZE"
      URI="nbds://bench@127.0.0.1:$port/?tls-psk-file=$PSK"
      QEMU_TARGET="driver=raw,file.driver=nbd,file.server.type=inet,file.server.host=127.0.0.1,file.server.port=$port,file.tls-creds=tls0" ;;
    *) echo "transfer.sh: unknown transport $1" >&2; return 1 ;;
  esac
}

# timed LOG CMD...: runs CMD under /usr/bin/time; prints "seconds max_rss_kib cpu_seconds" (cpu = user + system,
# children included: nbdcopy's qemu-nbd counts). On a loaded machine wall time is mostly waiting for a core, so
# the CPU time is the steadier measure of the work a tool does.
timed() {
  local log=$1 start end
  shift
  start=$(date +%s%N)
  /usr/bin/time -f 'TIME %M %U %S' -o "$log.time" "$@" >"$log" 2>&1 || { cat "$log" >&2; return 1; }
  end=$(date +%s%N)
  # Wall time from the clock in nanoseconds (time's %e has 10 ms steps, too coarse for sub-second copies).
  awk -v s="$start" -v e="$end" '/^TIME/ { printf "%.3f %s %.2f\n", (e - s) / 1e9, $2, $3 + $4 }' "$log.time"
}

run_tool() {
  case "$1" in
    sdk) timed "$WORK/run.log" "$SDK" copy --target-is-zero "$IMAGE" "$URI" ;;
    nbdcopy)
      if [ "$QFMT" = raw ]; then
        timed "$WORK/run.log" nbdcopy --target-is-zero "$IMAGE" "$URI"
      else
        timed "$WORK/run.log" nbdcopy --target-is-zero -- "[" qemu-nbd -r -f "$QFMT" "$IMAGE" "]" "$URI"
      fi ;;
    qemu)
      timed "$WORK/run.log" qemu-img convert -n -W -m 16 --target-is-zero -f "$QFMT" \
        --object "tls-creds-psk,id=tls0,endpoint=client,dir=$WORK/qemu-psk,username=bench" \
        --target-image-opts "$IMAGE" "$QEMU_TARGET" ;;
  esac
}

data_mib=$(awk -v b="$(du -B1 "$raw" | cut -f1)" 'BEGIN { printf "%.1f", b / 1048576 }')
results="$WORK/results.tsv"
: >"$results"
for format in $FORMATS; do
  image "$format"
  for transport in $TRANSPORTS; do
    case="$format/$transport"
    declare -A times=() rss=() cpu=()
    for tool in sdk nbdcopy qemu; do times[$tool]=; rss[$tool]=; cpu[$tool]=; done
    # Every tool reads the source from the page cache: read it once before the case.
    cat "$IMAGE" >/dev/null
    for run in $(seq 1 "$RUNS"); do
      # The order turns with every run, so that no tool always goes first (after a pause, or a cache eviction).
      order=(sdk nbdcopy qemu)
      shift_by=$(((run - 1) % 3))
      order=("${order[@]:shift_by}" "${order[@]:0:shift_by}")
      for tool in "${order[@]}"; do
        serve "$transport"
        if out=$(run_tool "$tool"); then
          read -r wall kib cpus <<<"$out"
          times[$tool]+=" $wall"
          rss[$tool]+=" $kib"
          cpu[$tool]+=" $cpus"
        else
          echo "transfer.sh: $case $tool failed" >&2
        fi
        if [ "$tool" = sdk ] && [ "$run" = 1 ]; then
          rm -f "$WORK/readback.raw"
          nbdcopy "$URI" "$WORK/readback.raw"
          cmp "$raw" "$WORK/readback.raw" || { echo "transfer.sh: $case: the target differs from the source" >&2; exit 1; }
          rm -f "$WORK/readback.raw"
        fi
        stop_nbdkit
      done
      echo "transfer.sh: $case run $run:${times[sdk]:+ sdk}" >&2
    done
    # shellcheck disable=SC2086
    sdk_s=$(median ${times[sdk]}); nbd_s=$(median ${times[nbdcopy]:-nan}); qemu_s=$(median ${times[qemu]:-nan})
    # shellcheck disable=SC2086
    sdk_rss=$(median ${rss[sdk]}); peer_rss=$(median ${rss[nbdcopy]:-0} ${rss[qemu]:-0})
    # shellcheck disable=SC2086
    sdk_cpu=$(median ${cpu[sdk]}); nbd_cpu=$(median ${cpu[nbdcopy]:-nan}); qemu_cpu=$(median ${cpu[qemu]:-nan})
    best=$(awk -v a="$nbd_s" -v b="$qemu_s" 'BEGIN { if (a != "nan" && (b == "nan" || a + 0 <= b + 0)) print "nbdcopy " a; else print "qemu-img " b }')
    echo "RESULT case=$case sdk_s=$sdk_s nbdcopy_s=$nbd_s qemu_s=$qemu_s best_peer=${best% *} ratio=$(ratio "${best#* }" "$sdk_s") sdk_cpu_s=$sdk_cpu nbdcopy_cpu_s=$nbd_cpu qemu_cpu_s=$qemu_cpu sdk_rss_mib=$(awk -v k="$sdk_rss" 'BEGIN { printf "%.0f", k / 1024 }') peer_rss_mib=$(awk -v k="$peer_rss" 'BEGIN { printf "%.0f", k / 1024 }')"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$case" "$sdk_s" "$nbd_s" "$qemu_s" "$sdk_rss" "$data_mib" "$sdk_cpu" "$nbd_cpu" "$qemu_cpu" >>"$results"
    unset times rss cpu
  done
done

echo
echo "| case | SDK s | nbdcopy s | qemu-img s | best peer / SDK | SDK CPU s | nbdcopy CPU s | qemu-img CPU s | SDK peak RSS MiB |"
echo "|---|---|---|---|---|---|---|---|---|"
awk -F'\t' '{ best = ($3 != "nan" && ($4 == "nan" || $3 + 0 <= $4 + 0)) ? $3 : $4; printf "| %s | %.3f | %s | %s | %.2f× | %s | %s | %s | %.0f |\n", $1, $2, $3, $4, best / $2, $7, $8, $9, $5 / 1024 }' "$results"

# The chart: data MiB/s per case, one bar per tool.
awk -F'\t' -v out="$SVG" '
  { n++; name[n] = $1; for (t = 0; t < 3; t++) { s = $(2 + t); rate[n, t] = (s == "nan" || s + 0 <= 0) ? 0 : $6 / s; if (rate[n, t] > max) max = rate[n, t] } }
  END {
    bar = 9; gap = 10; left = 190; width = 520; top = 30; h = top + n * (3 * bar + gap) + 40
    color[0] = "#2b7bb9"; color[1] = "#e3872d"; color[2] = "#7a7a7a"; label[0] = "whitesky-migrate copy"; label[1] = "nbdcopy"; label[2] = "qemu-img convert -W -m 16"
    printf "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\" font-size=\"11\">\n", left + width + 80, h > out
    printf "<text x=\"%d\" y=\"16\" font-weight=\"bold\">Data MiB/s into nbdkit memory (higher is better)</text>\n", left > out
    for (i = 1; i <= n; i++) {
      y = top + (i - 1) * (3 * bar + gap)
      printf "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>\n", left - 6, y + 1.5 * bar + 4, name[i] > out
      for (t = 0; t < 3; t++) {
        w = max > 0 ? rate[i, t] / max * width : 0
        printf "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"/>\n", left, y + t * bar, w, bar - 1, color[t] > out
        printf "<text x=\"%.1f\" y=\"%d\" font-size=\"9\">%.0f</text>\n", left + w + 3, y + t * bar + bar - 2, rate[i, t] > out
      }
    }
    for (t = 0; t < 3; t++) {
      printf "<rect x=\"%d\" y=\"%d\" width=\"10\" height=\"10\" fill=\"%s\"/><text x=\"%d\" y=\"%d\">%s</text>\n", left + t * 180, h - 20, color[t], left + t * 180 + 14, h - 11, label[t] > out
    }
    print "</svg>" > out
  }' "$results"
echo "transfer.sh: chart written to $SVG" >&2
