#!/usr/bin/env bash
# Runs every test of the Whitesky SDK. On a fresh Debian machine it first installs the real peers the
# tests talk to when any is missing (eng/install-peers.sh: nbdkit, libnbd tools, qemu-utils, nbd-server,
# fdisk, gdisk, dnsmasq, zstd, xz-utils, and s3rver from npm).
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
# dotnet test prints a "Passed: N" and a "Failed: N" line per test project; add them up.
passed=$(awk '$1 == "Passed:" { n += $2 } END { print n + 0 }' "$log")
failed=$(awk '$1 == "Failed:" { n += $2 } END { print n + 0 }' "$log")
echo "tests: ${passed:-0} passed, ${failed:-0} failed"
exit "$status"
