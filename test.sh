#!/usr/bin/env bash
# Runs every test of the Whitesky SDK. On a fresh Debian machine it first installs the real peers
# the tests talk to (nbdkit, libnbd tools, qemu-img/qemu-nbd, nbd-server) when any is missing.
# Usage: ./test.sh [extra `dotnet test` arguments, e.g. --filter FullyQualifiedName~Tls]
set -euo pipefail
cd "$(dirname "$0")"

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
command -v nbdkit     >/dev/null 2>&1 || missing+=(nbdkit)
command -v nbdinfo    >/dev/null 2>&1 || missing+=(libnbd-bin)
command -v nbdcopy    >/dev/null 2>&1 || missing+=(libnbd-bin)
command -v qemu-img   >/dev/null 2>&1 || missing+=(qemu-utils)
command -v qemu-nbd   >/dev/null 2>&1 || missing+=(qemu-utils)
command -v nbd-server >/dev/null 2>&1 || [ -x /usr/bin/nbd-server ] || missing+=(nbd-server)
if [ ${#missing[@]} -gt 0 ]; then
  echo "test.sh: installing the test peers: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nbdkit libnbd-bin qemu-utils nbd-server
fi
for tool in nbdkit nbdinfo nbdcopy qemu-img qemu-nbd; do
  command -v "$tool" >/dev/null 2>&1 || { echo "test.sh: $tool is still missing after the install step" >&2; exit 1; }
done

if ! command -v dotnet >/dev/null 2>&1; then
  echo "test.sh: the .NET 10 SDK (dotnet) is required" >&2
  exit 1
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
dotnet test Whitesky.Sdk.sln -c Release --logger "console;verbosity=normal" "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

# One closing line over every test project: "tests: N passed, N failed".
summary=$(grep -E '^\s*(Passed|Failed)!\s+-' "$log" | awk '
  { for (i = 1; i <= NF; i++) { if ($i == "Failed:") f += $(i+1); if ($i == "Passed:") p += $(i+1) } }
  END { printf "%d %d", p, f }' | tr -d ',')
passed=${summary% *}; failed=${summary#* }
echo "tests: ${passed:-0} passed, ${failed:-0} failed"
exit "$status"
