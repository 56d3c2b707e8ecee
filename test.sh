#!/usr/bin/env bash
# Runs every test of the Whitesky SDK. On a fresh Debian machine it first installs the real peers
# the tests talk to (nbdkit, libnbd tools, qemu-img/qemu-nbd, nbd-server) when any is missing.
# Usage: ./test.sh [extra `dotnet test` arguments, e.g. --filter FullyQualifiedName~Tls]
set -euo pipefail
cd "$(dirname "$0")"

./eng/install-peers.sh

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
