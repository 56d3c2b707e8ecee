#!/usr/bin/env bash
# Runs every test of the Whitesky SDK. On a fresh Debian machine it first installs the real peers the
# tests talk to when any is missing (eng/install-peers.sh: nbdkit, libnbd tools, qemu-utils, nbd-server,
# fdisk, gdisk, dnsmasq, zstd, xz-utils, clang and zlib1g-dev for the native-AOT CLI, and s3rver from npm).
# The CLI tests run twice: in-process, and against the published native-AOT whitesky-migrate.
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

# whitesky-migrate ships as a native-AOT executable: publish it, then run the CLI tests again against it
# (tests/Whitesky.Migrate.Tests/Support/MigrateCli.cs starts it instead of running the command tree in-process).
echo "test.sh: publishing the native-AOT whitesky-migrate (eng/publish-cli.sh) and running the CLI tests against it"
if native=$(./eng/publish-cli.sh); then
  WHITESKY_MIGRATE_NATIVE="$native" dotnet test tests/Whitesky.Migrate.Tests/Whitesky.Migrate.Tests.csproj -c Release --no-build \
    --logger "console;verbosity=normal" "$@" 2>&1 | tee -a "$log"
  native_status=${PIPESTATUS[0]}
else
  echo "Failed: 1 (eng/publish-cli.sh could not publish the native-AOT whitesky-migrate)" | tee -a "$log"
  native_status=1
fi
[ "$status" -ne 0 ] || status=$native_status
set -e

# One closing line over every test project: "tests: N passed, N failed".
# dotnet test prints a "Passed: N" and a "Failed: N" line per test project; add them up.
passed=$(awk '$1 == "Passed:" { n += $2 } END { print n + 0 }' "$log")
failed=$(awk '$1 == "Failed:" { n += $2 } END { print n + 0 }' "$log")
echo "tests: ${passed:-0} passed, ${failed:-0} failed"
exit "$status"
